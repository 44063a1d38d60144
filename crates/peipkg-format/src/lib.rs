//! PSD-009 v0.22, the `.peipkg` package and repository format, as a library.
//!
//! Everything that decides bytes lives here, so that `peipkg-build`,
//! `peipkg-repo` and `peipkg-manager` cannot disagree about them:
//!
//! - [`identity`]: package names, versions and their total order, version
//!   constraints, architectures and triplets, side-effect identifiers.
//! - [`json`]: the canonical JSON encoding every document is written in.
//! - [`documents`]: the manifest, files manifest, signature envelope and the
//!   repository documents, with strict decoding where the spec asks for it.
//! - [`keys`]: Ed25519 keys, fingerprints, detached signatures.
//! - [`archive`]: the deterministic tar+zstd writer and the streaming reader
//!   that runs the whole consumer-side verification flow.
//! - [`layout`]: payload path and layout rules a producer checks before it
//!   packs.
//!
//! The crate does no process spawning, no CLI and no network I/O.
#![forbid(unsafe_code)]

pub mod archive;
pub mod documents;
pub mod identity;
pub mod json;
pub mod keys;
pub mod layout;
pub mod repository;
