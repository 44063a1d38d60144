//! The benchmarks' command lines, read by the same Go-style flag parser as
//! the three programs (`peipkg-cli`): `-flag v`, `--flag=v` and `-h` work
//! the same in a benchmark as in the tools it measures, and a bad command
//! line is refused the same way (message and usage on stderr, exit 2).
//! Refusals end the process here, so a benchmark's `main` reads as a list
//! of flags.

use std::path::PathBuf;
use std::str::FromStr;

use peipkg_cli::{FlagKind, FlagSet, Matches, ParseError};

/// A flag holding one number, read with [`value`] or [`optional`].
pub fn number_flag(f: &mut FlagSet, name: &str, help: &str, default: &str) {
    f.flag(name, FlagKind::String, help)
        .value_name("N")
        .default(default);
}

/// A flag holding a comma-separated list, read with [`list`].
pub fn list_flag(f: &mut FlagSet, name: &str, help: &str, default: &str) {
    f.flag(name, FlagKind::String, help)
        .value_name("LIST")
        .default(default);
}

/// `--workdir DIR`: where scratch data goes; `what` says which.
pub fn workdir_flag(f: &mut FlagSet, what: &str) {
    f.flag(
        "workdir",
        FlagKind::String,
        &format!("{what} (default: the temporary directory)"),
    )
    .value_name("DIR");
}

/// Parses this process's arguments (after the program name) with `flags`.
pub fn parse_args(flags: &FlagSet) -> Matches {
    let args: Vec<String> = std::env::args().skip(1).collect();
    parse(flags, &args)
}

/// Parses `args` with `flags`; help and a refused command line are
/// answered and end the process.
pub fn parse(flags: &FlagSet, args: &[String]) -> Matches {
    match flags.parse(args) {
        Ok(m) => m,
        Err(e) => refuse(flags, e),
    }
}

fn refuse(flags: &FlagSet, e: ParseError) -> ! {
    std::process::exit(flags.report(&e))
}

fn parse_item<T: FromStr>(flags: &FlagSet, name: &str, raw: &str) -> T
where
    T::Err: std::fmt::Display,
{
    raw.parse().unwrap_or_else(|e: T::Err| {
        refuse(
            flags,
            ParseError::InvalidValue {
                flag: name.to_string(),
                value: raw.to_string(),
                reason: e.to_string(),
            },
        )
    })
}

/// A string flag read as a number (or anything `FromStr`); it must have a
/// default.
pub fn value<T: FromStr>(flags: &FlagSet, m: &Matches, name: &str) -> T
where
    T::Err: std::fmt::Display,
{
    parse_item(flags, name, m.string(name).unwrap_or_default())
}

/// An optional flag read as a number (or anything `FromStr`).
pub fn optional<T: FromStr>(flags: &FlagSet, m: &Matches, name: &str) -> Option<T>
where
    T::Err: std::fmt::Display,
{
    m.string(name).map(|raw| parse_item(flags, name, raw))
}

/// A comma-separated list flag, each item parsed; empty items are skipped.
pub fn list<T: FromStr>(flags: &FlagSet, m: &Matches, name: &str) -> Vec<T>
where
    T::Err: std::fmt::Display,
{
    m.string(name)
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse_item(flags, name, s))
        .collect()
}

/// An optional path flag.
pub fn path(m: &Matches, name: &str) -> Option<PathBuf> {
    m.string(name).map(PathBuf::from)
}
