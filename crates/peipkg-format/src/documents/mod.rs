//! The JSON documents inside a package (PSD-009 §3.3, §3.5.1, §5.1.3) and the
//! rules for decoding them.
//!
//! Documents keep their fields as the strings that were on the wire, so a
//! decoded document re-encodes to the same bytes; the typed identity checks
//! live in [`crate::identity`] and are applied by each document's
//! `validate`. Decoding is lenient where the spec asks for forward
//! compatibility (the manifest ignores unknown members) and strict where it
//! asks for safety (the signature envelope rejects them).

pub mod files_manifest;
pub mod manifest;
pub mod signature;
pub mod timestamp;

pub use files_manifest::{FileEntry, FilesManifest, FilesManifestWriter};
pub use manifest::{BuildInfo, Dependency, Manifest, Provides, Replaces, SdOverride};
pub use signature::SignatureEnvelope;
