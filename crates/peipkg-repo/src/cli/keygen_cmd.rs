//! `peipkg-repo keygen`: flags only; the work is `peipkg_cli::keygen`,
//! shared with `peipkg-build keygen`.

use std::path::PathBuf;

use peipkg_cli::{CliError, FlagSet, Matches, EXIT_OK};

use super::{required, CmdResult};

pub fn flags() -> FlagSet {
    peipkg_cli::keygen::flags("peipkg-repo", true)
}

pub fn run(m: &Matches) -> CmdResult {
    let out = PathBuf::from(required(m, "out")?);
    let public = super::optional(m, "pub").map(PathBuf::from);
    let report = peipkg_cli::keygen::generate(&out, public.as_deref())
        .map_err(|e| CliError::Failure(e.to_string()))?;
    print!("{report}");
    Ok(EXIT_OK)
}
