//! The per-file integrity manifest, `.peipkg/files.json` (PSD-009 §3.5.1).

use serde::{Deserialize, Serialize};
use std::io::{self, Write};

/// Largest files manifest a consumer accepts (PSD-009 §3.2.8).
pub const MAX_FILES_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilesManifest {
    pub schema_version: u32,
    pub algorithm: String,
    pub entries: Vec<FileEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub hash: String,
}

/// Writes a files manifest entry by entry, with the same bytes as
/// [`FilesManifest::to_bytes`], so a writer never holds every entry of a
/// large payload in memory. Entries must come in strictly increasing path
/// order, which the caller guarantees (the archive writer sorts its
/// entries, and the files of a sorted payload are in path order).
pub struct FilesManifestWriter<W: Write> {
    out: W,
    entries: u64,
    bytes: u64,
}

impl<W: Write> FilesManifestWriter<W> {
    pub fn new(mut out: W) -> io::Result<Self> {
        const HEAD: &[u8] = br#"{"schema_version":1,"algorithm":"sha256","entries":["#;
        out.write_all(HEAD)?;
        Ok(FilesManifestWriter {
            out,
            entries: 0,
            bytes: HEAD.len() as u64,
        })
    }

    /// Append one file's entry; `hash` is its raw SHA-256.
    pub fn push(&mut self, path: &str, size: u64, hash: &[u8; 32]) -> io::Result<()> {
        let mut counted = CountingWriter {
            inner: &mut self.out,
            count: 0,
        };
        if self.entries > 0 {
            counted.write_all(b",")?;
        }
        counted.write_all(br#"{"path":"#)?;
        crate::json::write_canonical(&mut counted, path)?;
        write!(
            counted,
            r#","size":{size},"hash":"{}"}}"#,
            hex::encode(hash)
        )?;
        self.bytes += counted.count;
        self.entries += 1;
        Ok(())
    }

    /// Close the document; returns the writer and the document's length.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        const TAIL: &[u8] = b"]}\n";
        self.out.write_all(TAIL)?;
        Ok((self.out, self.bytes + TAIL.len() as u64))
    }
}

struct CountingWriter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for CountingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum FilesManifestError {
    #[error("files.json does not parse against PSD-009 §3.5.1: {0}")]
    Malformed(String),
    #[error("files.json schema_version is {0}, expected 1 (PSD-009 §3.5.1)")]
    SchemaVersion(u32),
    #[error("files.json algorithm {0:?} is not supported, expected \"sha256\" (PSD-009 §3.5.5)")]
    Algorithm(String),
    #[error(
        "files.json entry {path:?} has hash {hash:?}, not 64 lowercase hex digits (PSD-009 §3.5.1)"
    )]
    Hash { path: String, hash: String },
    #[error("files.json entries are not sorted by path with no duplicates: {prev:?} then {next:?} (PSD-009 §3.5.1)")]
    Order { prev: String, next: String },
}

impl FilesManifest {
    pub fn new(entries: Vec<FileEntry>) -> Self {
        FilesManifest {
            schema_version: 1,
            algorithm: "sha256".into(),
            entries,
        }
    }

    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::to_canonical_vec(self)
    }

    /// Decode and check the schema, the algorithm, each hash's form and the
    /// strict path order the spec requires.
    pub fn decode(bytes: &[u8]) -> Result<Self, FilesManifestError> {
        let fm: FilesManifest = serde_json::from_slice(bytes)
            .map_err(|e| FilesManifestError::Malformed(e.to_string()))?;
        if fm.schema_version != 1 {
            return Err(FilesManifestError::SchemaVersion(fm.schema_version));
        }
        if fm.algorithm != "sha256" {
            return Err(FilesManifestError::Algorithm(fm.algorithm));
        }
        for e in &fm.entries {
            if !crate::documents::signature::is_sha256_hex(&e.hash) {
                return Err(FilesManifestError::Hash {
                    path: e.path.clone(),
                    hash: e.hash.clone(),
                });
            }
        }
        for w in fm.entries.windows(2) {
            if w[0].path.as_bytes() >= w[1].path.as_bytes() {
                return Err(FilesManifestError::Order {
                    prev: w[0].path.clone(),
                    next: w[1].path.clone(),
                });
            }
        }
        Ok(fm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn streamed(entries: &[FileEntry]) -> Vec<u8> {
        let mut w = FilesManifestWriter::new(Vec::new()).unwrap();
        for e in entries {
            let mut hash = [0u8; 32];
            hex::decode_to_slice(&e.hash, &mut hash).unwrap();
            w.push(&e.path, e.size, &hash).unwrap();
        }
        let (bytes, len) = w.finish().unwrap();
        assert_eq!(len, bytes.len() as u64);
        bytes
    }

    #[test]
    fn streamed_document_has_the_same_bytes() {
        let hash = |b: u8| hex::encode([b; 32]);
        let entries = [
            FileEntry {
                path: "a \"quoted\" \\ name".into(),
                size: 0,
                hash: hash(1),
            },
            FileEntry {
                path: "usr/share/ctl\u{1}\u{7f}/line\u{2028}sep/é".into(),
                size: u64::MAX,
                hash: hash(0xab),
            },
            FileEntry {
                path: "z".into(),
                size: 12,
                hash: hash(0xff),
            },
        ];
        for n in 0..=entries.len() {
            let whole = FilesManifest::new(entries[..n].to_vec()).to_bytes();
            assert_eq!(streamed(&entries[..n]), whole, "{n} entries");
        }
    }
}
