//! `peipkg-build keygen`: a new package-signing key.

use std::path::PathBuf;

use anyhow::Context;
use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-build keygen", "--out PATH");
    f.about(
        "Create an Ed25519 signing key as PEM PKCS#8 with mode 0600 (an existing file is never\n\
         overwritten) and print its public-key fingerprint, grouped for reading aloud and raw.",
    );
    f.flag("out", FlagKind::String, "where to write the private key")
        .required()
        .value_name("PATH");
    f
}

pub fn run(m: &Matches) -> anyhow::Result<i32> {
    super::require_non_empty(m, &["out"])?;
    let out = PathBuf::from(m.string("out").unwrap_or_default());
    let out = std::path::absolute(&out).with_context(|| format!("--out {}", out.display()))?;
    print!("{}", peipkg_cli::keygen::generate(&out, None)?);
    Ok(EXIT_OK)
}
