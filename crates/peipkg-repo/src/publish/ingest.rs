//! Taking packages in: scan a directory, copy each package into the
//! staging area while verifying the copy.
//!
//! Verifying and copying in one pass over the same bytes means the file
//! that is published is exactly the file that was verified, even if the
//! source changes underneath us. Verification is the consumer's full flow
//! (PSD-009 §3.5.3): package structure, manifest rules, files manifest,
//! payload hashes and the signature, which must be by an active key of this
//! repository (or absent, with `--allow-unsigned`).

use std::fs::{self, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use peipkg_format::archive::{
    verify_reader, PayloadKind, SignatureStatus, VerifiedPackage, VerifyOptions,
};
use peipkg_format::identity::{parse_package_file_name, Architecture, Version};
use peipkg_format::keys::PublicKey;
use peipkg_format::layout::{check_payload, LayoutKind};

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

/// What a scan of `--new` found.
#[derive(Debug, Default)]
pub struct Scanned {
    /// The `.peipkg` files, in bytewise name order.
    pub packages: Vec<PathBuf>,
    /// Names that are not packages (other files, directories), sorted, so
    /// a `--new` holding none can say what it skipped.
    pub ignored: Vec<String>,
}

/// List the `.peipkg` files of `dir` (not recursive), in bytewise name
/// order. Directories, and names not ending in `.peipkg`, are skipped, as
/// in the reference, and listed in [`Scanned::ignored`]. A `.peipkg` name
/// that is not a regular file (after following a symlink) is refused here,
/// before anything opens it: a FIFO would block the publish for ever while
/// it holds the state lock, and a device has no business there either.
pub fn scan(dir: &Path) -> Result<Scanned> {
    let mut out = Scanned::default();
    for entry in fs::read_dir(dir).ctx("read", dir)? {
        let entry = entry.ctx("read", dir)?;
        let name = entry.file_name();
        let shown = name.to_string_lossy().into_owned();
        let path = entry.path();
        if !shown.ends_with(".peipkg") {
            out.ignored.push(shown);
            continue;
        }
        let meta = fs::metadata(&path).ctx("stat", &path)?;
        if meta.is_dir() {
            out.ignored.push(format!("{shown}/"));
            continue;
        }
        if !meta.is_file() {
            return Err(RepoError::bad_file(
                &path,
                format!(
                    "is {}, not a regular file; refused without opening it (a package must be a regular file)",
                    file_kind(&meta.file_type())
                ),
            ));
        }
        out.packages.push(path);
    }
    out.packages
        .sort_by(|a, b| a.file_name().cmp(&b.file_name()));
    out.ignored.sort();
    Ok(out)
}

/// A file type in words, for errors.
fn file_kind(t: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_symlink() {
        "a symlink"
    } else if t.is_dir() {
        "a directory"
    } else {
        "an unknown kind of file"
    }
}

/// Copies what it reads into `w`, remembering a read or write error so a
/// failure of the machine (EIO, ENOSPC) is reported as what it is and not
/// as the verifier's "corrupt stream".
struct Tee<R, W> {
    r: R,
    w: W,
    failed: Option<(&'static str, io::Error)>,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match self.r.read(buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Err(e),
            Err(e) => return Err(self.fail("read", e)),
        };
        if let Err(e) = self.w.write_all(&buf[..n]) {
            return Err(self.fail("write", e));
        }
        Ok(n)
    }
}

impl<R, W> Tee<R, W> {
    fn fail(&mut self, action: &'static str, e: io::Error) -> io::Error {
        let copy = io::Error::new(e.kind(), e.to_string());
        if self.failed.is_none() {
            self.failed = Some((action, e));
        }
        copy
    }
}

/// The producer's §3.4 layout rules (permitted destinations, triplets,
/// nothing but directories under `/var`, symlink resolution, no entry
/// under a symlink), applied to what we are handed: a package built by
/// another tool must not slip past them. One home for the rules:
/// `peipkg_format::layout`, which `peipkg-build` uses too.
fn check_layout(pkg: &VerifiedPackage) -> std::result::Result<(), String> {
    let Ok(arch) = Architecture::parse(&pkg.manifest.architecture) else {
        // The manifest check already refused it; nothing to check against.
        return Ok(());
    };
    let violations = check_payload(
        &arch,
        pkg.payload.iter().map(|e| {
            let kind = match (e.kind, &e.link_target) {
                (PayloadKind::Directory, _) => LayoutKind::Directory,
                (PayloadKind::Symlink, Some(t)) => LayoutKind::Symlink { target: t },
                _ => LayoutKind::File,
            };
            (e.path.as_str(), kind)
        }),
    );
    if violations.is_empty() {
        return Ok(());
    }
    let n = violations.len();
    let mut out = format!(
        "payload breaks the layout rules ({n} violation{}):",
        if n == 1 { "" } else { "s" }
    );
    for v in violations.iter().take(20) {
        out.push_str(&format!("\n  {v}"));
    }
    if n > 20 {
        out.push_str(&format!("\n  ... and {} more", n - 20));
    }
    Err(out)
}

/// Copy `source` to `staged` while verifying it.
pub fn ingest(
    source: &Path,
    staged: &Path,
    trusted: &[PublicKey],
    allow_unsigned: bool,
) -> Result<Incoming> {
    // Non-blocking, so that a FIFO swapped in after the scan cannot hang
    // us; then the opened file itself must be regular.
    let input = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(source)
        .ctx("read", source)?;
    let meta = input.metadata().ctx("stat", source)?;
    if !meta.is_file() {
        return Err(RepoError::bad_file(
            source,
            format!(
                "is {}, not a regular file; refused (a package must be a regular file)",
                file_kind(&meta.file_type())
            ),
        ));
    }
    ingest_from(input, source, staged, trusted, allow_unsigned)
}

/// [`ingest`] from an opened source, into a new file at `staged`.
fn ingest_from(
    input: impl Read,
    source: &Path,
    staged: &Path,
    trusted: &[PublicKey],
    allow_unsigned: bool,
) -> Result<Incoming> {
    let file_name = source
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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
        failed: None,
    };
    let verified = verify_reader(&mut tee, &opts);
    if let Some((action, error)) = tee.failed.take() {
        let _ = fs::remove_file(staged);
        let path = if action == "read" { source } else { staged };
        return Err(RepoError::io(action, path, error));
    }
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

    if let Err(e) = check_layout(&pkg) {
        let _ = fs::remove_file(staged);
        return Err(RepoError::bad_file(source, e));
    }
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
