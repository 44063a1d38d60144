//! `rotate-key`: add a new active signing key and retire the old one
//! (PSD-009 §5.2.6, §6.1.4), re-signing the descriptor and the indexes.
//!
//! Routine rotation (`--transition PERIOD`, 30 days by default) keeps the
//! old key as `transitioning` until `valid_until`, and signs the new
//! descriptor with the **old** key: a consumer refreshing verifies it with
//! the keys it already trusts (§6.5.4 step 2), and learns the new key from
//! it. Compromise rotation (`--revoke`) marks the old key `revoked` and
//! signs everything with the **new** key: signatures by a compromised key
//! prove nothing, and consumers need the new fingerprint out of band. In
//! both cases the indexes are re-signed with the new key, the new key's
//! public key file is added under `keys/`, and the descriptor's keys stay
//! sorted by fingerprint (§6.1.3). The index documents themselves do not
//! change.

use std::path::PathBuf;
use std::time::Duration;

use peipkg_format::keys::{self, SigningKey};
use peipkg_format::repository::{self, KeyEntry, KeyStatus};

use crate::commit::{self, WORK_DIR};
use crate::error::{RepoError, Result};
use crate::lock::{LockMode, StateLock};
use crate::site;
use crate::state::State;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retire {
    /// Keep the old key acceptable for this many seconds.
    Transition(i64),
    Revoke,
}

#[derive(Debug)]
pub struct RotateOptions {
    pub repo: PathBuf,
    pub new_key: SigningKey,
    pub old_key: SigningKey,
    pub retire: Retire,
    /// The rotation instant; `valid_until` counts from it.
    pub timestamp: Timestamp,
    pub wait: Duration,
}

#[derive(Debug)]
pub struct RotateReport {
    pub new_fingerprint: String,
    pub old_fingerprint: String,
    /// `transitioning until <T>` or `revoked`.
    pub old_status: String,
    /// Archived packages whose recorded signer is the retired key.
    pub signed_by_old: Vec<String>,
}

pub fn rotate(o: &RotateOptions) -> Result<RotateReport> {
    let _lock = StateLock::acquire(&o.repo, LockMode::Exclusive, o.wait)?;
    commit::recover(&o.repo, &site::refresh_in_place)?;
    let state = State::load(&o.repo)?;
    state.check_signatures()?;
    let problems = state.descriptor.validate();
    if !problems.is_empty() {
        return Err(RepoError::bad_file(
            &o.repo.join(repository::DESCRIPTOR_PATH),
            format!("invalid descriptor: {}", problems.join("; ")),
        ));
    }
    let old_fp = o.old_key.public_key().fingerprint();
    let new_fp = o.new_key.public_key().fingerprint();
    if old_fp == new_fp {
        return Err(RepoError::refused(
            "--new-key and --sign-key are the same key; rotation needs a new key",
        ));
    }
    match state.descriptor.key(&old_fp) {
        Some(k) if k.status() == Some(KeyStatus::Active) => {}
        Some(k) => {
            return Err(RepoError::refused(format!(
                "--sign-key is key {old_fp}, which repo.json declares {:?}; only an active key can be rotated out",
                k.status
            )))
        }
        None => {
            return Err(RepoError::refused(format!(
                "--sign-key is key {old_fp}, which is not declared in {}/repo.json",
                o.repo.display()
            )))
        }
    }
    if let Some(k) = state.descriptor.key(&new_fp) {
        return Err(RepoError::refused(format!(
            "--new-key is key {new_fp}, which repo.json already declares {:?}",
            k.status
        )));
    }

    let mut descriptor = state.descriptor.clone();
    for k in &mut descriptor.repo.signing.keys {
        if k.fingerprint == old_fp {
            match o.retire {
                Retire::Transition(secs) => {
                    let until = o.timestamp.plus_secs(secs).ok_or_else(|| {
                        RepoError::refused(format!(
                            "--transition of {secs} seconds from {} ends past year 9999",
                            o.timestamp
                        ))
                    })?;
                    k.status = KeyStatus::Transitioning.as_str().into();
                    k.valid_until = until.as_str().to_string();
                }
                Retire::Revoke => {
                    k.status = KeyStatus::Revoked.as_str().into();
                    k.valid_until.clear();
                }
            }
        }
    }
    let old_status = match o.retire {
        Retire::Transition(_) => format!(
            "transitioning until {}",
            descriptor
                .key(&old_fp)
                .map(|k| k.valid_until.clone())
                .unwrap_or_default()
        ),
        Retire::Revoke => "revoked".to_string(),
    };
    descriptor.repo.signing.keys.push(KeyEntry::active(&new_fp));
    descriptor
        .repo
        .signing
        .keys
        .sort_by(|a, b| a.fingerprint.cmp(&b.fingerprint));

    let descriptor_signer = match o.retire {
        Retire::Transition(_) => &o.old_key,
        Retire::Revoke => &o.new_key,
    };
    let d_bytes = descriptor.to_bytes();
    let d_sig = keys::sign_detached(descriptor_signer, &d_bytes);
    let a_sig = keys::sign_detached(&o.new_key, &state.files[1].bytes);
    let r_sig = keys::sign_detached(&o.new_key, &state.files[2].bytes);
    let pem = o.new_key.public_key().to_pem();
    let key_rel = repository::key_path(&new_fp);

    let root = o.repo.clone();
    commit::replace_tree(&o.repo, |tree| {
        let skip = |rel: &str| {
            matches!(
                rel,
                "repo.json" | "repo.json.sig" | "index/active.json.sig" | "index/archive.json.sig"
            ) || rel == WORK_DIR
                || site::is_page(rel)
        };
        tree.mirror(&root, &skip)?;
        tree.write(repository::DESCRIPTOR_PATH, &d_bytes)?;
        tree.write(repository::DESCRIPTOR_SIG_PATH, &d_sig)?;
        tree.write(repository::ACTIVE_SIG_PATH, &a_sig)?;
        tree.write(repository::ARCHIVE_SIG_PATH, &r_sig)?;
        tree.write(&key_rel, pem.as_bytes())?;
        let archive = state.raw_archive()?;
        site::render_all(
            tree,
            &site::SiteData {
                descriptor: &descriptor,
                index_version: archive.header.index_version,
                generated_at: &archive.header.generated_at,
                archive: &archive.entries,
            },
        )
    })?;

    let signed_by_old = state
        .archive
        .packages
        .iter()
        .filter(|e| site::load_record(&o.repo, e).is_some_and(|r| r.key_fingerprint == old_fp))
        .map(|e| e.label())
        .collect();
    Ok(RotateReport {
        new_fingerprint: new_fp,
        old_fingerprint: old_fp,
        old_status,
        signed_by_old,
    })
}
