//! `peipkg-build stage` and `peipkg-build seal`: a build split between a
//! build node that holds no key and the farm host that signs (see
//! `crate::split`). Both take `build`'s flags, less what their side does
//! not need, plus `--staged DIR`.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, EXIT_OK};

use super::{parse, require_non_empty, sign_key, zstd_level, zstd_level_flag, StderrReporter};
use crate::build::BuildRequest;

fn common(f: &mut FlagSet, source: bool) {
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

pub fn stage_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build stage", "[flags]");
    f.about(
        "Run a recipe's build script into --staged DIR and stop: no key is read, no package\n\
         is written. 'peipkg-build seal' (on the machine that holds the keys) makes the\n\
         packages from that tree. On success DIR is printed on stdout.",
    );
    common(&mut f, true);
    f.flag(
        "staged",
        FlagKind::String,
        "directory the script installs into ($DESTDIR); must not exist",
    )
    .required()
    .value_name("DIR");
    f.flag(
        "build-env",
        FlagKind::Strings,
        "NAME=VALUE injected into the build script env (e.g. PKM_KACS_TCB_PUBKEY_HEX=...)",
    )
    .value_name("NAME=VALUE");
    f.flag(
        "keep-failed",
        FlagKind::Bool,
        "keep the staged tree of a failed build",
    );
    f.flag(
        "timeout",
        FlagKind::Duration,
        "kill the build script's whole process group after this long (e.g. 2h); default no limit",
    );
    super::build_cmd::sandbox_flags(&mut f);
    f
}

pub fn seal_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build seal", "[flags]");
    f.about(
        "Make the packages from a tree 'peipkg-build stage' left: the tree is copied (never\n\
         following links) and then signed ([[sign]]), checked, packed and signed exactly as\n\
         'build' does after its script. The absolute path of each package is printed.",
    );
    common(&mut f, false);
    f.flag(
        "staged",
        FlagKind::String,
        "the tree 'peipkg-build stage' installed into",
    )
    .required()
    .value_name("DIR");
    f.flag(
        "out",
        FlagKind::String,
        "output directory for .peipkg files (created if missing)",
    )
    .required()
    .value_name("DIR");
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
    zstd_level_flag(&mut f);
    f
}

pub fn run_stage(args: &[String]) -> anyhow::Result<i32> {
    let flags = stage_flags();
    let m = match parse(&flags, args) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let text = |name: &str| m.string(name).unwrap_or_default().to_string();
    let (sandbox, sandbox_network, sandbox_hide, limits) = super::build_cmd::sandbox_request(&m)?;
    let req = BuildRequest {
        sandbox,
        sandbox_network,
        sandbox_hide,
        limits,
        recipe: PathBuf::from(text("recipe")),
        source: PathBuf::from(text("source")),
        version: text("version"),
        source_ref: text("source-ref"),
        farm_id: text("farm-id"),
        timestamp: text("timestamp"),
        build_env: m.strings("build-env").to_vec(),
        keep_failed: m.flag("keep-failed"),
        timeout: m.duration("timeout").filter(|d| !d.is_zero()),
        zstd_level: peipkg_format::archive::DEFAULT_ZSTD_LEVEL,
        ..BuildRequest::default()
    };
    let staged = PathBuf::from(text("staged"));
    require_non_empty(&[
        ("recipe", &req.recipe),
        ("source", &req.source),
        ("staged", &staged),
    ])?;
    let dir = crate::split::stage(&req, &staged, &mut StderrReporter)?;
    println!("{}", dir.display());
    Ok(EXIT_OK)
}

pub fn run_seal(args: &[String]) -> anyhow::Result<i32> {
    let flags = seal_flags();
    let m = match parse(&flags, args) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let text = |name: &str| m.string(name).unwrap_or_default().to_string();
    let req = BuildRequest {
        recipe: PathBuf::from(text("recipe")),
        version: text("version"),
        source_ref: text("source-ref"),
        farm_id: text("farm-id"),
        timestamp: text("timestamp"),
        out: PathBuf::from(text("out")),
        sign_key: sign_key(&m),
        binary_sign_keys: m.strings("binary-sign-key").to_vec(),
        zstd_level: zstd_level(&m),
        ..BuildRequest::default()
    };
    let staged = PathBuf::from(text("staged"));
    require_non_empty(&[
        ("recipe", &req.recipe),
        ("staged", &staged),
        ("out", &req.out),
    ])?;
    let written = crate::split::seal(&req, &staged, &mut StderrReporter)?;
    for path in written {
        println!("{}", path.display());
    }
    Ok(EXIT_OK)
}
