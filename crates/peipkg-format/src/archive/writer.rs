//! The deterministic package writer (PSD-009 §3.1.4, §3.2, §5.1).
//!
//! Same manifest and same payload give the same bytes on any machine: entries
//! are sorted by on-wire name (a directory's name carries its trailing `/`,
//! DESIGN.md §2), every header field is fixed by the build timestamp, and
//! zstd runs with a fixed level and a fixed worker count (zstd's
//! multi-threaded output depends on its parameters, never on how many cores
//! actually run the jobs).
//!
//! Each payload file is read exactly once: while it is copied into a spool
//! of the payload tar section its hash is taken, because `files.json`, which
//! precedes the payload in the archive, needs every hash. The package is
//! written to a temporary file beside the destination and renamed into place
//! only when complete and synced, so no half-written package is ever visible.

use super::hashing_io::HashingWriter;
use super::reader::MAX_ENTRIES;
use super::tar_header::{self, EntryHeader, BLOCK, MAX_USTAR_SIZE};
use crate::documents::files_manifest::{FilesManifestWriter, MAX_FILES_MANIFEST_BYTES};
use crate::documents::timestamp::{parse_build_timestamp, TimestampError};
use crate::documents::Manifest;
use crate::keys::SigningKey;
use crate::layout::{check_path, check_symlink, PathError};
use sha2::{Digest, Sha256};
use std::cmp::Ordering;
use std::convert::Infallible;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

/// zstd always runs in its multi-threaded mode, whose output depends on its
/// parameters and never on how many workers run (pinned by a test below):
/// the worker count is a speed and memory knob only. Two workers at most,
/// because each holds its own match-finder tables.
fn zstd_workers() -> u32 {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(2) as u32)
}
/// zstd's default job is four windows (32 MiB at level 9 and up), and each
/// worker holds a job's input and output: memory grows with the level.
/// Fixed 2 MiB jobs keep the writer's peak RSS low at every level.
const ZSTD_JOB_BYTES: u32 = 2 << 20;
/// From level 9 up zstd's default hash table (2^22 entries and more) costs
/// memory and time without paying for itself on package payloads: capped
/// at 2^20 the 256 MiB benchmark compresses faster, slightly smaller, in
/// half the memory (docs/BENCHMARKS.md, peipkg-build section).
const ZSTD_HASH_LOG_CAP: u32 = 20;
const ZSTD_HASH_CAP_FROM_LEVEL: i32 = 9;
/// Levels 13-16 switch to binary-tree match finders whose chain table
/// (2^22 entries per worker) took the writer to 60-90 MiB; capped at chain
/// 2^21 and a 4 MiB window they stay near 42 MiB, 10% faster, at most 0.6%
/// larger on real files. From level 17 the same caps cost 2-9% (the 8 MiB
/// window finds long matches in real binaries), and whoever asks for those
/// levels is asking for size: 17-22 keep zstd's own tables and take
/// 100-700 MiB (docs/BENCHMARKS.md, peipkg-build).
const ZSTD_TREE_LEVELS: std::ops::RangeInclusive<i32> = 13..=16;
const ZSTD_CHAIN_LOG_CAP: u32 = 21;
const ZSTD_WINDOW_LOG_CAP: u32 = 22;

/// One payload entry to pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadEntry {
    /// Relative payload path, without a leading or trailing `/`.
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A regular file, read from the content root at the entry's path;
    /// `size` is what the caller saw when it walked the tree, checked again
    /// when read.
    File {
        size: u64,
    },
    Directory,
    Symlink {
        target: String,
    },
}

#[derive(Debug, Clone)]
pub struct PackOptions {
    pub zstd_level: i32,
    pub signing_key: Option<SigningKey>,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            zstd_level: super::DEFAULT_ZSTD_LEVEL,
            signing_key: None,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackOutcome {
    pub path: PathBuf,
    pub size_compressed: u64,
    /// Lowercase hex SHA-256 of the `.peipkg` file.
    pub sha256: String,
    /// The manifest as written (with `size_installed` filled in).
    pub manifest: Manifest,
    pub signed_by: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("payload path {path:?} {error}")]
    Path { path: String, error: PathError },
    #[error("payload path {0:?} appears more than once")]
    Duplicate(String),
    #[error("payload entries out of order: {next:?} came after {previous:?} (entries must be sorted by on-wire name)")]
    Order { previous: String, next: String },
    #[error("{0}")]
    Source(Box<dyn std::error::Error + Send + Sync>),
    #[error("symlink {path:?}: {reason}")]
    Symlink { path: String, reason: String },
    #[error("payload file {path:?} is {size} bytes, over the 8 GiB a ustar size field holds")]
    TooLarge { path: String, size: u64 },
    #[error("build.timestamp: {0}")]
    Timestamp(#[from] TimestampError),
    #[error("read payload file {source_path} (for {path:?}): {error}")]
    ReadSource {
        path: String,
        source_path: PathBuf,
        error: io::Error,
    },
    #[error("payload file {source_path} changed while it was packed (was {expected} bytes when the tree was walked, {actual} when read)")]
    Changed {
        source_path: PathBuf,
        expected: u64,
        actual: u64,
    },
    #[error("the payload has more than {MAX_ENTRIES} entries, the most a consumer accepts (PSD-009 §3.2.8); split it across packages")]
    TooManyEntries,
    #[error("the payload's files.json would be {size} bytes, over the {MAX_FILES_MANIFEST_BYTES} bytes consumers accept (PSD-009 §3.2.8); split the payload across packages")]
    FilesManifestTooLarge { size: u64 },
    #[error("zstd level {0} is out of range 1..=22")]
    Level(i32),
    #[error("write package {path}: {error}")]
    Write { path: PathBuf, error: io::Error },
}

/// Write one package to `out_path` (atomically), reading each file entry's
/// content from `content_root` joined with its path. Entries may come in
/// any order. The manifest's `size_installed` is computed here and replaces
/// the caller's value.
pub fn write_package(
    manifest: &Manifest,
    mut entries: Vec<PayloadEntry>,
    content_root: &Path,
    opts: &PackOptions,
    out_path: &Path,
) -> Result<PackOutcome, ArchiveError> {
    entries.sort_unstable_by(cmp_wire);
    write_sorted_package(
        manifest,
        entries.into_iter().map(Ok::<_, Infallible>),
        content_root,
        opts,
        out_path,
    )
}

/// [`write_package`] for entries that arrive already in wire order
/// ([`cmp_wire`]), as a walk of a tree in that order produces them: memory
/// stays flat however many entries there are. The payload section and
/// `files.json` are spooled to temporary files beside `out_path`, so neither
/// file contents nor per-file hashes are held. An entry out of order, a
/// path given twice or an error from `entries` stops the write and leaves
/// nothing behind.
pub fn write_sorted_package<I, E>(
    manifest: &Manifest,
    entries: I,
    content_root: &Path,
    opts: &PackOptions,
    out_path: &Path,
) -> Result<PackOutcome, ArchiveError>
where
    I: IntoIterator<Item = Result<PayloadEntry, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if !(1..=22).contains(&opts.zstd_level) {
        return Err(ArchiveError::Level(opts.zstd_level));
    }
    let mtime = parse_build_timestamp(&manifest.build.timestamp)? as u64;

    let dir = match out_path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let werr = |error: io::Error| ArchiveError::Write {
        path: out_path.to_path_buf(),
        error,
    };

    // Pass 1: the payload section and files.json, both spooled, hashing
    // each file as it is copied.
    let spool = tempfile::tempfile_in(&dir).map_err(werr)?;
    let mut spool = BufWriter::with_capacity(256 * 1024, spool);
    let files_spool = tempfile::tempfile_in(&dir).map_err(werr)?;
    let mut files =
        FilesManifestWriter::new(BufWriter::with_capacity(64 * 1024, files_spool)).map_err(werr)?;
    let size_installed = spool_payload(
        entries,
        content_root,
        mtime,
        &mut spool,
        &mut files,
        out_path,
    )?;
    let mut spool = spool.into_inner().map_err(|e| werr(e.into_error()))?;
    spool.rewind().map_err(werr)?;
    let (files_spool, files_len) = files.finish().map_err(werr)?;
    let mut files_spool = files_spool.into_inner().map_err(|e| werr(e.into_error()))?;
    files_spool.rewind().map_err(werr)?;
    if files_len > MAX_FILES_MANIFEST_BYTES {
        return Err(ArchiveError::FilesManifestTooLarge { size: files_len });
    }

    let mut manifest = manifest.clone();
    manifest.size_installed = size_installed;
    manifest.schema_version = 1;
    let manifest_bytes = manifest.to_bytes();

    // Pass 2: the archive itself, compressed into a temporary file.
    let tmp = tempfile::Builder::new()
        .prefix(".peipkg-partial-")
        .tempfile_in(&dir)
        .map_err(werr)?;
    let out = HashingWriter::new(BufWriter::with_capacity(
        256 * 1024,
        tmp.as_file().try_clone().map_err(werr)?,
    ));
    let enc = zstd_encoder(out, opts.zstd_level).map_err(werr)?;
    let mut tar = HashingWriter::new(enc);

    let manifest_len = manifest_bytes.len() as u64;
    write_member(
        &mut tar,
        ".peipkg/manifest.json",
        &mut manifest_bytes.as_slice(),
        manifest_len,
        mtime,
    )
    .map_err(werr)?;
    write_member(
        &mut tar,
        ".peipkg/files.json",
        &mut files_spool,
        files_len,
        mtime,
    )
    .map_err(werr)?;
    drop(files_spool);
    io::copy(&mut spool, &mut tar).map_err(werr)?;
    drop(spool);
    let mut signed_by = None;
    if let Some(key) = &opts.signing_key {
        let digest: [u8; 32] = tar.sha.clone().finalize().into();
        let envelope = key.envelope_for_digest(&digest);
        signed_by = Some(envelope.key_fingerprint.clone());
        let bytes = envelope.to_bytes();
        let len = bytes.len() as u64;
        write_member(
            &mut tar,
            ".peipkg/signature",
            &mut bytes.as_slice(),
            len,
            mtime,
        )
        .map_err(werr)?;
    }
    tar.write_all(&[0u8; 2 * BLOCK]).map_err(werr)?;
    let out = tar.inner.finish().map_err(werr)?;
    let size_compressed = out.count;
    let sha256 = hex::encode(out.sha.finalize());
    let file = out.inner.into_inner().map_err(|e| werr(e.into_error()))?;
    // A temporary file is created 0600; a package is public data.
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(std::fs::Permissions::from_mode(0o644))
            .map_err(werr)?;
    }
    file.sync_all().map_err(werr)?;
    tmp.persist(out_path).map_err(|e| werr(e.error))?;
    Ok(PackOutcome {
        path: out_path.to_path_buf(),
        size_compressed,
        sha256,
        manifest,
        signed_by,
    })
}

/// Pass 1 of the writer: the payload tar section into `payload` and each
/// file's `files.json` entry into `files`, hashing every file while it is
/// copied, checking each entry and the order as they come. Returns the
/// installed size. `out_path` names the package being written, for errors.
pub fn spool_payload<I, E, P, F>(
    entries: I,
    content_root: &Path,
    mtime: u64,
    payload: &mut P,
    files: &mut FilesManifestWriter<F>,
    out_path: &Path,
) -> Result<u64, ArchiveError>
where
    I: IntoIterator<Item = Result<PayloadEntry, E>>,
    E: Into<Box<dyn std::error::Error + Send + Sync>>,
    P: Write,
    F: Write,
{
    let werr = |error: io::Error| ArchiveError::Write {
        path: out_path.to_path_buf(),
        error,
    };
    let mut size_installed = 0u64;
    let mut header = Vec::with_capacity(3 * BLOCK);
    let mut buf = vec![0u8; 128 * 1024];
    let mut order = OrderCheck::default();
    for (count, e) in (1u64..).zip(entries) {
        if count > MAX_ENTRIES {
            return Err(ArchiveError::TooManyEntries);
        }
        let e = e.map_err(|e| ArchiveError::Source(e.into()))?;
        check_entry(&e)?;
        order.admit(&e)?;
        let e = &e;
        header.clear();
        entry_header(e, mtime, &mut header);
        payload.write_all(&header).map_err(werr)?;
        if let EntryKind::File { size } = e.kind {
            let source = content_root.join(&e.path);
            let hash = copy_file(&source, size, payload, &mut buf).map_err(|err| match err {
                CopyError::Io(error) => ArchiveError::ReadSource {
                    path: e.path.clone(),
                    source_path: source.clone(),
                    error,
                },
                CopyError::Write(error) => werr(error),
                CopyError::Changed(actual) => ArchiveError::Changed {
                    source_path: source.clone(),
                    expected: size,
                    actual,
                },
            })?;
            payload
                .write_all(&[0u8; BLOCK][..tar_header::padding_for(size)])
                .map_err(werr)?;
            size_installed += size;
            files.push(&e.path, size, &hash).map_err(werr)?;
        }
    }
    Ok(size_installed)
}

/// The zstd encoder every package is compressed with: multi-threaded,
/// fixed jobs, checksummed, the table caps above. One place, so
/// the benchmarks measure exactly what the writer does.
pub fn zstd_encoder<W: Write>(
    out: W,
    level: i32,
) -> io::Result<zstd::stream::write::Encoder<'static, W>> {
    use zstd::stream::raw::CParameter;
    let mut enc = zstd::stream::write::Encoder::new(out, level)?;
    enc.include_checksum(true)?;
    enc.multithread(zstd_workers())?;
    enc.set_parameter(CParameter::JobSize(ZSTD_JOB_BYTES))?;
    if level >= ZSTD_HASH_CAP_FROM_LEVEL {
        enc.set_parameter(CParameter::HashLog(ZSTD_HASH_LOG_CAP))?;
    }
    if ZSTD_TREE_LEVELS.contains(&level) {
        enc.set_parameter(CParameter::ChainLog(ZSTD_CHAIN_LOG_CAP))?;
        enc.set_parameter(CParameter::WindowLog(ZSTD_WINDOW_LOG_CAP))?;
    }
    Ok(enc)
}

/// Append the header block(s) of one payload entry (content excluded).
pub fn entry_header(e: &PayloadEntry, mtime: u64, out: &mut Vec<u8>) {
    let name = wire_name(e);
    let (typeflag, size, linkname) = match &e.kind {
        EntryKind::File { size } => (tar_header::TYPE_FILE, *size, ""),
        EntryKind::Directory => (tar_header::TYPE_DIR, 0, ""),
        EntryKind::Symlink { target } => (tar_header::TYPE_SYMLINK, 0, target.as_str()),
    };
    tar_header::encode(
        &EntryHeader {
            name: &name,
            typeflag,
            size,
            mtime,
            linkname,
        },
        out,
    );
}

/// The name an entry has on the wire, which is also its sort key.
pub fn wire_name(e: &PayloadEntry) -> String {
    match e.kind {
        EntryKind::Directory => format!("{}/", e.path),
        _ => e.path.clone(),
    }
}

/// Orders entries by wire name without building the names: a directory
/// compares as its path followed by `/`.
pub fn cmp_wire(a: &PayloadEntry, b: &PayloadEntry) -> Ordering {
    let slash = |e: &PayloadEntry| {
        if e.kind == EntryKind::Directory {
            &b"/"[..]
        } else {
            &b""[..]
        }
    };
    let (ap, bp) = (a.path.as_bytes(), b.path.as_bytes());
    let n = ap.len().min(bp.len());
    ap[..n].cmp(&bp[..n]).then_with(|| {
        ap[n..]
            .iter()
            .chain(slash(a))
            .cmp(bp[n..].iter().chain(slash(b)))
    })
}

/// One entry's own rules: its path, its size, its link target.
fn check_entry(e: &PayloadEntry) -> Result<(), ArchiveError> {
    check_path(&e.path).map_err(|error| ArchiveError::Path {
        path: e.path.clone(),
        error,
    })?;
    match &e.kind {
        EntryKind::File { size } if *size > MAX_USTAR_SIZE => Err(ArchiveError::TooLarge {
            path: e.path.clone(),
            size: *size,
        }),
        EntryKind::Symlink { target } => {
            check_symlink(&e.path, target)
                .map(drop)
                .map_err(|reason| ArchiveError::Symlink {
                    path: e.path.clone(),
                    reason,
                })
        }
        _ => Ok(()),
    }
}

/// Checks that entries come in strictly increasing wire order with no path
/// twice, holding only the previous entry and a short stack.
///
/// Equal wire names are the same path twice. The one duplicate that is not
/// adjacent is a non-directory `P` and a directory `P` (wire name `P/`):
/// every entry between them starts with `P`, and any entry that does not
/// start with `P` sorts after `P/`, so a non-directory stays a candidate
/// only while the entries after it extend its path.
#[derive(Default)]
struct OrderCheck {
    previous: Option<PayloadEntry>,
    open_leaves: Vec<String>,
}

impl OrderCheck {
    fn admit(&mut self, e: &PayloadEntry) -> Result<(), ArchiveError> {
        if let Some(prev) = &self.previous {
            match cmp_wire(prev, e) {
                Ordering::Less => {}
                Ordering::Equal => return Err(ArchiveError::Duplicate(e.path.clone())),
                Ordering::Greater => {
                    return Err(ArchiveError::Order {
                        previous: wire_name(prev),
                        next: wire_name(e),
                    })
                }
            }
        }
        while let Some(top) = self.open_leaves.last() {
            if e.path.starts_with(top.as_str()) {
                break;
            }
            self.open_leaves.pop();
        }
        if e.kind == EntryKind::Directory {
            if self.open_leaves.last() == Some(&e.path) {
                return Err(ArchiveError::Duplicate(e.path.clone()));
            }
        } else {
            self.open_leaves.push(e.path.clone());
        }
        self.previous = Some(e.clone());
        Ok(())
    }
}

/// A metadata member: header, `len` bytes of content, padding.
fn write_member(
    w: &mut impl Write,
    name: &str,
    content: &mut impl Read,
    len: u64,
    mtime: u64,
) -> io::Result<()> {
    let mut header = Vec::with_capacity(BLOCK);
    tar_header::encode(
        &EntryHeader {
            name,
            typeflag: tar_header::TYPE_FILE,
            size: len,
            mtime,
            linkname: "",
        },
        &mut header,
    );
    w.write_all(&header)?;
    let copied = io::copy(&mut content.take(len), w)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("{name}: {copied} of {len} bytes"),
        ));
    }
    w.write_all(&[0u8; BLOCK][..tar_header::padding_for(len)])
}

enum CopyError {
    Io(io::Error),
    Write(io::Error),
    Changed(u64),
}

/// Copy exactly `size` bytes of `source` into `out` through `buf`,
/// returning the SHA-256. Opens without following a symlink, so a file
/// swapped for a link after the walk is refused rather than followed.
fn copy_file(
    source: &Path,
    size: u64,
    out: &mut impl Write,
    buf: &mut [u8],
) -> Result<[u8; 32], CopyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(source)
        .map_err(CopyError::Io)?;
    let mut sha = Sha256::new();
    let mut left = size;
    while left > 0 {
        let want = buf.len().min(left as usize);
        let n = match f.read(&mut buf[..want]) {
            Ok(0) => return Err(CopyError::Changed(size - left)),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CopyError::Io(e)),
        };
        sha.update(&buf[..n]);
        out.write_all(&buf[..n]).map_err(CopyError::Write)?;
        left -= n as u64;
    }
    let mut probe = [0u8; 1];
    match f.read(&mut probe) {
        Ok(0) => Ok(sha.finalize().into()),
        Ok(_) => {
            let actual = f.metadata().map(|m| m.len()).unwrap_or(size + 1);
            Err(CopyError::Changed(actual))
        }
        Err(e) => Err(CopyError::Io(e)),
    }
}

/// Used by tests and fuzz seeds: a whole package in memory.
#[doc(hidden)]
pub fn encode_member_for_tests(name: &str, content: &[u8], mtime: u64) -> Vec<u8> {
    let mut v = Vec::new();
    write_member(&mut v, name, &mut { content }, content.len() as u64, mtime)
        .expect("writing to a Vec cannot fail");
    v
}

/// Compress a raw tar stream the way [`write_package`] does (for tests that
/// build deliberately broken archives).
#[doc(hidden)]
pub fn compress_for_tests(tar: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(tar, 3).expect("compressing a Vec cannot fail")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    fn compress(data: &[u8], workers: u32, level: i32) -> Vec<u8> {
        compress_in(data, workers, level, 70_001)
    }

    fn compress_in(data: &[u8], workers: u32, level: i32, chunk: usize) -> Vec<u8> {
        let mut enc = super::zstd_encoder(Vec::new(), level).unwrap();
        enc.multithread(workers).unwrap();
        // Uneven write sizes, as the archive writer produces.
        for chunk in data.chunks(chunk) {
            enc.write_all(chunk).unwrap();
        }
        enc.finish().unwrap()
    }

    fn manifest() -> crate::documents::Manifest {
        crate::documents::Manifest::decode(
            br#"{"schema_version":1,"name":"tt","version":"1-1","architecture":"noarch","dependencies":[],"conflicts":[],"size_installed":0,"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"f","source_ref":"r"}}"#,
        )
        .unwrap()
    }

    fn entry(path: &str, kind: super::EntryKind) -> super::PayloadEntry {
        super::PayloadEntry {
            path: path.into(),
            kind,
        }
    }

    /// Streams `entries` as given; returns the error and checks that
    /// nothing (no package, no temporary file) was left in the directory.
    fn stream_error(entries: Vec<Result<super::PayloadEntry, std::io::Error>>) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("out")).unwrap();
        std::fs::create_dir_all(dir.path().join("root/usr/share")).unwrap();
        std::fs::write(dir.path().join("root/usr/share/f"), b"x").unwrap();
        let out = dir.path().join("out/t.peipkg");
        let err = super::write_sorted_package(
            &manifest(),
            entries,
            &dir.path().join("root"),
            &super::PackOptions::default(),
            &out,
        )
        .unwrap_err();
        assert_eq!(
            std::fs::read_dir(dir.path().join("out")).unwrap().count(),
            0
        );
        err.to_string()
    }

    #[test]
    fn sorted_stream_refuses_disorder_duplicates_and_source_errors() {
        use super::EntryKind::{Directory, File, Symlink};
        let link = || Symlink { target: "f".into() };
        let msg = stream_error(vec![
            Ok(entry("usr", Directory)),
            Ok(entry("usr/share", Directory)),
            Ok(entry("usr/share/f", File { size: 1 })),
            Ok(entry("usr/share/a", link())),
        ]);
        assert!(
            msg.contains("out of order: \"usr/share/a\" came after \"usr/share/f\""),
            "{msg}"
        );
        // A file and a directory of the same name, with entries between.
        let msg = stream_error(vec![
            Ok(entry("usr", Directory)),
            Ok(entry("usr/share", Directory)),
            Ok(entry("usr/share/d", link())),
            Ok(entry("usr/share/d-x", link())),
            Ok(entry("usr/share/d.y", link())),
            Ok(entry("usr/share/d", Directory)),
        ]);
        assert!(
            msg.contains("\"usr/share/d\" appears more than once"),
            "{msg}"
        );
        let msg = stream_error(vec![
            Ok(entry("usr", Directory)),
            Ok(entry("usr", Directory)),
        ]);
        assert!(msg.contains("\"usr\" appears more than once"), "{msg}");
        let msg = stream_error(vec![
            Ok(entry("usr", Directory)),
            Err(std::io::Error::other("the walk failed here")),
        ]);
        assert_eq!(msg, "the walk failed here");
    }

    #[test]
    fn more_entries_than_consumers_accept_are_refused() {
        use super::EntryKind::Directory;
        let dirs = |n: u64| {
            let head = [
                Ok(entry("usr", Directory)),
                Ok(entry("usr/share", Directory)),
            ];
            head.into_iter()
                .chain((0..n - 2).map(|i| Ok(entry(&format!("usr/share/{i:06}"), Directory))))
        };
        let msg = stream_error(dirs(super::MAX_ENTRIES + 1).collect());
        assert!(msg.contains("more than 100000 entries"), "{msg}");
        let dir = tempfile::tempdir().unwrap();
        let written = super::write_sorted_package(
            &manifest(),
            dirs(super::MAX_ENTRIES),
            dir.path(),
            &super::PackOptions {
                zstd_level: 1,
                signing_key: None,
            },
            &dir.path().join("t.peipkg"),
        );
        assert!(written.is_ok(), "{written:?}");
        // Exactly at the limit, and the verifier agrees.
        let verified = super::super::verify_package(
            &dir.path().join("t.peipkg"),
            &super::super::VerifyOptions::default(),
        );
        assert!(verified.is_ok(), "{verified:?}");
    }

    #[test]
    fn unsorted_vec_is_sorted_and_duplicates_still_caught() {
        use super::EntryKind::{Directory, File};
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("usr/share")).unwrap();
        std::fs::write(dir.path().join("usr/share/f"), b"x").unwrap();
        let write = |entries| {
            super::write_package(
                &manifest(),
                entries,
                dir.path(),
                &super::PackOptions::default(),
                &dir.path().join("t.peipkg"),
            )
        };
        let ok = write(vec![
            entry("usr/share/f", File { size: 1 }),
            entry("usr/share", Directory),
            entry("usr", Directory),
        ]);
        assert!(ok.is_ok(), "{ok:?}");
        let err = write(vec![
            entry("usr/share", Directory),
            entry("usr", Directory),
            entry(
                "usr/share",
                super::EntryKind::Symlink {
                    target: "bin/x".into(),
                },
            ),
        ])
        .unwrap_err();
        assert!(
            matches!(err, super::ArchiveError::Duplicate(ref p) if p == "usr/share"),
            "{err}"
        );
    }

    /// The streaming duplicate check (previous entry plus a stack of open
    /// leaves) against a set of every path, on many random sorted payloads
    /// over an alphabet that makes `P`, `P-x`, `P.x` and `P/` neighbours.
    #[test]
    fn order_check_finds_exactly_the_duplicates_a_set_finds() {
        use super::{cmp_wire, EntryKind, OrderCheck, PayloadEntry};
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let segments = ["a", "a-", "a.", "b", "a0"];
        for _ in 0..3000 {
            let n = 1 + next() % 8;
            let mut entries: Vec<PayloadEntry> = (0..n)
                .map(|_| {
                    let depth = 1 + next() % 3;
                    let path = (0..depth)
                        .map(|_| segments[(next() % segments.len() as u64) as usize])
                        .collect::<Vec<_>>()
                        .join("/");
                    let kind = match next() % 3 {
                        0 => EntryKind::Directory,
                        1 => EntryKind::File { size: 0 },
                        _ => EntryKind::Symlink { target: "t".into() },
                    };
                    PayloadEntry { path, kind }
                })
                .collect();
            entries.sort_by(cmp_wire);
            let mut set = std::collections::HashSet::new();
            let has_duplicate = !entries.iter().all(|e| set.insert(e.path.clone()));
            let mut check = OrderCheck::default();
            let refused = entries.iter().any(|e| check.admit(e).is_err());
            assert_eq!(refused, has_duplicate, "{entries:?}");
        }
    }

    #[test]
    fn cmp_wire_orders_like_the_wire_names() {
        use super::{cmp_wire, wire_name, EntryKind, PayloadEntry};
        let names = [
            "a",
            "a-b",
            "a.c",
            "a/x",
            "a0",
            "ab",
            "b",
            "lib",
            "lib-extra",
            "lib.d",
            "lib/x",
            "é",
        ];
        let mut entries = Vec::new();
        for (i, n) in names.iter().enumerate() {
            let kind = match i % 3 {
                0 => EntryKind::Directory,
                1 => EntryKind::File { size: 0 },
                _ => EntryKind::Symlink { target: "t".into() },
            };
            entries.push(PayloadEntry {
                path: n.to_string(),
                kind,
            });
        }
        let mut by_key = entries.clone();
        by_key.sort_by_key(wire_name);
        for _ in 0..3 {
            entries.rotate_left(5);
            let mut sorted = entries.clone();
            sorted.sort_by(cmp_wire);
            assert_eq!(sorted, by_key);
        }
    }

    /// The property reproducibility rests on: once zstd runs multi-threaded,
    /// the bytes depend on its parameters, not on how many workers run.
    #[test]
    fn output_does_not_depend_on_worker_count() {
        let mut data = Vec::new();
        let mut x = 1u64;
        while data.len() < 9 << 20 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if x.is_multiple_of(3) {
                data.extend_from_slice(&x.to_le_bytes());
            } else {
                data.extend_from_slice(b"text text payload ");
            }
        }
        for level in [1, 3, 9, 13] {
            let one = compress(&data, 1, level);
            assert_eq!(
                one,
                compress(&data, 2, level),
                "level {level}: 1 vs 2 workers"
            );
            assert_eq!(
                one,
                compress(&data, 4, level),
                "level {level}: 1 vs 4 workers"
            );
        }
    }
}
