//! Ed25519 keys, fingerprints and detached signatures.
