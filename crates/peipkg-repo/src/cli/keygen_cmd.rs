//! `peipkg-repo keygen`: flags only; the work is `peipkg_cli::keygen`,
//! shared with `peipkg-build keygen`.

use std::path::PathBuf;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_OK};

use super::{required, CmdResult};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-repo keygen", "--out PATH [--pub PATH]");
    f.about(
        "Create an Ed25519 signing key as PEM PKCS#8 with mode 0600 (an existing file is never\n\
         overwritten) and print its public-key fingerprint, grouped for reading aloud and raw.",
    );
    f.flag("out", FlagKind::String, "where to write the private key")
        .required()
        .value_name("PATH");
    f.flag(
        "pub",
        FlagKind::String,
        "also write the public key (PEM SubjectPublicKeyInfo) here",
    )
    .value_name("PATH");
    f
}

pub fn run(m: &Matches) -> CmdResult {
    let out = PathBuf::from(required(m, "out")?);
    let public = super::optional(m, "pub").map(PathBuf::from);
    let report = peipkg_cli::keygen::generate(&out, public.as_deref())
        .map_err(|e| CliError::Failure(e.to_string()))?;
    print!("{report}");
    Ok(EXIT_OK)
}
