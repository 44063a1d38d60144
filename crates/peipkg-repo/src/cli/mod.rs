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

use peipkg_cli::{FlagSet, Matches, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use peipkg_format::keys::SigningKey;

use crate::error::RepoError;
use crate::timestamp::Timestamp;

const PROGRAM: &str = "peipkg-repo";

const USAGE: &str = "usage: peipkg-repo <subcommand> [flags]

subcommands:
  init        create an empty repository state
  publish     add packages to an existing repository state
  verify      audit a repository state's integrity
  rotate-key  add a new signing key and retire the old one
  prune       remove old pre-release versions
  keygen      create an Ed25519 signing key (PEM PKCS#8, mode 0600)

Run 'peipkg-repo <subcommand> -h' (or 'peipkg-repo help <subcommand>') for the flags of a subcommand.
";

/// The subcommands `help SUB` answers for; after `help`, any other word
/// is ignored, as in the reference.
const SUBCOMMANDS: &[&str] = &["init", "publish", "verify", "rotate-key", "prune", "keygen"];

/// How a subcommand ended.
enum Failure {
    /// The command line is wrong: message, then the subcommand's usage.
    Usage(String),
    /// The operation failed.
    Error(String),
}

impl From<RepoError> for Failure {
    fn from(e: RepoError) -> Self {
        Failure::Error(e.to_string())
    }
}

type CmdResult = Result<i32, Failure>;

/// Run the program with `args` (without the program name); returns the
/// exit status.
pub fn run(args: &[String]) -> i32 {
    let Some((sub, rest)) = args.split_first() else {
        eprint!("{USAGE}");
        return EXIT_USAGE;
    };
    let (flags, cmd): (FlagSet, fn(&Matches) -> CmdResult) = match sub.as_str() {
        "help" | "-h" | "-help" | "--help" => {
            // `help SUB` is `SUB -h` (the same convention in all three
            // programs).
            if let Some(sub) = rest
                .first()
                .filter(|s| sub == "help" && SUBCOMMANDS.contains(&s.as_str()))
            {
                return run(&[sub.clone(), "-h".into()]);
            }
            print!("{USAGE}");
            return EXIT_OK;
        }
        "init" => (init_cmd::flags(), init_cmd::run),
        "publish" => (publish_cmd::flags(), publish_cmd::run),
        "verify" => (verify_cmd::flags(), verify_cmd::run),
        "rotate-key" => (rotate_cmd::flags(), rotate_cmd::run),
        "prune" => (prune_cmd::flags(), prune_cmd::run),
        "keygen" => (keygen_cmd::flags(), keygen_cmd::run),
        // Hidden: for peipkg-manager, not listed in the usage.
        "capabilities" => (hidden_cmd::capabilities_flags(), hidden_cmd::capabilities),
        "recover" => (hidden_cmd::recover_flags(), hidden_cmd::recover),
        other => {
            eprint!(
                "{PROGRAM}: unknown subcommand {}\n\n{USAGE}",
                go_quote(other)
            );
            return EXIT_USAGE;
        }
    };
    let m = match flags.parse(rest) {
        Ok(m) => m,
        Err(e) => return flags.report(&e),
    };
    match cmd(&m) {
        Ok(code) => code,
        Err(Failure::Usage(msg)) => {
            eprint!("{PROGRAM}: {msg}\n\n{}", flags.usage());
            EXIT_USAGE
        }
        Err(Failure::Error(msg)) => {
            eprintln!("{PROGRAM}: {msg}");
            EXIT_FAILURE
        }
    }
}

/// A flag the command cannot do without; an empty value counts as absent,
/// as in the reference.
fn required<'a>(m: &'a Matches, name: &str) -> Result<&'a str, Failure> {
    match m.string(name) {
        Some(v) if !v.is_empty() => Ok(v),
        _ => Err(Failure::Usage(format!("--{name} is required"))),
    }
}

fn optional(m: &Matches, name: &str) -> Option<String> {
    m.string(name).filter(|v| !v.is_empty()).map(str::to_string)
}

fn load_key(m: &Matches, flag: &str) -> Result<SigningKey, Failure> {
    let path = PathBuf::from(required(m, flag)?);
    SigningKey::load(&path).map_err(|e| Failure::Error(e.to_string()))
}

fn timestamp(m: &Matches, flag: &str) -> Result<Timestamp, Failure> {
    Timestamp::parse(required(m, flag)?).map_err(|e| Failure::Error(e.to_string()))
}

/// `--timestamp` when given, else the current time.
fn timestamp_or_now(m: &Matches, flag: &str) -> Result<Timestamp, Failure> {
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

/// Go's `%q`: a double-quoted string with Go escapes, printable Unicode
/// kept as is.
pub fn go_quote(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            c if (c as u32) < 0x20 || c == '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if c.is_control()
                || (c.is_whitespace() && c != ' ')
                || matches!(c, '\u{200b}'..='\u{200f}' | '\u{2060}'..='\u{2064}' | '\u{feff}') =>
            {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_go() {
        assert_eq!(go_quote("test-repo"), "\"test-repo\"");
        assert_eq!(go_quote("a\"b\\c\td\n"), "\"a\\\"b\\\\c\\td\\n\"");
        assert_eq!(go_quote("x\u{2028}y\x7fé\x1b"), "\"x\\u2028y\\x7fé\\x1b\"");
    }
}
