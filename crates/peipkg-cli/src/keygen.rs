//! `keygen`, the one implementation behind `peipkg-build keygen` and
//! `peipkg-repo keygen`: both tools make the same key files and say the same
//! thing about them, so an operator never wonders which tool made a key.

use peipkg_format::keys::{group_fingerprint, KeyError, SigningKey};
use std::fmt::Write as _;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum KeygenError {
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("write public key {path}: {source}")]
    Public {
        path: String,
        source: std::io::Error,
    },
}

/// The flags of `PROGRAM keygen`; `with_public` adds `--pub` (peipkg-repo
/// has it, peipkg-build, like the reference, does not).
pub fn flags(program: &str, with_public: bool) -> crate::FlagSet {
    let usage = if with_public {
        "--out PATH [--pub PATH]"
    } else {
        "--out PATH"
    };
    let mut f = crate::FlagSet::new(&format!("{program} keygen"), usage);
    f.about(
        "Create an Ed25519 signing key as PEM PKCS#8 with mode 0600 (an existing file is never\n\
         overwritten) and print its public-key fingerprint, grouped for reading aloud and raw.",
    );
    f.flag(
        "out",
        crate::FlagKind::String,
        "where to write the private key",
    )
    .required()
    .value_name("PATH");
    if with_public {
        f.flag(
            "pub",
            crate::FlagKind::String,
            "also write the public key (PEM SubjectPublicKeyInfo) here",
        )
        .value_name("PATH");
    }
    f
}

/// Write a new private key to `out` (PEM PKCS#8, mode 0600, never over an
/// existing file) and, if asked, its public key (PEM SPKI) to `public_out`.
/// Returns the report to print: the path and the fingerprint, grouped for
/// reading aloud and raw for pasting.
pub fn generate(out: &Path, public_out: Option<&Path>) -> Result<String, KeygenError> {
    let key = SigningKey::generate();
    key.write_new(out)?;
    let public = key.public_key();
    let mut report = format!(
        "wrote Ed25519 private key {} (PEM PKCS#8, mode 0600)\n",
        out.display()
    );
    if let Some(p) = public_out {
        std::fs::write(p, public.to_pem()).map_err(|source| KeygenError::Public {
            path: p.display().to_string(),
            source,
        })?;
        let _ = writeln!(
            report,
            "wrote public key {} (PEM SubjectPublicKeyInfo)",
            p.display()
        );
    }
    let fp = public.fingerprint();
    let _ = writeln!(report, "fingerprint: {}", group_fingerprint(&fp));
    let _ = writeln!(report, "fingerprint (raw): {fp}");
    Ok(report)
}
