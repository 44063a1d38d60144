//! `peipkg-build pack`.

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};

use super::{require_non_empty, sign_key, zstd_level, zstd_level_flag, StderrReporter};
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
    zstd_level_flag(&mut f);
    f
}

pub fn run(m: &Matches) -> anyhow::Result<i32> {
    let text = |name: &str| PathBuf::from(m.string(name).unwrap_or_default());
    let level = zstd_level(m);
    let req = PackRequest {
        manifest: text("manifest"),
        staged: text("staged"),
        out: text("out"),
        sign_key: sign_key(m),
        zstd_level: level,
    };
    require_non_empty(m, &["manifest", "staged", "out"])?;
    let written = pack(&req, &mut StderrReporter)?;
    println!("{}", written.display());
    Ok(EXIT_OK)
}
