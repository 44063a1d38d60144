//! The per-file integrity manifest, `.peipkg/files.json` (PSD-009 §3.5.1).

use serde::{Deserialize, Serialize};

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
