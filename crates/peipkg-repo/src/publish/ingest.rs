//! Taking packages in: scan a directory, copy each package into the
//! staging area while verifying the copy.
//!
//! Verifying and copying in one pass over the same bytes means the file
//! that is published is exactly the file that was verified, even if the
//! source changes underneath us. Verification is the consumer's full flow
//! (PSD-009 §3.5.3): package structure, manifest rules, files manifest,
//! payload hashes and the signature, which must be by an active key of this
//! repository (or absent, with `--allow-unsigned`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use peipkg_format::archive::{verify_reader, SignatureStatus, VerifiedPackage, VerifyOptions};
use peipkg_format::identity::{parse_package_file_name, Version};
use peipkg_format::keys::PublicKey;

use crate::error::{IoContext, RepoError, Result};

/// One verified package, staged for publication.
#[derive(Debug)]
pub struct Incoming {
    pub source: PathBuf,
    /// The source's file name.
    pub file_name: String,
    /// The verified copy, fsynced, on the state's file system.
    pub staged: PathBuf,
    pub pkg: VerifiedPackage,
    /// Things the operator should know (unsigned package, lenient rules).
    pub warnings: Vec<String>,
}

/// List the `.peipkg` files of `dir` (not recursive), in bytewise name
/// order. Directories, and names not ending in `.peipkg`, are skipped, as
/// in the reference.
pub fn scan(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).ctx("read", dir)? {
        let entry = entry.ctx("read", dir)?;
        let name = entry.file_name();
        if !name.to_string_lossy().ends_with(".peipkg") {
            continue;
        }
        let path = entry.path();
        if fs::metadata(&path).map(|m| m.is_dir()).unwrap_or(false) {
            continue;
        }
        out.push(path);
    }
    out.sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    Ok(out)
}

struct Tee<R, W> {
    r: R,
    w: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.r.read(buf)?;
        self.w.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// Copy `source` to `staged` while verifying it.
pub fn ingest(
    source: &Path,
    staged: &Path,
    trusted: &[PublicKey],
    allow_unsigned: bool,
) -> Result<Incoming> {
    let file_name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let input = File::open(source).ctx("read", source)?;
    let out = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(staged)
        .ctx("create", staged)?;
    let opts = VerifyOptions {
        trusted_keys: trusted.to_vec(),
        require_signature: !allow_unsigned,
        ..VerifyOptions::default()
    };
    let mut tee = Tee {
        r: io::BufReader::with_capacity(1 << 16, input),
        w: io::BufWriter::with_capacity(1 << 16, out),
    };
    let verified = verify_reader(&mut tee, &opts);
    let pkg = match verified {
        Ok(p) => p,
        Err(e) => {
            let _ = fs::remove_file(staged);
            return Err(RepoError::bad_file(
                source,
                format!("package does not verify: {e}"),
            ));
        }
    };
    let out = tee
        .w
        .into_inner()
        .map_err(|e| RepoError::io("write", staged, e.into_error()))?;
    out.sync_all().ctx("fsync", staged)?;

    let m = &pkg.manifest;
    let mut warnings: Vec<String> = pkg
        .manifest_warnings
        .iter()
        .map(|w| format!("{}: {w}", source.display()))
        .collect();
    if pkg.signature == SignatureStatus::Unsigned {
        warnings.push(format!(
            "{}: package is unsigned; accepted because of --allow-unsigned (consumers with a 'required' signature policy will refuse it, PSD-009 §6.5.3)",
            source.display()
        ));
    }
    let expected = format!("{}_{}_{}.peipkg", m.name, m.version, m.architecture);
    if file_name != expected {
        let same = parse_package_file_name(&file_name)
            .ok()
            .zip(Version::parse(&m.version).ok())
            .is_some_and(|((n, v, a), mv)| {
                n.as_str() == m.name && v.as_str() == mv.as_str() && a.as_str() == m.architecture
            });
        if !same {
            let _ = fs::remove_file(staged);
            return Err(RepoError::bad_file(
                source,
                format!(
                    "file name does not match the manifest: expected {expected} (<name>_<version>_<architecture>.peipkg, PSD-009 §2.1.4)"
                ),
            ));
        }
    }
    Ok(Incoming {
        source: source.to_path_buf(),
        file_name,
        staged: staged.to_path_buf(),
        pkg,
        warnings,
    })
}
