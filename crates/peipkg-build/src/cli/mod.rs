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

use peipkg_cli::{render_chain, CliError, FlagSet, Matches, Program, EXIT_OK};
use peipkg_format::archive::DEFAULT_ZSTD_LEVEL;

use crate::build::Reporter;

const PROGRAM: &str = "peipkg-build";

/// The program: its subcommands in usage order.
pub fn program() -> Program<anyhow::Error> {
    let mut p = Program::with_errors(PROGRAM, failure);
    p.command(
        "build",
        "run a recipe end-to-end and emit one .peipkg per [[package]]",
        build_cmd::flags,
        build_cmd::run,
    )
    .command(
        "pack",
        "emit one .peipkg from a manifest.json + staged tree",
        pack_cmd::flags,
        pack_cmd::run,
    )
    .command(
        "stage",
        "run a recipe's build script only, into a staged tree (no keys)",
        split_cmd::stage_flags,
        split_cmd::run_stage,
    )
    .command(
        "seal",
        "sign, check and pack a staged tree as 'build' would",
        split_cmd::seal_flags,
        split_cmd::run_seal,
    )
    .command(
        "keygen",
        "create an Ed25519 signing key (PEM PKCS#8, mode 0600)",
        keygen_cmd::flags,
        keygen_cmd::run,
    )
    .command(
        "inspect",
        "show a package's manifest, payload, sizes and signature",
        inspect_cmd::flags,
        inspect_cmd::run,
    )
    .command(
        "verify",
        "run the full consumer-side verification of a package",
        verify_cmd::flags,
        verify_cmd::run,
    )
    .command(
        "binary-sign",
        "embed a .peios.sig (PIP) signature into an ELF binary in place",
        binary_sign_flags,
        binary_sign,
    )
    .command(
        "sandbox-check",
        "check that build scripts can run in a bubblewrap sandbox here",
        sandbox_check_flags,
        sandbox_check,
    );
    p
}

/// A command line that was understood but is not acceptable (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// Runs the program on the arguments as the OS gave them (program name
/// first); returns the exit status.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    program().run(args)
}

/// How a command's error is reported: a [`UsageError`] as a usage error,
/// anything else as a failure with its causes.
fn failure(err: anyhow::Error) -> CliError {
    match err.downcast_ref::<UsageError>() {
        Some(usage) => CliError::Usage(usage.0.clone()),
        None => CliError::Failure(render_chain(err.as_ref())),
    }
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

/// Flags the command cannot do without: given but empty is a usage error,
/// worded as in peipkg-repo and the reference.
fn require_non_empty(m: &Matches, names: &[&str]) -> Result<(), UsageError> {
    for name in names {
        m.non_empty(name).map_err(|e| UsageError(e.to_string()))?;
    }
    Ok(())
}

fn binary_sign_flags() -> FlagSet {
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
    flags
}

fn binary_sign(m: &Matches) -> anyhow::Result<i32> {
    let input = std::path::PathBuf::from(m.string("in").unwrap_or_default());
    let key_path = std::path::PathBuf::from(m.string("key").unwrap_or_default());
    require_non_empty(m, &["in", "key"])?;
    let key = peipkg_format::keys::SigningKey::load(&key_path)?;
    crate::binary_sign::sign_file(&input, &key)?;
    Ok(EXIT_OK)
}

/// `sandbox-check`: exit 0 and a description when bubblewrap can build
/// the sandbox here, exit 1 and the reason when not (the manager runs this
/// before it starts with `[build].sandbox = "required"`).
fn sandbox_check_flags() -> FlagSet {
    let mut flags = FlagSet::new("peipkg-build sandbox-check", "");
    flags.about(
        "Check that `build --sandbox bwrap` works here: run `true` in a sandbox made the same way.",
    );
    flags
}

fn sandbox_check(_: &Matches) -> anyhow::Result<i32> {
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
