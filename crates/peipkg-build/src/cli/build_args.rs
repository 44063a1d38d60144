//! The flags `build`, `stage` and `seal` share, and the [`BuildRequest`]
//! read from them: the three commands are one build (whole, or split
//! between a build node and the signing host), so a flag they share is
//! defined and read in one place and means the same in each.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, Matches};

use super::{sign_key, zstd_level, UsageError};
use crate::build::BuildRequest;
use crate::limits::{parse_size, Limits};
use crate::sandbox::SandboxMode;

/// The required flags naming what is built (`--source` only where the
/// script runs), in the order a missing-flags error lists them.
pub(super) fn target_flags(f: &mut FlagSet, source: bool) {
    let mut required = vec![
        ("recipe", "path to peipkg.toml", "PATH"),
        ("version", "package version, e.g. 1.3.2-1", "VERSION"),
        (
            "source-ref",
            "machine-resolvable reference to build inputs, e.g. git+https://host/repo#refs/tags/v1.3.2",
            "REF",
        ),
        ("farm-id", "build farm identifier", "ID"),
        (
            "timestamp",
            "RFC 3339 UTC build timestamp ending with 'Z'; every tar mtime",
            "TS",
        ),
    ];
    if source {
        required.insert(1, ("source", "path to the source checkout", "DIR"));
    }
    for (name, help, value) in required {
        f.flag(name, FlagKind::String, help)
            .required()
            .value_name(value);
    }
}

/// `--out`, where the packages go (`build` and `seal`).
pub(super) fn out_flag(f: &mut FlagSet) {
    f.flag(
        "out",
        FlagKind::String,
        "output directory for .peipkg files (created if missing)",
    )
    .required()
    .value_name("DIR");
}

/// `--sign-key` and `--binary-sign-key` (`build` and `seal`: the side that
/// holds the keys).
pub(super) fn signing_flags(f: &mut FlagSet) {
    f.flag(
        "sign-key",
        FlagKind::String,
        "path to an Ed25519 private key (PEM or 32-byte raw seed); empty = unsigned packages",
    )
    .value_name("PATH");
    f.flag(
        "binary-sign-key",
        FlagKind::Strings,
        "NAME=PATH binary-signing key for [[sign]] stanzas",
    )
    .value_name("NAME=PATH");
}

/// The flags of the side that runs the build script (`build` and
/// `stage`): its environment, time limit, sandbox and `--limit-*`.
/// `keep_failed` is `--keep-failed`'s help, which names what each keeps.
pub(super) fn script_flags(f: &mut FlagSet, keep_failed: &str) {
    f.flag(
        "build-env",
        FlagKind::Strings,
        "NAME=VALUE injected into the build script env (e.g. PKM_KACS_TCB_PUBKEY_HEX=...)",
    )
    .value_name("NAME=VALUE");
    f.flag("keep-failed", FlagKind::Bool, keep_failed);
    f.flag(
        "timeout",
        FlagKind::Duration,
        "kill the build script's whole process group after this long (e.g. 2h); default no limit",
    );
    f.flag(
        "sandbox",
        FlagKind::String,
        "auto|bwrap|none: run the build script in a bubblewrap sandbox (auto: when bubblewrap works here, else warn and run unsandboxed)",
    )
    .value_name("MODE");
    f.flag(
        "sandbox-network",
        FlagKind::Bool,
        "let the sandboxed build script use the host's network (default: no network)",
    );
    f.flag(
        "sandbox-hide",
        FlagKind::Strings,
        "a file or directory the sandboxed build must not see; --sign-key and --binary-sign-key files are always hidden",
    )
    .value_name("PATH");
    f.flag(
        "limit-processes",
        FlagKind::String,
        "most processes the build may run at once (default 4096; 0 = no limit)",
    )
    .value_name("N");
    f.flag(
        "limit-file-size",
        FlagKind::String,
        "largest file a build process may write, e.g. 16G (default 16G; 0 = no limit)",
    )
    .value_name("SIZE");
    f.flag(
        "limit-address-space",
        FlagKind::String,
        "most virtual memory per build process, e.g. 32G (default 32G; 0 = no limit)",
    )
    .value_name("SIZE");
}

/// The request a `build`, `stage` or `seal` command line makes. A flag the
/// command does not define reads as absent, so each side gets the defaults
/// for what it does not do. `runs_script` says whether the command has
/// [`script_flags`]: only then are the sandbox and `--limit-*` read (and
/// with them `PEIPKG_BUILD_SANDBOX`).
pub(super) fn build_request(m: &Matches, runs_script: bool) -> anyhow::Result<BuildRequest> {
    let text = |name: &str| m.string(name).unwrap_or_default().to_string();
    let mut req = BuildRequest {
        recipe: PathBuf::from(text("recipe")),
        source: PathBuf::from(text("source")),
        version: text("version"),
        source_ref: text("source-ref"),
        farm_id: text("farm-id"),
        timestamp: text("timestamp"),
        out: PathBuf::from(text("out")),
        sign_key: sign_key(m),
        build_env: m.strings("build-env").to_vec(),
        binary_sign_keys: m.strings("binary-sign-key").to_vec(),
        keep_failed: m.flag("keep-failed"),
        timeout: m.duration("timeout").filter(|d| !d.is_zero()),
        // Out-of-range values are reported by the build with the range.
        zstd_level: zstd_level(m),
        ..BuildRequest::default()
    };
    if runs_script {
        read_sandbox(m, &mut req)?;
    }
    Ok(req)
}

/// The three `--limit-*` flags, defaults where not given.
fn limits(m: &Matches) -> anyhow::Result<Limits> {
    let mut limits = Limits::default();
    if let Some(v) = m.string("limit-processes").filter(|v| !v.is_empty()) {
        limits.processes = v.parse().map_err(|_| {
            UsageError(format!(
                "--limit-processes {v:?}: expected a whole number (0 = no limit)"
            ))
        })?;
    }
    if let Some(v) = m.string("limit-file-size").filter(|v| !v.is_empty()) {
        limits.file_size =
            parse_size("limit-file-size", v).map_err(|e| UsageError(e.to_string()))?;
    }
    if let Some(v) = m.string("limit-address-space").filter(|v| !v.is_empty()) {
        limits.address_space =
            parse_size("limit-address-space", v).map_err(|e| UsageError(e.to_string()))?;
    }
    Ok(limits)
}

/// Sets the sandbox mode, network, hidden paths and limits a command line
/// asks for.
fn read_sandbox(m: &Matches, req: &mut BuildRequest) -> anyhow::Result<()> {
    // PEIPKG_BUILD_SANDBOX gives the default, so a caller that must keep
    // the reference's command line (the manager) can still choose.
    req.sandbox = match m.string("sandbox") {
        Some(mode) => SandboxMode::parse(mode).map_err(UsageError)?,
        None => match std::env::var("PEIPKG_BUILD_SANDBOX") {
            Ok(mode) => SandboxMode::parse(&mode)
                .map_err(|e| UsageError(format!("PEIPKG_BUILD_SANDBOX: {e}")))?,
            Err(_) => SandboxMode::Auto,
        },
    };
    req.limits = limits(m)?;
    req.sandbox_hide = m
        .strings("sandbox-hide")
        .iter()
        .map(PathBuf::from)
        .collect();
    req.sandbox_network = m.flag("sandbox-network");
    Ok(())
}
