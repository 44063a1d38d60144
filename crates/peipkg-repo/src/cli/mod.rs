//! The command line: subcommand dispatch, flags and output.
//!
//! The reference's subcommands and flags work unchanged, in every Go flag
//! spelling (`-flag`, `--flag`, `=value` or a separate value). Exit
//! statuses: 0 success, 1 failure (including a failed `verify`), 2 usage
//! error. Errors go to stderr as `peipkg-repo: <error>`; stdout carries
//! only what the command reports.

mod hidden_cmd;
mod init_cmd;
mod keygen_cmd;
mod prune_cmd;
mod publish_cmd;
mod rotate_cmd;
mod verify_cmd;

use std::path::PathBuf;
use std::time::Duration;

use std::ffi::OsString;

pub use peipkg_cli::go_quote;
use peipkg_cli::{CliError, Matches, Program};
use peipkg_format::keys::SigningKey;

use crate::timestamp::Timestamp;

const PROGRAM: &str = "peipkg-repo";

/// The program: its subcommands in usage order, then the hidden ones.
pub fn program() -> Program {
    let mut p = Program::new(PROGRAM);
    p.command(
        "init",
        "create an empty repository state",
        init_cmd::flags,
        init_cmd::run,
    )
    .command(
        "publish",
        "add packages to an existing repository state",
        publish_cmd::flags,
        publish_cmd::run,
    )
    .command(
        "verify",
        "audit a repository state's integrity",
        verify_cmd::flags,
        verify_cmd::run,
    )
    .command(
        "rotate-key",
        "add a new signing key and retire the old one",
        rotate_cmd::flags,
        rotate_cmd::run,
    )
    .command(
        "prune",
        "remove old pre-release versions",
        prune_cmd::flags,
        prune_cmd::run,
    )
    .command(
        "keygen",
        "create an Ed25519 signing key (PEM PKCS#8, mode 0600)",
        keygen_cmd::flags,
        keygen_cmd::run,
    )
    // For peipkg-manager, not listed in the usage.
    .hidden(
        "capabilities",
        hidden_cmd::capabilities_flags,
        hidden_cmd::capabilities,
    )
    .hidden("recover", hidden_cmd::recover_flags, hidden_cmd::recover);
    p
}

type CmdResult = Result<i32, CliError>;

/// Runs the program on the arguments as the OS gave them (program name
/// first); returns the exit status.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    program().run(args)
}

/// A flag the command cannot do without; an empty value counts as absent,
/// as in the reference.
fn required<'a>(m: &'a Matches, name: &str) -> Result<&'a str, CliError> {
    m.non_empty(name)
        .map_err(|e| CliError::Usage(e.to_string()))
}

fn optional(m: &Matches, name: &str) -> Option<String> {
    m.string(name).filter(|v| !v.is_empty()).map(str::to_string)
}

fn load_key(m: &Matches, flag: &str) -> Result<SigningKey, CliError> {
    let path = PathBuf::from(required(m, flag)?);
    SigningKey::load(&path).map_err(|e| CliError::Failure(e.to_string()))
}

fn timestamp(m: &Matches, flag: &str) -> Result<Timestamp, CliError> {
    Timestamp::parse(required(m, flag)?).map_err(|e| CliError::Failure(e.to_string()))
}

/// `--timestamp` when given, else the current time.
fn timestamp_or_now(m: &Matches, flag: &str) -> Result<Timestamp, CliError> {
    match optional(m, flag) {
        Some(_) => timestamp(m, flag),
        None => Ok(Timestamp::now()),
    }
}

fn wait(m: &Matches) -> Duration {
    m.duration("wait").unwrap_or(Duration::ZERO)
}

fn print_warnings(warnings: &[String]) {
    for w in warnings {
        eprintln!("{PROGRAM}: warning: {w}");
    }
}
