//! Command-line conventions shared by `peipkg-build`, `peipkg-repo` and
//! `peipkg-manager`: Go-style flags, subcommand dispatch, help and exit
//! codes.
//!
//! The reference tools are written in Go and parse their flags with Go's
//! `flag` package, so operators and scripts already write `-flag value`,
//! `--flag=value` and friends. Our binaries must accept every one of those
//! forms to be drop-in replacements, which no mainstream Rust argument parser
//! does out of the box (they treat `-flag` as a cluster of short options).
//! This crate is the one small parser all three programs share, and the one
//! [`Program`] layer that dispatches their subcommands, answers `help` and
//! turns a subcommand's outcome into output and an exit status, so the
//! three cannot drift apart in how they read a command line or report on it.
//!
//! Where Go's behaviour is a trap we deliberately differ, always in the
//! direction of refusing rather than guessing: unexpected positional
//! arguments are errors instead of being silently dropped (and flags after
//! them are still parsed), all missing required flags are reported at once,
//! `-h` prints the usage to stdout and succeeds, and every parse error is a
//! usage error (exit status 2).

pub mod duration;
mod error;
mod flags;
pub mod keygen;
mod program;
mod quote;

pub use duration::{format_duration, parse_duration, DurationError};
pub use error::{render_chain, CliError};
pub use flags::{FlagKind, FlagSet, FlagSpec, Matches, ParseError};
pub use program::Program;
pub use quote::go_quote;

/// Exit status for success.
pub const EXIT_OK: i32 = 0;
/// Exit status for an operation that was understood but failed.
pub const EXIT_FAILURE: i32 = 1;
/// Exit status for a command line that could not be understood.
pub const EXIT_USAGE: i32 = 2;
