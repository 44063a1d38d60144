//! Repository documents (PSD-009 chapter 6): the descriptor `repo.json`, the
//! active and archive indexes and their package entries.
//!
//! These types decide the bytes of every repository file `peipkg-repo`
//! writes, so they live here next to the other documents rather than in the
//! tool. Member order is the field order below, which is the schema order of
//! PSD-009 §6.1.2 / §6.2.2 / §6.2.3 and of the reference tool's output
//! (DESIGN.md §2); `to_bytes` is the canonical encoding
//! ([`crate::json::to_canonical_vec`]).
//!
//! **Decoding** is lenient the way the spec and the deployed reference tool
//! require: unknown members are ignored (§6.2.10 forward compatibility), a
//! missing or `null` member reads as its empty value, and re-encoding drops
//! whatever was ignored. Types stay strict: a string where an integer is
//! expected, a fraction or an exponent in an integer, trailing data after the
//! document, or a duplicated member are errors. What the spec says MUST hold
//! of the values (non-empty names, valid versions, sorted keys...) is not a
//! decoding concern: each document's `validate` reports every violation so a
//! verifier can list them all instead of stopping at the first.

pub mod descriptor;
pub mod entry;
pub mod index;
mod lenient;
pub mod raw;
pub mod timestamp;

pub use descriptor::{
    Descriptor, IndexPointer, IndexPointers, KeyEntry, KeyStatus, RepoInfo, Signing,
};
pub use entry::{BuildSubset, Dependency, Hash, PackageEntry, Provides, Replaces};
pub use index::{EntryIdentity, Index, IndexKind};

/// Conventional path of the descriptor, relative to the repository root (§6.4.2).
pub const DESCRIPTOR_PATH: &str = "repo.json";
/// Conventional path of the descriptor's detached signature.
pub const DESCRIPTOR_SIG_PATH: &str = "repo.json.sig";
/// Conventional path of the active index.
pub const ACTIVE_PATH: &str = "index/active.json";
/// Conventional path of the active index's detached signature.
pub const ACTIVE_SIG_PATH: &str = "index/active.json.sig";
/// Conventional path of the archive index.
pub const ARCHIVE_PATH: &str = "index/archive.json";
/// Conventional path of the archive index's detached signature.
pub const ARCHIVE_SIG_PATH: &str = "index/archive.json.sig";
/// The URL template for package files when none is given (§6.4.3).
pub const DEFAULT_PACKAGE_URL_TEMPLATE: &str = "/p/{name}/{version}/{filename}";

/// Conventional repository-relative path of a public key file (§6.4.2).
pub fn key_path(fingerprint: &str) -> String {
    format!("keys/{fingerprint}.pub")
}

/// Why a repository document could not be decoded at all.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{document} does not parse as a PSD-009 §{section} document: {reason}")]
pub struct DecodeError {
    /// Which document: `repo.json`, `active index`, `archive index`.
    pub document: &'static str,
    pub section: &'static str,
    /// The JSON parser's message, with line and column.
    pub reason: String,
}
