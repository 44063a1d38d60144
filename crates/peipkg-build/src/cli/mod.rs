//! The command line: subcommand dispatch, flag definitions and output.
//!
//! Exit statuses: 0 success, 1 failure, 2 usage error (unknown subcommand,
//! unknown flag, missing value or required flag, stray argument). Errors are
//! printed to stderr as `peipkg-build: <error>`; stdout carries only what
//! the command produces (package paths, inspection output).

mod build_args;
mod build_cmd;
mod inspect_cmd;
mod keygen_cmd;
mod pack_cmd;
mod split_cmd;
mod verify_cmd;

use std::ffi::OsString;

use peipkg_cli::{FlagSet, EXIT_FAILURE, EXIT_OK, EXIT_USAGE};
use peipkg_format::archive::DEFAULT_ZSTD_LEVEL;

use crate::build::Reporter;

const PROGRAM: &str = "peipkg-build";

const USAGE: &str = "usage: peipkg-build <subcommand> [flags]

subcommands:
  build         run a recipe end-to-end and emit one .peipkg per [[package]]
  pack          emit one .peipkg from a manifest.json + staged tree
  stage         run a recipe's build script only, into a staged tree (no keys)
  seal          sign, check and pack a staged tree as 'build' would
  keygen        create an Ed25519 signing key (PEM PKCS#8, mode 0600)
  inspect       show a package's manifest, payload, sizes and signature
  verify        run the full consumer-side verification of a package
  binary-sign   embed a .peios.sig (PIP) signature into an ELF binary in place
  sandbox-check check that build scripts can run in a bubblewrap sandbox here

Run 'peipkg-build <subcommand> -h' (or 'peipkg-build help <subcommand>') for the flags of a subcommand.
";

/// The subcommands `help SUB` answers for; after `help`, any other word
/// is ignored (the usage is printed).
const SUBCOMMANDS: &[&str] = &[
    "build",
    "pack",
    "stage",
    "seal",
    "keygen",
    "inspect",
    "verify",
    "binary-sign",
    "sandbox-check",
];

/// A command line that was understood but is not acceptable (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the program; returns the exit status.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let mut args = args.into_iter();
    let _program = args.next();
    let mut strings = Vec::new();
    for arg in args {
        match arg.into_string() {
            Ok(s) => strings.push(s),
            Err(raw) => {
                eprintln!("{PROGRAM}: argument {raw:?} is not valid UTF-8");
                return EXIT_USAGE;
            }
        }
    }
    let Some((subcommand, rest)) = strings.split_first() else {
        eprint!("{USAGE}");
        return EXIT_USAGE;
    };
    let result = match subcommand.as_str() {
        "help" | "-h" | "-help" | "--help" => {
            // `help SUB` is `SUB -h` (the same convention in all three
            // programs).
            if let Some(sub) = rest
                .first()
                .filter(|s| subcommand == "help" && SUBCOMMANDS.contains(&s.as_str()))
            {
                return run([
                    OsString::from(PROGRAM),
                    OsString::from(sub),
                    OsString::from("-h"),
                ]);
            }
            print!("{USAGE}");
            return EXIT_OK;
        }
        "build" => build_cmd::run(rest),
        "pack" => pack_cmd::run(rest),
        "stage" => split_cmd::run_stage(rest),
        "seal" => split_cmd::run_seal(rest),
        "keygen" => keygen_cmd::run(rest),
        "inspect" => inspect_cmd::run(rest),
        "verify" => verify_cmd::run(rest),
        "binary-sign" => binary_sign(rest),
        "sandbox-check" => sandbox_check(rest),
        other => {
            eprint!("{PROGRAM}: unknown subcommand {other:?}\n\n{USAGE}");
            return EXIT_USAGE;
        }
    };
    match result {
        Ok(code) => code,
        Err(err) => {
            if let Some(Answered(code)) = err.downcast_ref::<Answered>() {
                return *code;
            }
            if let Some(usage) = err.downcast_ref::<UsageError>() {
                eprintln!("{PROGRAM}: {usage}");
                return EXIT_USAGE;
            }
            eprintln!("{PROGRAM}: {}", render_chain(&err));
            EXIT_FAILURE
        }
    }
}

/// The error and its causes, joined with ": ", skipping causes whose text
/// the message already includes (our error types quote their source).
fn render_chain(err: &anyhow::Error) -> String {
    let mut message = err.to_string();
    for cause in err.chain().skip(1) {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
    }
    message
}

/// `--zstd-level`, shared by `build` and `pack`.
fn zstd_level_flag(f: &mut FlagSet) {
    f.flag(
        "zstd-level",
        peipkg_cli::FlagKind::Int,
        "zstd compression level, 1-22 (17-22 trade memory for size: 100-700 MiB)",
    )
    .default(&DEFAULT_ZSTD_LEVEL.to_string());
}

/// The level asked for; out-of-range values are left for the request's
/// own check to refuse with its message.
fn zstd_level(m: &peipkg_cli::Matches) -> i32 {
    let level = m.int("zstd-level").unwrap_or(i64::from(DEFAULT_ZSTD_LEVEL));
    i32::try_from(level).unwrap_or(i32::MAX)
}

/// `--sign-key`, where an empty value means unsigned (as the reference).
fn sign_key(m: &peipkg_cli::Matches) -> Option<std::path::PathBuf> {
    m.string("sign-key")
        .filter(|s| !s.is_empty())
        .map(std::path::PathBuf::from)
}

/// Path flags that were given but empty are a usage error.
fn require_non_empty(paths: &[(&str, &std::path::PathBuf)]) -> Result<(), UsageError> {
    match paths.iter().find(|(_, p)| p.as_os_str().is_empty()) {
        Some((name, _)) => Err(UsageError(format!("-{name} must not be empty"))),
        None => Ok(()),
    }
}

/// A command line the flag parser has already answered (printed `-h`'s
/// usage, or reported a usage error): the program exits with this status
/// and prints nothing more.
#[derive(Debug, thiserror::Error)]
#[error("exit status {0}")]
struct Answered(i32);

/// Parses `args` with `flags`; on a parse error (or `-h`) reports it the
/// conventional way and fails with [`Answered`], so a command can just `?`.
fn parse(flags: &FlagSet, args: &[String]) -> anyhow::Result<peipkg_cli::Matches> {
    flags
        .parse(args)
        .map_err(|e| Answered(flags.report(&e)).into())
}

fn binary_sign(args: &[String]) -> anyhow::Result<i32> {
    let mut flags = FlagSet::new("peipkg-build binary-sign", "--in PATH --key PATH");
    flags.about("Embed a .peios.sig (PIP) signature into an ELF binary in place.");
    flags
        .flag(
            "in",
            peipkg_cli::FlagKind::String,
            "the ELF binary to sign in place",
        )
        .required()
        .value_name("PATH");
    flags
        .flag(
            "key",
            peipkg_cli::FlagKind::String,
            "Ed25519 private key (PEM or 32-byte raw seed)",
        )
        .required()
        .value_name("PATH");
    let m = parse(&flags, args)?;
    let input = std::path::PathBuf::from(m.string("in").unwrap_or_default());
    let key_path = std::path::PathBuf::from(m.string("key").unwrap_or_default());
    require_non_empty(&[("in", &input), ("key", &key_path)])?;
    let key = peipkg_format::keys::SigningKey::load(&key_path)?;
    crate::binary_sign::sign_file(&input, &key)?;
    Ok(EXIT_OK)
}

/// `sandbox-check`: exit 0 and a description when bubblewrap can build
/// the sandbox here, exit 1 and the reason when not (the manager runs this
/// before it starts with `[build].sandbox = "required"`).
fn sandbox_check(args: &[String]) -> anyhow::Result<i32> {
    let mut flags = FlagSet::new("peipkg-build sandbox-check", "");
    flags.about(
        "Check that `build --sandbox bwrap` works here: run `true` in a sandbox made the same way.",
    );
    parse(&flags, args)?;
    let bwrap = crate::sandbox::probe().map_err(|e| anyhow::anyhow!("sandbox unusable: {e}"))?;
    println!("sandbox: bubblewrap {} works here", bwrap.display());
    println!("{}", crate::limits::describe_process_limit());
    Ok(EXIT_OK)
}

/// Prints warnings and notes to stderr.
pub struct StderrReporter;

impl Reporter for StderrReporter {
    fn warning(&mut self, message: &str) {
        eprintln!("{PROGRAM}: warning: {message}");
    }
    fn note(&mut self, message: &str) {
        eprintln!("{PROGRAM}: {message}");
    }
}
