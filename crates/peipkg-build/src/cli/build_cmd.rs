//! `peipkg-build build`.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, EXIT_OK};

use super::{
    parse, require_non_empty, sign_key, zstd_level, zstd_level_flag, StderrReporter, UsageError,
};
use crate::build::{build, BuildRequest};
use crate::limits::{parse_size, Limits};
use crate::sandbox::SandboxMode;

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build build", "[flags]");
    f.about(
        "Run a recipe's build script and emit one .peipkg per [[package]] stanza.\n\
         On success the absolute path of each package is printed on stdout, one per line;\n\
         the build script's own output goes to stderr.",
    );
    let required = [
        ("recipe", "path to peipkg.toml", "PATH"),
        ("source", "path to the source checkout", "DIR"),
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
        ("out", "output directory for .peipkg files (created if missing)", "DIR"),
    ];
    for (name, help, value) in required {
        f.flag(name, FlagKind::String, help)
            .required()
            .value_name(value);
    }
    f.flag(
        "sign-key",
        FlagKind::String,
        "path to an Ed25519 private key (PEM or 32-byte raw seed); empty = unsigned packages",
    )
    .value_name("PATH");
    f.flag(
        "build-env",
        FlagKind::Strings,
        "NAME=VALUE injected into the build script env (e.g. PKM_KACS_TCB_PUBKEY_HEX=...)",
    )
    .value_name("NAME=VALUE");
    f.flag(
        "binary-sign-key",
        FlagKind::Strings,
        "NAME=PATH binary-signing key for [[sign]] stanzas",
    )
    .value_name("NAME=PATH");
    f.flag(
        "keep-failed",
        FlagKind::Bool,
        "keep the staging directory of a failed build and print where it is",
    );
    f.flag(
        "timeout",
        FlagKind::Duration,
        "kill the build script's whole process group after this long (e.g. 2h); default no limit",
    );
    sandbox_flags(&mut f);
    zstd_level_flag(&mut f);
    f
}

/// The sandbox and `--limit-*` flags (`build` and `stage` both run the
/// script).
pub(super) fn sandbox_flags(f: &mut FlagSet) {
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

/// The three `--limit-*` flags, defaults where not given.
fn limits(m: &peipkg_cli::Matches) -> anyhow::Result<Limits> {
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

/// The sandbox mode, network, hidden paths and limits a command line asks
/// for.
pub(super) fn sandbox_request(
    m: &peipkg_cli::Matches,
) -> anyhow::Result<(SandboxMode, bool, Vec<PathBuf>, Limits)> {
    // PEIPKG_BUILD_SANDBOX gives the default, so a caller that must keep
    // the reference's command line (the manager) can still choose.
    let sandbox = match m.string("sandbox") {
        Some(mode) => SandboxMode::parse(mode).map_err(UsageError)?,
        None => match std::env::var("PEIPKG_BUILD_SANDBOX") {
            Ok(mode) => SandboxMode::parse(&mode)
                .map_err(|e| UsageError(format!("PEIPKG_BUILD_SANDBOX: {e}")))?,
            Err(_) => SandboxMode::Auto,
        },
    };
    let limits = limits(m)?;
    let hide = m
        .strings("sandbox-hide")
        .iter()
        .map(PathBuf::from)
        .collect();
    Ok((sandbox, m.flag("sandbox-network"), hide, limits))
}

pub fn run(args: &[String]) -> anyhow::Result<i32> {
    let flags = flags();
    let m = match parse(&flags, args) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let text = |name: &str| m.string(name).unwrap_or_default().to_string();
    let level = zstd_level(&m);
    let (sandbox, sandbox_network, sandbox_hide, limits) = sandbox_request(&m)?;
    let req = BuildRequest {
        recipe: PathBuf::from(text("recipe")),
        source: PathBuf::from(text("source")),
        version: text("version"),
        source_ref: text("source-ref"),
        farm_id: text("farm-id"),
        timestamp: text("timestamp"),
        out: PathBuf::from(text("out")),
        sign_key: sign_key(&m),
        build_env: m.strings("build-env").to_vec(),
        binary_sign_keys: m.strings("binary-sign-key").to_vec(),
        keep_failed: m.flag("keep-failed"),
        timeout: m.duration("timeout").filter(|d| !d.is_zero()),
        // Out-of-range values are reported by the build with the range.
        zstd_level: level,
        sandbox,
        sandbox_network,
        sandbox_hide,
        limits,
    };
    require_non_empty(&[
        ("recipe", &req.recipe),
        ("source", &req.source),
        ("out", &req.out),
    ])?;
    let written = build(&req, &mut StderrReporter)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
