//! The hash stage of `verify`: every package file the archive references,
//! in parallel. By default each file's SHA-256 and size are compared with
//! the signed index: the index signature already proves those bytes are
//! the ones that passed full verification at publish, so this is the audit
//! at the speed of reading. `--deep` fully re-verifies each package
//! (decompression, every payload hash, its signature, its manifest against
//! the index entry).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use peipkg_format::archive::{verify_package, VerifyError, VerifyOptions as PkgOptions};
use peipkg_format::keys::SignatureError;
use peipkg_format::repository::PackageEntry;

use super::metadata::{differing_fields, KeyTable};
use super::{local_path, Counts, Findings, VerifyOptions};
use crate::state::State;

/// What checking one file produced.
struct Outcome {
    issues: Vec<String>,
    warnings: Vec<String>,
    bytes: u64,
    hashed: bool,
}

pub(crate) fn check(
    state: &State,
    keys: &KeyTable,
    o: &VerifyOptions,
    f: &mut Findings,
    counts: &mut Counts,
) {
    // One check per file name, in file-name order, as the reference does;
    // an archive entry wins over an active entry of the same name.
    let mut by_file: BTreeMap<String, &PackageEntry> = BTreeMap::new();
    for e in state.active.packages.iter().chain(&state.archive.packages) {
        by_file.insert(e.file_name(), e);
    }
    let work: Vec<(String, &PackageEntry)> = by_file.into_iter().collect();
    let trusted = keys.acceptable();
    let outcomes = crate::parallel::map(&work, o.jobs, |(file, e)| {
        check_one(state, keys, &trusted, o, file, e)
    });
    for o in outcomes {
        for w in o.warnings {
            f.warn("hashes", w);
        }
        for i in o.issues {
            f.issue("hashes", i);
        }
        if o.hashed {
            counts.packages_hashed += 1;
            counts.bytes_hashed += o.bytes;
        } else {
            counts.packages_skipped += 1;
        }
    }
}

fn locate(
    state: &State,
    o: &VerifyOptions,
    file: &str,
    e: &PackageEntry,
) -> Result<PathBuf, String> {
    if let Some(dir) = &o.all_packages_dir {
        let canonical = dir.join(file);
        if canonical.exists() {
            return Ok(canonical);
        }
        // Published from a non-canonical file name: the URL keeps it.
        if let Some(base) = e.url.rsplit('/').next().filter(|b| !b.is_empty()) {
            let alt = dir.join(base);
            if alt.exists() {
                return Ok(alt);
            }
        }
        // A directory laid out like a state: the state itself, or its own
        // `p/` (where packages live as `p/<name>/<version>/<file>`).
        if let Some(rel) = local_path(Path::new(""), &e.url) {
            let mut tries = vec![dir.join(&rel)];
            if let Ok(under_p) = rel.strip_prefix("p") {
                tries.push(dir.join(under_p));
            }
            if let Some(found) = tries.into_iter().find(|p| p.exists()) {
                return Ok(found);
            }
        }
        return Ok(canonical);
    }
    local_path(&state.root, &e.url).ok_or_else(|| {
        format!(
            "{file}: not checked, it is hosted at {} (pass --all-packages-dir DIR to check a local copy)",
            e.url
        )
    })
}

fn check_one(
    state: &State,
    keys: &KeyTable,
    trusted: &[peipkg_format::keys::PublicKey],
    o: &VerifyOptions,
    file: &str,
    e: &PackageEntry,
) -> Outcome {
    let mut out = Outcome {
        issues: Vec::new(),
        warnings: Vec::new(),
        bytes: 0,
        hashed: false,
    };
    let path = match locate(state, o, file, e) {
        Ok(p) => p,
        Err(w) => {
            out.warnings.push(w);
            return out;
        }
    };
    if !o.deep {
        return check_file_hash(&path, file, e, out);
    }
    let opts = PkgOptions {
        trusted_keys: trusted.to_vec(),
        require_signature: !o.allow_unsigned,
        expected_sha256: Some(e.hash.value.clone()),
        expected_size_compressed: Some(e.size_compressed),
        expected_size_installed: Some(e.size_installed),
        ..PkgOptions::default()
    };
    match verify_package(&path, &opts) {
        Ok(pkg) => {
            out.hashed = true;
            out.bytes = pkg.size_compressed;
            if pkg.size_compressed != e.size_compressed {
                out.issues.push(format!(
                    "size mismatch: {file} is {} bytes, index claimed {}",
                    pkg.size_compressed, e.size_compressed
                ));
            }
            if pkg.signer().is_none() {
                out.warnings.push(format!(
                    "{file}: package is unsigned (accepted because of --allow-unsigned)"
                ));
            }
            let from_manifest = manifest_entry(&pkg, e);
            let fields = differing_fields(&from_manifest, e);
            if !fields.is_empty() {
                out.issues.push(format!(
                    "{file}: index entry differs from the package's manifest in {} (PSD-009 §6.2.5)",
                    fields.join(", ")
                ));
            }
        }
        Err(VerifyError::PackageHash { expected, actual }) => {
            out.hashed = true;
            out.issues.push(format!(
                "hash mismatch: {file} computed {actual}, index claimed {expected}"
            ));
        }
        Err(VerifyError::Io { error, .. }) => {
            out.issues.push(format!(
                "hash check: read {file}: {} ({error})",
                path.display()
            ));
        }
        Err(VerifyError::Signature(SignatureError::UnknownKey(fp))) => {
            out.hashed = true;
            let why = keys
                .refusal(&fp)
                .unwrap_or_else(|| format!("signing key {fp}'s public key is unusable"));
            out.issues.push(format!("{file}: {why}"));
        }
        Err(err) => {
            out.hashed = true;
            // The stream stopped before its end, so the package hash was
            // never finished. A consumer checks that hash first (§3.5.3
            // step 2); so do we, to report corruption as what it is.
            match sha256_file(&path) {
                Ok((actual, len)) if actual != e.hash.value => {
                    out.bytes = len;
                    out.issues.push(format!(
                        "hash mismatch: {file} computed {actual}, index claimed {}",
                        e.hash.value
                    ));
                }
                _ => out
                    .issues
                    .push(format!("{file}: {}: {err}", path.display())),
            }
        }
    }
    out
}

/// The default check: the file's SHA-256 and size against the index entry.
fn check_file_hash(
    path: &std::path::Path,
    file: &str,
    e: &PackageEntry,
    mut out: Outcome,
) -> Outcome {
    match sha256_file(path) {
        Ok((actual, len)) => {
            out.hashed = true;
            out.bytes = len;
            if actual != e.hash.value {
                out.issues.push(format!(
                    "hash mismatch: {file} computed {actual}, index claimed {}",
                    e.hash.value
                ));
            } else if len != e.size_compressed {
                out.issues.push(format!(
                    "size mismatch: {file} is {len} bytes, index claimed {}",
                    e.size_compressed
                ));
            }
        }
        Err(error) => out.issues.push(format!(
            "hash check: read {file}: {} ({error})",
            path.display()
        )),
    }
    out
}

/// SHA-256 and length of a file, read in large blocks.
fn sha256_file(path: &std::path::Path) -> std::io::Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    use std::io::Read;
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut n = 0u64;
    loop {
        let got = match f.read(&mut buf) {
            Ok(0) => break,
            Ok(got) => got,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..got]);
        n += got as u64;
    }
    Ok((hex::encode(h.finalize()), n))
}

/// The entry the package's own manifest implies, with the file-derived
/// members copied from the index entry so only manifest fields compare.
fn manifest_entry(pkg: &peipkg_format::archive::VerifiedPackage, e: &PackageEntry) -> PackageEntry {
    PackageEntry::from_manifest(
        &pkg.manifest,
        e.size_compressed,
        &e.hash.value,
        e.url.clone(),
    )
}
