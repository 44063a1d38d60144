//! The streaming package verifier: PSD-009 §3.5.3's eight steps in one pass.
//!
//! The compressed bytes are hashed (package hash, step 1) while zstd
//! decompresses them; the tar bytes before `.peipkg/signature` are hashed
//! for the signature (step 3); each payload file is hashed as it streams by
//! (step 7). Nothing is buffered beyond one entry's metadata document.
//!
//! Errors come in two kinds. A broken container (bad zstd, bad header, a
//! bound crossed, entries out of place) stops the walk at once. A content
//! problem (a file hash, a path rule, the manifest schema) is remembered and
//! the walk goes on, so that the error reported follows the spec's order: a
//! wrong package hash first, then the signature, then content. A tampered
//! signed package is therefore reported as a bad signature, which is what
//! the tampering broke.

use super::hashing_io::{CompressedLimit, HashingReader};
use super::signed_digest::SignedDigest;
use super::tar_header::{self, RawHeader, BLOCK};
use crate::documents::files_manifest::{FilesManifestError, MAX_FILES_MANIFEST_BYTES};
use crate::documents::manifest::{ManifestDecodeError, MAX_MANIFEST_BYTES};
use crate::documents::signature::MAX_ENVELOPE_BYTES;
use crate::documents::{FilesManifest, Manifest};
use crate::keys::{PublicKey, SignatureError};
use crate::layout::{check_path, check_symlink, PathError, SymlinkAncestors};
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Payload entries a consumer must accept at most (PSD-009 §3.2.8).
pub const MAX_ENTRIES: u64 = 100_000;
/// Default absolute cap on decompressed bytes (PSD-009 §3.5.4).
pub const DEFAULT_DECOMPRESSED_CAP: u64 = 4 << 30;
/// Allowance above `size_installed` for headers and metadata (§3.5.4).
pub const DECOMPRESSED_ALLOWANCE: u64 = 320 << 20;
/// PAX extended headers longer than this are refused: ours carry one path.
const MAX_PAX_BYTES: u64 = 64 * 1024;

/// What to check a package against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Keys whose signatures are accepted. Empty: the envelope is still
    /// parsed strictly, but the signature is reported as not checked.
    pub trusted_keys: Vec<PublicKey>,
    /// Reject a package with no `.peipkg/signature` (§5.3.3 condition 1).
    pub require_signature: bool,
    /// The package hash the repository index records (§3.5.3 step 2).
    pub expected_sha256: Option<String>,
    /// Index-declared sizes bounding decompression (§3.5.4).
    pub expected_size_compressed: Option<u64>,
    pub expected_size_installed: Option<u64>,
    /// Absolute decompressed cap (§3.5.4 bound 2).
    pub decompressed_cap: u64,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            trusted_keys: Vec::new(),
            require_signature: false,
            expected_sha256: None,
            expected_size_compressed: None,
            expected_size_installed: None,
            decompressed_cap: DEFAULT_DECOMPRESSED_CAP,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureStatus {
    Unsigned,
    /// Verified against one of the trusted keys.
    Verified {
        fingerprint: String,
    },
    /// Well-formed envelope, but no trusted keys were given to check it.
    NotChecked {
        fingerprint: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadKind {
    File,
    Directory,
    Symlink,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadSummary {
    pub path: String,
    pub kind: PayloadKind,
    pub size: u64,
    pub link_target: Option<String>,
}

/// A package that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedPackage {
    pub manifest: Manifest,
    pub manifest_warnings: Vec<String>,
    pub files: FilesManifest,
    pub payload: Vec<PayloadSummary>,
    pub signature: SignatureStatus,
    /// Lowercase hex SHA-256 of the `.peipkg` file.
    pub sha256: String,
    pub size_compressed: u64,
    pub size_uncompressed: u64,
}

impl VerifiedPackage {
    /// The fingerprint of the key that signed, if the package is signed.
    pub fn signer(&self) -> Option<&str> {
        match &self.signature {
            SignatureStatus::Unsigned => None,
            SignatureStatus::Verified { fingerprint }
            | SignatureStatus::NotChecked { fingerprint } => Some(fingerprint),
        }
    }
}

/// One distinct error per way a package can fail verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("read {path}: {error}")]
    Io { path: PathBuf, error: io::Error },
    #[error("package hash is {actual}, the index says {expected} (PSD-009 §3.5.3 step 2)")]
    PackageHash { expected: String, actual: String },
    #[error("package is unsigned, and a signature is required (PSD-009 §5.3.3 condition 1)")]
    Unsigned,
    #[error("signature: {0}")]
    Signature(#[from] SignatureError),
    #[error("zstd stream is corrupt or truncated: {0}")]
    Decompress(String),
    #[error("compressed size exceeds the bound of {0} bytes (PSD-009 §3.5.4)")]
    CompressedBound(u64),
    #[error("decompressed size exceeds the bound of {0} bytes: possible decompression bomb (PSD-009 §3.5.4)")]
    DecompressedBound(u64),
    #[error("tar stream ends before its end-of-archive blocks (truncated package)")]
    Truncated,
    #[error("tar header at byte {offset}: {reason}")]
    Header { offset: u64, reason: String },
    #[error("entry {path:?} is not allowed here: {reason} (PSD-009 §3.2.3)")]
    Layout { path: String, reason: String },
    #[error("entry .peipkg/{0} is {1} bytes, over its limit (PSD-009 §3.2.8)")]
    MetadataTooLarge(String, u64),
    #[error("more than {MAX_ENTRIES} payload entries (PSD-009 §3.2.8)")]
    TooManyEntries,
    #[error("entry {path:?} has type {typeflag:?}; only regular files, directories and symlinks are allowed (PSD-009 §3.2.5)")]
    EntryType { path: String, typeflag: char },
    #[error("entry {path:?} has the setuid or setgid bit set (mode {mode:o}; PSD-009 §3.4.6)")]
    Setuid { path: String, mode: u64 },
    #[error("entry {path:?} has mode {mode:o}; every entry must be 0777 (PSD-009 §3.4.6)")]
    Mode { path: String, mode: u64 },
    #[error("entry {path:?} carries PAX record {key:?}; only path and linkpath are allowed (PSD-009 §3.1.4)")]
    PaxRecord { path: String, key: String },
    #[error("payload path {path:?} {error}")]
    Path { path: String, error: PathError },
    #[error("payload path is not valid UTF-8: {0:?} (PSD-009 §3.2.7)")]
    NotUtf8(String),
    #[error("payload entries are not sorted: {prev:?} then {next:?} (PSD-009 §3.1.4)")]
    Order { prev: String, next: String },
    #[error("payload path {0:?} appears more than once")]
    Duplicate(String),
    #[error("symlink {path:?}: {reason}")]
    Symlink { path: String, reason: String },
    #[error("payload path {path:?} {}", crate::layout::under_symlink_rule(.link))]
    UnderSymlink { path: String, link: String },
    #[error("manifest: {0}")]
    ManifestDecode(#[from] ManifestDecodeError),
    #[error("manifest breaks PSD-009 rules: {}", .0.join("; "))]
    ManifestInvalid(Vec<String>),
    #[error("{0}")]
    FilesManifest(#[from] FilesManifestError),
    #[error("payload file {0:?} has no entry in files.json (PSD-009 §3.5.2)")]
    Unlisted(String),
    #[error("files.json lists {0:?}, which is not a regular file in the payload (PSD-009 §3.5.2)")]
    Missing(String),
    #[error("payload file {path:?} is {actual} bytes, files.json says {listed}")]
    Size {
        path: String,
        listed: u64,
        actual: u64,
    },
    #[error("payload file {0:?} does not match its files.json hash (PSD-009 §3.5.3 step 7)")]
    Hash(String),
    #[error("manifest size_installed is {declared}, the payload files add up to {actual} (PSD-009 §3.3.6)")]
    SizeInstalled { declared: u64, actual: u64 },
}

/// Verify the package file at `path`.
///
/// The file is opened non-blocking and must be a regular file: a FIFO or a
/// device named like a package would otherwise block the reader for ever.
pub fn verify_package(path: &Path, opts: &VerifyOptions) -> Result<VerifiedPackage, VerifyError> {
    use std::os::unix::fs::OpenOptionsExt;
    let io_err = |error| VerifyError::Io {
        path: path.to_path_buf(),
        error,
    };
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(io_err)?;
    if !f.metadata().map_err(io_err)?.is_file() {
        return Err(io_err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file (a package must be one)",
        )));
    }
    verify_reader(f, opts).map_err(|e| match e {
        VerifyError::Io { error, .. } => VerifyError::Io {
            path: path.to_path_buf(),
            error,
        },
        other => other,
    })
}

/// Verify a package read from any byte source.
pub fn verify_reader<R: Read>(
    input: R,
    opts: &VerifyOptions,
) -> Result<VerifiedPackage, VerifyError> {
    let compressed_limit = opts
        .expected_size_compressed
        .map(|s| s + (s / 100).min(16 << 20));
    let hashing = HashingReader {
        inner: input,
        sha: Sha256::new(),
        count: 0,
        limit: compressed_limit,
    };
    let decoder = zstd::stream::read::Decoder::new(hashing).map_err(map_io)?;
    let mut cap = opts.decompressed_cap;
    if let Some(si) = opts.expected_size_installed {
        cap = cap.min(si.saturating_add(DECOMPRESSED_ALLOWANCE));
    }
    // The walker reads headers a block at a time; a large buffer keeps
    // those small reads from each becoming a zstd call.
    let mut w = Walker {
        src: io::BufReader::with_capacity(256 * 1024, decoder),
        offset: 0,
        cap,
        signed: SignedDigest::new(),
        signing: true,
        deferred: None,
    };
    let walked = w.walk(opts)?;
    // Drain: nothing but zero padding may follow the end-of-archive blocks,
    // and the whole compressed file must be consumed and hashed.
    let mut buf = [0u8; BLOCK];
    loop {
        let n = w.read_some(&mut buf)?;
        if n == 0 {
            break;
        }
        if buf[..n].iter().any(|&b| b != 0) {
            return Err(VerifyError::Header {
                offset: w.offset,
                reason: "data after the end-of-archive blocks".into(),
            });
        }
    }
    let mut rest = w.src.into_inner().finish();
    io::copy(&mut rest, &mut io::sink()).map_err(map_io)?;
    let hashing = rest.into_inner();
    let sha256 = hex::encode(hashing.sha.clone().finalize());
    let size_compressed = hashing.count;
    let signed_digest = w.signed.finish();

    // Report in the spec's order: package hash, signature, content.
    if let Some(expected) = &opts.expected_sha256 {
        if !expected.eq_ignore_ascii_case(&sha256) {
            return Err(VerifyError::PackageHash {
                expected: expected.clone(),
                actual: sha256,
            });
        }
    }
    let signature = match &walked.envelope {
        None if opts.require_signature => return Err(VerifyError::Unsigned),
        None => SignatureStatus::Unsigned,
        Some(env) if opts.trusted_keys.is_empty() => {
            let (env, _) =
                crate::documents::SignatureEnvelope::decode(env).map_err(SignatureError::from)?;
            SignatureStatus::NotChecked {
                fingerprint: env.key_fingerprint,
            }
        }
        Some(env) => SignatureStatus::Verified {
            fingerprint: crate::keys::verify_envelope(env, &signed_digest, &opts.trusted_keys)?,
        },
    };
    if let Some(e) = w.deferred {
        return Err(e);
    }
    let (manifest, manifest_warnings) = walked.manifest;
    Ok(VerifiedPackage {
        manifest,
        manifest_warnings,
        files: walked.files,
        payload: walked.payload,
        signature,
        sha256,
        size_compressed,
        size_uncompressed: w.offset,
    })
}

fn map_io(e: io::Error) -> VerifyError {
    if let Some(limit) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<CompressedLimit>())
    {
        return VerifyError::CompressedBound(limit.0);
    }
    if e.kind() == io::ErrorKind::UnexpectedEof {
        return VerifyError::Truncated;
    }
    VerifyError::Decompress(e.to_string())
}

struct Walked {
    manifest: (Manifest, Vec<String>),
    files: FilesManifest,
    payload: Vec<PayloadSummary>,
    envelope: Option<Vec<u8>>,
}

/// One parsed entry: its header, with PAX overrides applied.
struct Entry {
    header: RawHeader,
    name: String,
    link: String,
}

struct Walker<R: Read> {
    src: R,
    offset: u64,
    cap: u64,
    signed: SignedDigest,
    /// Whether consumed bytes still count towards the signed digest.
    signing: bool,
    deferred: Option<VerifyError>,
}

impl<R: Read> Walker<R> {
    fn defer(&mut self, e: VerifyError) {
        if self.deferred.is_none() {
            self.deferred = Some(e);
        }
    }

    fn read_some(&mut self, buf: &mut [u8]) -> Result<usize, VerifyError> {
        let n = loop {
            match self.src.read(buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(map_io(e)),
            }
        };
        self.offset += n as u64;
        if self.offset > self.cap {
            return Err(VerifyError::DecompressedBound(self.cap));
        }
        if self.signing {
            self.signed.update(&buf[..n]);
        }
        Ok(n)
    }

    fn read_exact(&mut self, buf: &mut [u8]) -> Result<(), VerifyError> {
        let mut done = 0;
        while done < buf.len() {
            let n = self.read_some(&mut buf[done..])?;
            if n == 0 {
                return Err(VerifyError::Truncated);
            }
            done += n;
        }
        Ok(())
    }

    /// Read a member's content (bounded by `limit`) plus its padding.
    fn read_content(&mut self, size: u64, limit: u64, what: &str) -> Result<Vec<u8>, VerifyError> {
        if size > limit {
            return Err(VerifyError::MetadataTooLarge(what.to_string(), size));
        }
        let mut v = vec![0u8; size as usize];
        self.read_exact(&mut v)?;
        self.skip_padding(size)?;
        Ok(v)
    }

    fn skip_padding(&mut self, size: u64) -> Result<(), VerifyError> {
        let pad = tar_header::padding_for(size);
        let mut buf = [0u8; BLOCK];
        self.read_exact(&mut buf[..pad])
    }

    /// Stream `size` bytes through a hasher without keeping them.
    fn hash_content(&mut self, size: u64) -> Result<String, VerifyError> {
        let mut sha = Sha256::new();
        let mut buf = vec![0u8; 64 * 1024];
        let mut left = size;
        while left > 0 {
            let want = buf.len().min(left as usize);
            self.read_exact(&mut buf[..want])?;
            sha.update(&buf[..want]);
            left -= want as u64;
        }
        self.skip_padding(size)?;
        Ok(hex::encode(sha.finalize()))
    }

    /// The next entry, or None at the end-of-archive marker.
    fn next_entry(&mut self) -> Result<Option<Entry>, VerifyError> {
        let start = self.offset;
        let mut block = [0u8; BLOCK];
        // Peek one block without counting it as signed yet: the signature
        // entry's header is not part of the signed bytes.
        let was_signing = self.signing;
        self.signing = false;
        self.read_exact(&mut block)?;
        self.signing = was_signing;
        if block.iter().all(|&b| b == 0) {
            let mut second = [0u8; BLOCK];
            self.read_exact(&mut second)?;
            if second.iter().any(|&b| b != 0) {
                return Err(VerifyError::Header {
                    offset: start,
                    reason: "a lone zero block inside the archive".into(),
                });
            }
            return Ok(None);
        }
        let header_err = |offset: u64, reason: String| VerifyError::Header { offset, reason };
        let mut raw = tar_header::decode(&block).map_err(|e| header_err(start, e.to_string()))?;
        let mut pax_path = None;
        let mut pax_link = None;
        let mut is_signature =
            raw.typeflag != tar_header::TYPE_PAX && raw.name == b".peipkg/signature";
        if raw.typeflag == tar_header::TYPE_PAX {
            if self.signing {
                self.signed.update(&block);
            }
            if raw.size > MAX_PAX_BYTES {
                return Err(header_err(
                    start,
                    format!("PAX header of {} bytes", raw.size),
                ));
            }
            let data = self.read_content(raw.size, MAX_PAX_BYTES, "PAX header")?;
            let records = tar_header::parse_pax_records(&data).map_err(|r| header_err(start, r))?;
            for (key, value) in records {
                match key.as_str() {
                    "path" => pax_path = Some(value),
                    "linkpath" => pax_link = Some(value),
                    _ => {
                        return Err(VerifyError::PaxRecord {
                            path: String::from_utf8_lossy(&raw.name).into_owned(),
                            key,
                        })
                    }
                }
            }
            let at = self.offset;
            self.signing = false;
            self.read_exact(&mut block)?;
            self.signing = was_signing;
            raw = tar_header::decode(&block).map_err(|e| header_err(at, e.to_string()))?;
            if raw.typeflag == tar_header::TYPE_PAX {
                return Err(header_err(at, "two PAX headers in a row".into()));
            }
            is_signature = false;
        }
        if is_signature {
            self.signing = false;
        }
        if self.signing {
            self.signed.update(&block);
        }
        if !raw.magic_ok {
            return Err(header_err(
                start,
                "magic is not \"ustar\\0\" version \"00\" (PSD-009 §3.1.4)".into(),
            ));
        }
        if let Some(p) = pax_path {
            raw.name = p;
        }
        if let Some(l) = pax_link {
            raw.linkname = l;
        }
        let name = match String::from_utf8(raw.name.clone()) {
            Ok(s) => s,
            Err(_) => {
                return Err(VerifyError::NotUtf8(
                    String::from_utf8_lossy(&raw.name).into_owned(),
                ))
            }
        };
        let link = match String::from_utf8(raw.linkname.clone()) {
            Ok(s) => s,
            Err(_) => {
                return Err(VerifyError::NotUtf8(
                    String::from_utf8_lossy(&raw.linkname).into_owned(),
                ))
            }
        };
        Ok(Some(Entry {
            header: raw,
            name,
            link,
        }))
    }

    fn check_mode(&mut self, e: &Entry) {
        let mode = e.header.mode;
        if mode & 0o6000 != 0 {
            self.defer(VerifyError::Setuid {
                path: e.name.clone(),
                mode,
            });
        } else if mode != 0o777 {
            self.defer(VerifyError::Mode {
                path: e.name.clone(),
                mode,
            });
        }
    }

    fn expect_metadata(&mut self, want: &str, limit: u64) -> Result<Vec<u8>, VerifyError> {
        let e = self.next_entry()?.ok_or(VerifyError::Truncated)?;
        if e.name != want || !is_file(e.header.typeflag) {
            return Err(VerifyError::Layout {
                path: e.name,
                reason: format!("expected {want} here"),
            });
        }
        self.check_mode(&e);
        self.read_content(e.header.size, limit, want.trim_start_matches(".peipkg/"))
    }

    fn walk(&mut self, opts: &VerifyOptions) -> Result<Walked, VerifyError> {
        let manifest_bytes = self.expect_metadata(".peipkg/manifest.json", MAX_MANIFEST_BYTES)?;
        let manifest = match Manifest::decode(&manifest_bytes) {
            Ok(m) => {
                self.cap = self
                    .cap
                    .min(m.size_installed.saturating_add(DECOMPRESSED_ALLOWANCE));
                let report = m.validate();
                if !report.is_ok() {
                    self.defer(VerifyError::ManifestInvalid(report.errors));
                }
                Some((m, report.warnings))
            }
            Err(e) => {
                self.defer(e.into());
                None
            }
        };
        let files_bytes = self.expect_metadata(".peipkg/files.json", MAX_FILES_MANIFEST_BYTES)?;
        let files = match FilesManifest::decode(&files_bytes) {
            Ok(f) => Some(f),
            Err(e) => {
                self.defer(e.into());
                None
            }
        };
        // Up to 64 MiB of JSON, no longer needed once decoded.
        drop(files_bytes);
        let listed: &[crate::documents::FileEntry] = files.as_ref().map_or(&[], |f| &f.entries);
        let mut cursor = 0usize;
        let mut payload = Vec::new();
        // Paths seen so far, as 128-bit digests: a hostile package may carry
        // 100,000 paths of 4 KiB each, and only identity matters here.
        let mut seen: HashSet<[u8; 16]> = HashSet::new();
        let mut prev_wire: Option<String> = None;
        let mut in_payload = false;
        let mut envelope = None;
        let mut total_size = 0u64;
        let mut links = SymlinkAncestors::new();

        while let Some(e) = self.next_entry()? {
            if envelope.is_some() {
                return Err(VerifyError::Layout {
                    path: e.name,
                    reason: ".peipkg/signature must be the last entry (PSD-009 §5.3.3 condition 2)"
                        .into(),
                });
            }
            if e.name == ".peipkg/signature" {
                if !is_file(e.header.typeflag) {
                    return Err(VerifyError::Layout {
                        path: e.name,
                        reason: "the signature must be a regular file".into(),
                    });
                }
                self.check_mode(&e);
                envelope = Some(self.read_content(
                    e.header.size,
                    MAX_ENVELOPE_BYTES as u64,
                    "signature",
                )?);
                continue;
            }
            if e.name.starts_with(".peipkg/") {
                if in_payload
                    || !is_file(e.header.typeflag)
                    || e.name == ".peipkg/manifest.json"
                    || e.name == ".peipkg/files.json"
                {
                    return Err(VerifyError::Layout {
                        path: e.name,
                        reason:
                            "metadata entries go between files.json and the first payload entry"
                                .into(),
                    });
                }
                // An extension entry from a later spec version: ignored.
                self.read_content(e.header.size, MAX_FILES_MANIFEST_BYTES, "extension")?;
                continue;
            }
            in_payload = true;
            if payload.len() as u64 >= MAX_ENTRIES {
                return Err(VerifyError::TooManyEntries);
            }
            self.check_mode(&e);
            let kind = match e.header.typeflag {
                tar_header::TYPE_FILE | tar_header::TYPE_FILE_OLD => PayloadKind::File,
                tar_header::TYPE_DIR => PayloadKind::Directory,
                tar_header::TYPE_SYMLINK => PayloadKind::Symlink,
                other => {
                    return Err(VerifyError::EntryType {
                        path: e.name,
                        typeflag: other as char,
                    })
                }
            };
            let wire = e.name.clone();
            if let Some(prev) = &prev_wire {
                // Order and uniqueness are container structure: once they
                // fail, the files.json walk below would only add noise.
                if prev.as_bytes() >= wire.as_bytes() {
                    if *prev == wire {
                        return Err(VerifyError::Duplicate(wire));
                    }
                    return Err(VerifyError::Order {
                        prev: prev.clone(),
                        next: wire,
                    });
                }
            }
            prev_wire = Some(wire.clone());
            let path = match kind {
                PayloadKind::Directory => match wire.strip_suffix('/') {
                    Some(p) => p.to_string(),
                    None => {
                        self.defer(VerifyError::Layout {
                            path: wire.clone(),
                            reason: "a directory entry's name must end with '/'".into(),
                        });
                        wire.clone()
                    }
                },
                _ => wire.clone(),
            };
            if let Err(error) = check_path(&path) {
                self.defer(VerifyError::Path {
                    path: path.clone(),
                    error,
                });
            }
            let digest: [u8; 32] = Sha256::digest(path.as_bytes()).into();
            let mut key = [0u8; 16];
            key.copy_from_slice(&digest[..16]);
            if !seen.insert(key) {
                return Err(VerifyError::Duplicate(path));
            }
            if let Some(link) = links.link_above(&path) {
                self.defer(VerifyError::UnderSymlink {
                    path: path.clone(),
                    link,
                });
            }
            if kind == PayloadKind::Symlink {
                links.add_link(&path);
            }
            let size = if kind == PayloadKind::File {
                e.header.size
            } else {
                0
            };
            match kind {
                PayloadKind::File => {
                    let hash = self.hash_content(size)?;
                    total_size += size;
                    while cursor < listed.len() && listed[cursor].path.as_bytes() < path.as_bytes()
                    {
                        self.defer(VerifyError::Missing(listed[cursor].path.clone()));
                        cursor += 1;
                    }
                    match listed.get(cursor) {
                        Some(l) if l.path == path => {
                            if l.size != size {
                                self.defer(VerifyError::Size {
                                    path: path.clone(),
                                    listed: l.size,
                                    actual: size,
                                });
                            } else if l.hash != hash {
                                self.defer(VerifyError::Hash(path.clone()));
                            }
                            cursor += 1;
                        }
                        _ if files.is_some() => self.defer(VerifyError::Unlisted(path.clone())),
                        _ => {}
                    }
                }
                other => {
                    if e.header.size != 0 {
                        // Content on a directory or link would be skipped by
                        // most readers: refuse it rather than guess.
                        return Err(VerifyError::Layout {
                            path,
                            reason: format!(
                                "{other:?} entry declares {} content bytes",
                                e.header.size
                            ),
                        });
                    }
                    if other == PayloadKind::Symlink {
                        if let Err(reason) = check_symlink(&path, &e.link) {
                            self.defer(VerifyError::Symlink {
                                path: path.clone(),
                                reason,
                            });
                        }
                    }
                }
            }
            payload.push(PayloadSummary {
                path,
                kind,
                size,
                link_target: (kind == PayloadKind::Symlink).then(|| e.link.clone()),
            });
        }
        if envelope.is_none() {
            // An unsigned archive: the signed-bytes hash is unused.
            self.signing = false;
        }
        for l in &listed[cursor..] {
            let e = VerifyError::Missing(l.path.clone());
            self.defer(e);
        }
        let manifest = match manifest {
            Some(m) => {
                if files.is_some() && m.0.size_installed != total_size {
                    self.defer(VerifyError::SizeInstalled {
                        declared: m.0.size_installed,
                        actual: total_size,
                    });
                }
                m
            }
            None => (placeholder_manifest(), Vec::new()),
        };
        let _ = opts;
        Ok(Walked {
            manifest,
            files: files.unwrap_or_else(|| FilesManifest::new(Vec::new())),
            payload,
            envelope,
        })
    }
}

fn is_file(t: u8) -> bool {
    t == tar_header::TYPE_FILE || t == tar_header::TYPE_FILE_OLD
}

/// Stands in for a manifest that did not decode; the deferred error is
/// always reported, so this value never reaches a caller.
fn placeholder_manifest() -> Manifest {
    Manifest {
        schema_version: 0,
        name: String::new(),
        version: String::new(),
        architecture: String::new(),
        description: String::new(),
        license: String::new(),
        homepage: String::new(),
        dependencies: Vec::new(),
        optional_dependencies: Vec::new(),
        conflicts: Vec::new(),
        provides: Vec::new(),
        replaces: Vec::new(),
        side_effects: Vec::new(),
        size_installed: 0,
        sd_overrides: Vec::new(),
        build: Default::default(),
    }
}
