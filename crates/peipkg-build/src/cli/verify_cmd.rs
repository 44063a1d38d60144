//! `peipkg-build verify FILE (--key PUB | --fingerprint FP)...`: the full
//! consumer-side verification (PSD-009 §3.5.3, §5.3), as the client runs it.
//!
//! `--key` gives public keys the signature is checked against. A bare
//! `--fingerprint` cannot check a signature (a fingerprint is a hash of a
//! key, not the key); on its own it pins which key the package must claim to
//! be signed by, and the output says plainly that the signature itself was
//! not checked. Given together, only the `--key` keys whose fingerprints are
//! listed are trusted.

use std::path::PathBuf;

use anyhow::Context;
use peipkg_cli::{FlagKind, FlagSet, Matches, EXIT_FAILURE, EXIT_OK};
use peipkg_format::archive::{verify_package, SignatureStatus, VerifyOptions};
use peipkg_format::keys::{group_fingerprint, PublicKey};

use super::{UsageError, PROGRAM};

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new(
        "peipkg-build verify",
        "FILE (-key PUB | -fingerprint FP)... [flags]",
    );
    f.about(
        "Run every check a consumer runs on a package: container structure, manifest rules,\n\
         files.json hashes, payload path and layout rules, and the Ed25519 signature.\n\
         Exit status 1 names the check that failed.",
    );
    f.args("FILE", 1, 1);
    f.flag(
        "key",
        FlagKind::Strings,
        "trusted public key (PEM \"PUBLIC KEY\" or 32 raw bytes)",
    )
    .value_name("PUB");
    f.flag(
        "fingerprint",
        FlagKind::Strings,
        "trusted key fingerprint (64 hex digits, spaces allowed)",
    )
    .value_name("FP");
    f.flag(
        "sha256",
        FlagKind::String,
        "expected SHA-256 of the package file (as a repository index records it)",
    )
    .value_name("HEX");
    f
}

fn normalise_fingerprint(raw: &str) -> Result<String, UsageError> {
    let fp: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    if fp.len() != 64 || !fp.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(UsageError(format!(
            "-fingerprint {raw:?}: expected 64 hex digits (the lowercase hex SHA-256 of the raw public key)"
        )));
    }
    Ok(fp)
}

pub fn run(m: &Matches) -> anyhow::Result<i32> {
    let file = PathBuf::from(&m.positionals()[0]);
    let fingerprints = m
        .strings("fingerprint")
        .iter()
        .map(|f| normalise_fingerprint(f))
        .collect::<Result<Vec<_>, _>>()?;
    if m.strings("key").is_empty() && fingerprints.is_empty() {
        return Err(UsageError(
            "verify needs at least one -key PUB or -fingerprint FP to say which signer to trust"
                .into(),
        )
        .into());
    }
    let mut keys = Vec::new();
    for path in m.strings("key") {
        let key = PublicKey::load(std::path::Path::new(path)).context("--key")?;
        if fingerprints.is_empty() || fingerprints.contains(&key.fingerprint()) {
            keys.push(key);
        }
    }
    if !m.strings("key").is_empty() && keys.is_empty() {
        return Err(UsageError(
            "none of the -key files has a fingerprint listed by -fingerprint".into(),
        )
        .into());
    }
    let opts = VerifyOptions {
        trusted_keys: keys,
        require_signature: true,
        expected_sha256: m.string("sha256").map(str::to_string),
        ..VerifyOptions::default()
    };
    let pkg = match verify_package(&file, &opts) {
        Ok(pkg) => pkg,
        Err(err) => {
            eprintln!("{PROGRAM}: verify {}: FAILED: {err}", file.display());
            return Ok(EXIT_FAILURE);
        }
    };
    let m = &pkg.manifest;
    let what = format!("{} {} ({})", m.name, m.version, m.architecture);
    match &pkg.signature {
        SignatureStatus::Verified { fingerprint } => {
            println!(
                "OK: {}: {what}: every check passed; signature verified with key {}",
                file.display(),
                group_fingerprint(fingerprint)
            );
        }
        SignatureStatus::NotChecked { fingerprint } => {
            if !fingerprints.contains(fingerprint) {
                eprintln!(
                    "{PROGRAM}: verify {}: FAILED: signed by key {fingerprint}, which is not among the trusted fingerprints (PSD-009 §5.3.3 condition 6)",
                    file.display()
                );
                return Ok(EXIT_FAILURE);
            }
            println!(
                "OK: {}: {what}: every check passed and the package names key {} as its signer; the Ed25519 signature itself was NOT checked (a fingerprint cannot check it; give -key PUB)",
                file.display(),
                group_fingerprint(fingerprint)
            );
        }
        SignatureStatus::Unsigned => {
            // require_signature makes this unreachable; refuse rather than
            // report success if that ever changes.
            eprintln!(
                "{PROGRAM}: verify {}: FAILED: package is unsigned",
                file.display()
            );
            return Ok(EXIT_FAILURE);
        }
    }
    for warning in &pkg.manifest_warnings {
        eprintln!("{PROGRAM}: warning: {}: {warning}", file.display());
    }
    Ok(EXIT_OK)
}
