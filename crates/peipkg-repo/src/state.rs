//! Loading a repository state directory and rendering a new one.
//!
//! A state is the descriptor and the two indexes, each with its detached
//! signature, plus `keys/` and the package files. Loading keeps the exact
//! bytes next to the parsed documents because signatures are over bytes,
//! and because a publish that would not change the descriptor must not
//! rewrite it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use peipkg_format::keys::{self, PublicKey, SigningKey};
use peipkg_format::repository::{
    self, Descriptor, Index, IndexKind, KeyEntry, KeyStatus, ACTIVE_PATH, ACTIVE_SIG_PATH,
    ARCHIVE_PATH, ARCHIVE_SIG_PATH, DESCRIPTOR_PATH, DESCRIPTOR_SIG_PATH,
};

use crate::error::{RepoError, Result};
use crate::timestamp::Timestamp;
use peipkg_format::repository::raw::{self, Header, RawIndex};
use sha2::{Digest, Sha256};

/// One signed document as found on disk.
#[derive(Debug, Clone)]
pub struct SignedFile {
    /// Repository-relative path, e.g. `index/active.json`.
    pub rel: &'static str,
    /// How messages call it (the reference's labels).
    pub label: &'static str,
    pub bytes: Vec<u8>,
    /// The detached signature, when present.
    pub sig: Option<Vec<u8>>,
}

fn read_required(root: &Path, rel: &str) -> Result<Vec<u8>> {
    let path = root.join(rel);
    fs::read(&path).map_err(|e| {
        if e.kind() == io::ErrorKind::NotFound {
            RepoError::bad_file(
                &path,
                format!(
                    "missing: {} is not a repository state (no {rel}; create one with `peipkg-repo init`)",
                    root.display()
                ),
            )
        } else {
            RepoError::io("read", &path, e)
        }
    })
}

fn read_optional(root: &Path, rel: &str) -> Result<Option<Vec<u8>>> {
    let path = root.join(rel);
    match fs::read(&path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(RepoError::io("read", &path, e)),
    }
}

/// A state's signed documents as found on disk: the descriptor parsed, the
/// indexes kept as bytes. Enough to check signatures and to publish (which
/// handles the archive as canonical bytes, see [`peipkg_format::repository::raw`]).
#[derive(Debug, Clone)]
pub struct Docs {
    pub root: PathBuf,
    pub descriptor: Descriptor,
    /// repo.json, index/active.json, index/archive.json, in that order.
    pub files: [SignedFile; 3],
}

/// A fully decoded state (typed indexes), for auditing and rare operations.
#[derive(Debug, Clone)]
pub struct State {
    pub docs: Docs,
    pub active: Index,
    pub archive: Index,
}

impl std::ops::Deref for State {
    type Target = Docs;
    fn deref(&self) -> &Docs {
        &self.docs
    }
}

impl State {
    /// Read and decode everything; a document that does not parse is an
    /// error naming the file. Nothing is verified here.
    pub fn load(root: &Path) -> Result<State> {
        let docs = Docs::load(root)?;
        // The two decodes are independent; the archive is the big one.
        let (active, archive) = std::thread::scope(|s| {
            let archive = s.spawn(|| Index::decode(&docs.files[2].bytes, IndexKind::Archive));
            let active = Index::decode(&docs.files[1].bytes, IndexKind::Active);
            let archive = archive
                .join()
                .unwrap_or_else(|_| Index::decode(&docs.files[2].bytes, IndexKind::Archive));
            (active, archive)
        });
        let active =
            active.map_err(|e| RepoError::bad_file(&root.join(ACTIVE_PATH), e.to_string()))?;
        let archive =
            archive.map_err(|e| RepoError::bad_file(&root.join(ARCHIVE_PATH), e.to_string()))?;
        Ok(State {
            docs,
            active,
            archive,
        })
    }

    /// The highest index_version published so far.
    pub fn index_version(&self) -> i64 {
        self.active.index_version.max(self.archive.index_version)
    }

    /// The newest `generated_at` that parses, if any.
    pub fn generated_at(&self) -> Option<Timestamp> {
        newest(&self.active.generated_at, &self.archive.generated_at)
    }
}

fn newest(a: &str, b: &str) -> Option<Timestamp> {
    [a, b]
        .into_iter()
        .filter_map(|s| Timestamp::parse(s).ok())
        .max()
}

impl Docs {
    /// Read the three documents and their signatures and parse the
    /// descriptor.
    pub fn load(root: &Path) -> Result<Docs> {
        let d_bytes = read_required(root, DESCRIPTOR_PATH)?;
        let a_bytes = read_required(root, ACTIVE_PATH)?;
        let r_bytes = read_required(root, ARCHIVE_PATH)?;
        let descriptor = Descriptor::decode(&d_bytes)
            .map_err(|e| RepoError::bad_file(&root.join(DESCRIPTOR_PATH), e.to_string()))?;
        let files = [
            SignedFile {
                rel: DESCRIPTOR_PATH,
                label: "repo.json",
                bytes: d_bytes,
                sig: read_optional(root, DESCRIPTOR_SIG_PATH)?,
            },
            SignedFile {
                rel: ACTIVE_PATH,
                label: "active.json",
                bytes: a_bytes,
                sig: read_optional(root, ACTIVE_SIG_PATH)?,
            },
            SignedFile {
                rel: ARCHIVE_PATH,
                label: "archive.json",
                bytes: r_bytes,
                sig: read_optional(root, ARCHIVE_SIG_PATH)?,
            },
        ];
        Ok(Docs {
            root: root.to_path_buf(),
            descriptor,
            files,
        })
    }

    /// The active index's header (its entries are not decoded).
    pub fn active_header(&self) -> Result<Header> {
        raw::parse_header(&self.files[1].bytes, IndexKind::Active)
            .map_err(|e| RepoError::bad_file(&self.root.join(ACTIVE_PATH), e.to_string()))
    }

    /// The archive as canonical entry bytes.
    pub fn raw_archive(&self) -> Result<RawIndex<'_>> {
        raw::parse(&self.files[2].bytes, IndexKind::Archive)
            .map_err(|e| RepoError::bad_file(&self.root.join(ARCHIVE_PATH), e.to_string()))
    }

    /// Load the public key of every declared key from `keys/`. Each element
    /// pairs the declaration with the key or the reason it is unusable.
    pub fn declared_keys(&self) -> Vec<(KeyEntry, std::result::Result<PublicKey, String>)> {
        self.descriptor
            .repo
            .signing
            .keys
            .iter()
            .map(|k| (k.clone(), load_declared_key(&self.root, k)))
            .collect()
    }

    /// Verify the three detached signatures against the declared keys,
    /// refusing on the first problem: a state is only built upon when it is
    /// exactly what its keys signed. Revoked keys are not accepted;
    /// transitioning keys are, whatever the date, since this checks the
    /// repository's own integrity, not a consumer's trust at some instant.
    pub fn check_signatures(&self) -> Result<()> {
        let declared = self.declared_keys();
        let mut usable = Vec::new();
        for (k, res) in &declared {
            if let (Ok(pk), Some(status)) = (res, k.status()) {
                if status != KeyStatus::Revoked {
                    usable.push(pk.clone());
                }
            }
        }
        let digests = digests(&self.files.each_ref().map(|f| f.bytes.as_slice()));
        for (f, digest) in self.files.iter().zip(&digests) {
            let sig_path = self.root.join(format!("{}.sig", f.rel));
            let Some(sig) = &f.sig else {
                return Err(RepoError::bad_file(
                    &sig_path,
                    "missing: every state document must carry a detached signature (PSD-009 §6.1.6, §6.2.1)",
                ));
            };
            if let Err(e) = keys::verify_envelope(sig, digest, &usable) {
                let hint = match &e {
                    keys::SignatureError::UnknownKey(fp) => {
                        match declared.iter().find(|(k, _)| &k.fingerprint == fp) {
                            Some((k, Err(why))) => format!(
                                "; the key is declared ({}) but its public key file is unusable: {why}",
                                k.status
                            ),
                            Some((k, Ok(_))) => format!("; the key is declared {}", k.status),
                            None => "; the key is not declared in repo.json".to_string(),
                        }
                    }
                    _ => String::new(),
                };
                return Err(RepoError::bad_file(
                    &sig_path,
                    format!("does not verify {}: {e}{hint}", f.rel),
                ));
            }
        }
        Ok(())
    }
}

/// SHA-256 of each buffer, the largest on a second thread: signing and
/// checking a 70 MB archive is the one CPU cost of a publish worth halving.
pub fn digests<const N: usize>(bufs: &[&[u8]; N]) -> [[u8; 32]; N] {
    let sha = |b: &[u8]| -> [u8; 32] { Sha256::digest(b).into() };
    let big = (0..N).max_by_key(|&i| bufs[i].len()).unwrap_or(0);
    let mut out = [[0u8; 32]; N];
    std::thread::scope(|s| {
        let handle = s.spawn(|| sha(bufs[big]));
        for i in (0..N).filter(|&i| i != big) {
            out[i] = sha(bufs[i]);
        }
        out[big] = handle.join().unwrap_or_else(|_| sha(bufs[big]));
    });
    out
}

/// Read a declared key's public key file: the conventional `keys/<fp>.pub`,
/// checked against the declared fingerprint.
pub fn load_declared_key(root: &Path, k: &KeyEntry) -> std::result::Result<PublicKey, String> {
    if !peipkg_format::documents::signature::is_sha256_hex(&k.fingerprint) {
        return Err(format!(
            "fingerprint {:?} is not 64 lowercase hex characters",
            k.fingerprint
        ));
    }
    let path = root.join(repository::key_path(&k.fingerprint));
    let bytes = fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let pk = PublicKey::parse(&bytes).map_err(|e| format!("parse {}: {e}", path.display()))?;
    let got = pk.fingerprint();
    if got != k.fingerprint {
        return Err(format!(
            "key file {}.pub fingerprints to {got} (declared {})",
            k.fingerprint, k.fingerprint
        ));
    }
    Ok(pk)
}

/// The six files of a state's signed documents, in the reference's write
/// order: descriptor, its signature, active, its signature, archive, its
/// signature.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub files: Vec<(&'static str, Vec<u8>)>,
    /// SHA-256 of the archive, which identifies the commit.
    pub archive_sha256: [u8; 32],
}

impl Rendered {
    /// Encode and sign. Documents are signed separately so that signing
    /// each with a different key (rotation) stays possible.
    pub fn new(
        descriptor: &Descriptor,
        descriptor_key: &SigningKey,
        active: &Index,
        archive: &Index,
        index_key: &SigningKey,
    ) -> Rendered {
        Rendered::from_bytes(
            descriptor.to_bytes(),
            descriptor_key,
            active.to_bytes(),
            archive.to_bytes(),
            index_key,
        )
    }

    /// Sign already encoded documents.
    pub fn from_bytes(
        d: Vec<u8>,
        descriptor_key: &SigningKey,
        a: Vec<u8>,
        r: Vec<u8>,
        index_key: &SigningKey,
    ) -> Rendered {
        let [dd, ad, rd] = digests(&[d.as_slice(), a.as_slice(), r.as_slice()]);
        let sig = |k: &SigningKey, digest: &[u8; 32]| k.envelope_for_digest(digest).to_bytes();
        let (ds, as_, rs) = (
            sig(descriptor_key, &dd),
            sig(index_key, &ad),
            sig(index_key, &rd),
        );
        Rendered {
            files: vec![
                (DESCRIPTOR_PATH, d),
                (DESCRIPTOR_SIG_PATH, ds),
                (ACTIVE_PATH, a),
                (ACTIVE_SIG_PATH, as_),
                (ARCHIVE_PATH, r),
                (ARCHIVE_SIG_PATH, rs),
            ],
            archive_sha256: rd,
        }
    }

    pub fn get(&self, rel: &str) -> &[u8] {
        self.files
            .iter()
            .find(|(r, _)| *r == rel)
            .map(|(_, b)| b.as_slice())
            .unwrap_or(&[])
    }
}
