//! `peipkg-repo keygen`: the same key files as `peipkg-build keygen` (both
//! are thin over `peipkg_format::keys`).

use std::path::PathBuf;

use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_OK};
use peipkg_format::keys::{group_fingerprint, SigningKey};

use super::{required, CmdResult, Failure};

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
    let key = SigningKey::generate();
    key.write_new(&out)
        .map_err(|e| Failure::Error(e.to_string()))?;
    let fingerprint = key.public_key().fingerprint();
    if let Some(p) = super::optional(m, "pub") {
        std::fs::write(&p, key.public_key().to_pem())
            .map_err(|e| Failure::Error(format!("write {p}: {e}")))?;
    }
    println!(
        "wrote Ed25519 private key {} (PEM PKCS#8, mode 0600)",
        out.display()
    );
    println!("fingerprint: {}", group_fingerprint(&fingerprint));
    println!("fingerprint (raw): {fingerprint}");
    Ok(EXIT_OK)
}
