//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The read-only shared material (reference docs, corpus, fixtures):
/// `$PEIPKG_SHARED_DIR`, or `../shared` beside the workspace.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("PEIPKG_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The conformance fixtures: `$PEIPKG_CONFORMANCE_DIR`, or `conformance/`
/// in the shared material.
pub fn conformance_dir() -> PathBuf {
    match std::env::var_os("PEIPKG_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => shared_dir().join("conformance"),
    }
}

pub fn corpus_dir() -> PathBuf {
    shared_dir().join("recipes-corpus")
}
