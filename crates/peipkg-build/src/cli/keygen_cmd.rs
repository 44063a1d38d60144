//! `peipkg-build keygen`: a new package-signing key.

use std::path::PathBuf;

use anyhow::Context;
use peipkg_cli::{FlagSet, Matches, EXIT_OK};

pub fn flags() -> FlagSet {
    peipkg_cli::keygen::flags("peipkg-build", false)
}

pub fn run(m: &Matches) -> anyhow::Result<i32> {
    super::require_non_empty(m, &["out"])?;
    let out = PathBuf::from(m.string("out").unwrap_or_default());
    let out = std::path::absolute(&out).with_context(|| format!("--out {}", out.display()))?;
    print!("{}", peipkg_cli::keygen::generate(&out, None)?);
    Ok(EXIT_OK)
}
