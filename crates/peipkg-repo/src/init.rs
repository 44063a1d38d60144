//! `init`: a new, empty, signed repository state.

use std::path::{Path, PathBuf};

use peipkg_format::keys::SigningKey;
use peipkg_format::repository::{self, Descriptor, Index, IndexKind};

use crate::commit;
use crate::error::{RepoError, Result};
use crate::fsutil;
use crate::state::Rendered;
use crate::timestamp::Timestamp;

#[derive(Debug)]
pub struct InitOptions {
    pub name: String,
    pub description: String,
    pub key: SigningKey,
    pub timestamp: Timestamp,
    pub out: PathBuf,
}

/// Create the state. `out` must not exist or be an empty directory; the
/// state appears there complete or not at all.
pub fn init(opts: &InitOptions) -> Result<()> {
    if opts.name.is_empty() {
        return Err(RepoError::refused(
            "repository name is empty; PSD-009 §6.1.2 requires a non-empty repo.name",
        ));
    }
    let out = fsutil::absolute(&opts.out)?;
    check_target(&opts.out, &out)?;
    let pk = opts.key.public_key();
    let fp = pk.fingerprint();
    let descriptor = Descriptor::new(&opts.name, &opts.description, &fp);
    let ts = opts.timestamp.as_str();
    let active = Index::new(IndexKind::Active, &opts.name, 1, ts, Vec::new());
    let archive = Index::new(IndexKind::Archive, &opts.name, 1, ts, Vec::new());
    let rendered = Rendered::new(&descriptor, &opts.key, &active, &archive, &opts.key);
    commit::fresh_tree(&out, |tree| {
        for (rel, bytes) in &rendered.files {
            tree.write(rel, bytes)?;
        }
        tree.write(&repository::key_path(&fp), pk.to_pem().as_bytes())
    })
    .map_err(|e| match e {
        RepoError::Refused(_) => RepoError::refused(format!(
            "{} is not empty (init refuses to overwrite existing state; use a fresh directory)",
            opts.out.display()
        )),
        other => other,
    })
}

fn check_target(shown: &Path, out: &Path) -> Result<()> {
    match std::fs::metadata(out) {
        Ok(m) if !m.is_dir() => Err(RepoError::refused(format!(
            "{} exists and is not a directory",
            shown.display()
        ))),
        Ok(_) if !fsutil::dir_is_empty(out)? => Err(RepoError::refused(format!(
            "{} is not empty (init refuses to overwrite existing state; use a fresh directory)",
            shown.display()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha2::{Digest, Sha256};

    fn seed_key() -> SigningKey {
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        SigningKey::from_seed(&seed)
    }

    fn sha(path: &Path) -> String {
        hex::encode(Sha256::digest(std::fs::read(path).unwrap()))
    }

    #[test]
    fn matches_the_reference_golden_state() {
        // Behaviour notes §14: seed 00..1f, name test-repo, no description.
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("a/b/c");
        init(&InitOptions {
            name: "test-repo".into(),
            description: String::new(),
            key: seed_key(),
            timestamp: Timestamp::parse("2026-05-07T00:00:00Z").unwrap(),
            out: out.clone(),
        })
        .unwrap();
        assert_eq!(
            sha(&out.join("repo.json")),
            "a5fa9cc5382855a7c164c2d77b8abfe89559d75375583246da302d3fbf1b0cc9"
        );
        assert_eq!(
            sha(&out.join("index/active.json")),
            "5916e4d72455662f3294f74ca80029badde038e7a1f5d4c7be65b91df64e1714"
        );
        assert_eq!(
            sha(&out.join("index/archive.json")),
            "e0e9f64356c192f41f2be371812603e4046e0b1b8bc00f7ad8d3ca7d2e6afbb6"
        );
        let sig = std::fs::read_to_string(out.join("repo.json.sig")).unwrap();
        assert!(sig.contains("XWeew3ujTM/cEsb1jhMgYj/c4+Uua/GB0yrl8Glg14spYNCNKHfljDq6CuDspMJvrMrQHp9SAMdDDIZ0/UaMBg"));
        assert_eq!(sig.len(), 229);
        let pubkey = std::fs::read_to_string(
            out.join("keys/56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c.pub"),
        )
        .unwrap();
        assert_eq!(
            pubkey,
            "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAA6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=\n-----END PUBLIC KEY-----\n"
        );
    }

    #[test]
    fn refuses_a_non_empty_directory_and_leaves_it_alone() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join(".hidden"), "x").unwrap();
        let err = init(&InitOptions {
            name: "r".into(),
            description: String::new(),
            key: seed_key(),
            timestamp: Timestamp::parse("2026-05-07T00:00:00Z").unwrap(),
            out: t.path().to_path_buf(),
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains("is not empty"), "{err}");
        assert_eq!(std::fs::read_dir(t.path()).unwrap().count(), 1);
    }

    #[test]
    fn accepts_an_existing_empty_directory() {
        let t = tempfile::tempdir().unwrap();
        let out = t.path().join("repo");
        std::fs::create_dir(&out).unwrap();
        init(&InitOptions {
            name: "r".into(),
            description: "d".into(),
            key: seed_key(),
            timestamp: Timestamp::parse("2026-05-07T00:00:00Z").unwrap(),
            out: out.clone(),
        })
        .unwrap();
        assert!(out.join("repo.json").is_file());
    }
}
