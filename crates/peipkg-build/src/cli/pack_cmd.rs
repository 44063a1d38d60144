//! `peipkg-build pack`.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, EXIT_OK};
use peipkg_format::archive::DEFAULT_ZSTD_LEVEL;

use super::{parse, StderrReporter};
use crate::pack::{pack, PackRequest};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-build pack",
        "--manifest PATH --staged DIR --out PATH",
    );
    f.about(
        "Emit one .peipkg from a fully-resolved manifest.json and a staged payload tree.\n\
         The manifest and the payload are checked against the PSD-009 rules first.",
    );
    f.flag(
        "manifest",
        FlagKind::String,
        "path to a fully-resolved manifest.json",
    )
    .required()
    .value_name("PATH");
    f.flag(
        "staged",
        FlagKind::String,
        "path to the staged payload tree",
    )
    .required()
    .value_name("DIR");
    f.flag(
        "out",
        FlagKind::String,
        "path to the output .peipkg (its directory must exist)",
    )
    .required()
    .value_name("PATH");
    f.flag(
        "sign-key",
        FlagKind::String,
        "path to an Ed25519 private key (PEM or 32-byte raw seed); empty = unsigned package",
    )
    .value_name("PATH");
    f.flag("zstd-level", FlagKind::Int, "zstd compression level, 1-22")
        .default(&DEFAULT_ZSTD_LEVEL.to_string());
    f
}

pub fn run(args: &[String]) -> anyhow::Result<i32> {
    let flags = flags();
    let m = match parse(&flags, args) {
        Ok(m) => m,
        Err(code) => return Ok(code),
    };
    let text = |name: &str| PathBuf::from(m.string(name).unwrap_or_default());
    let level = m.int("zstd-level").unwrap_or(i64::from(DEFAULT_ZSTD_LEVEL));
    let req = PackRequest {
        manifest: text("manifest"),
        staged: text("staged"),
        out: text("out"),
        sign_key: m
            .string("sign-key")
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
        zstd_level: i32::try_from(level).unwrap_or(i32::MAX),
    };
    for (name, value) in [
        ("manifest", &req.manifest),
        ("staged", &req.staged),
        ("out", &req.out),
    ] {
        if value.as_os_str().is_empty() {
            return Err(super::UsageError(format!("-{name} must not be empty")).into());
        }
    }
    let written = pack(&req, &mut StderrReporter)?;
    println!("{}", written.display());
    Ok(EXIT_OK)
}
