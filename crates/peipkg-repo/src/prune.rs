//! `prune`: retire old pre-release versions (PSD-009 §6.3.2, §6.3.7).
//!
//! Only pre-releases (§2.2: a `~` or a recognised pre-release token) whose
//! build is older than the given age go, and never an entry of the active
//! index, which a consumer may be installing right now. A pruned package
//! leaves the archive and its file leaves the state in the same switch
//! (§6.3.7: the archive must not reference files that are gone): the new
//! indexes are switched in first, then the files are removed, so no index
//! ever points at a missing file.

use std::path::PathBuf;
use std::time::Duration;

use peipkg_format::keys::SigningKey;
use peipkg_format::repository::{self, Index, IndexKind, KeyStatus, PackageEntry};

use crate::commit::{self, InPlace};
use crate::error::{RepoError, Result};
use crate::lock::{LockMode, StateLock};
use crate::order;
use crate::publish::url::{self, Location};
use crate::site;
use crate::state::{Rendered, State};
use crate::timestamp::Timestamp;

#[derive(Debug)]
pub struct PruneOptions {
    pub repo: PathBuf,
    /// Minimum age (seconds) of a pre-release's build to prune it.
    pub older_than: i64,
    pub key: SigningKey,
    /// Now: ages are measured to it, and it becomes `generated_at`.
    pub timestamp: Timestamp,
    pub dry_run: bool,
    pub wait: Duration,
}

#[derive(Debug)]
pub struct PruneReport {
    /// (file name, build timestamp) of each pruned entry, in archive order.
    pub removed: Vec<(String, String)>,
    /// The new index_version (unchanged on a dry run or when nothing goes).
    pub index_version: i64,
    pub warnings: Vec<String>,
}

pub fn prune(o: &PruneOptions) -> Result<PruneReport> {
    let _lock = StateLock::acquire(&o.repo, LockMode::Exclusive, o.wait)?;
    if !o.dry_run {
        commit::recover(&o.repo, &site::refresh_in_place)?;
    }
    let state = State::load(&o.repo)?;
    state.check_signatures()?;
    let fp = o.key.public_key().fingerprint();
    if !o.dry_run && state.descriptor.key(&fp).and_then(|k| k.status()) != Some(KeyStatus::Active) {
        return Err(RepoError::refused(format!(
            "--sign-key is key {fp}, which is not an active key of {}/repo.json",
            o.repo.display()
        )));
    }
    if state.descriptor.to_bytes() != state.files[0].bytes {
        return Err(RepoError::refused(format!(
            "{}/repo.json is not in canonical form; run an empty publish first to re-encode and re-sign it",
            o.repo.display()
        )));
    }
    if let Some(prev) = state.generated_at() {
        if o.timestamp < prev {
            return Err(RepoError::refused(format!(
                "--timestamp {} is older than the state's generated_at {prev}",
                o.timestamp
            )));
        }
    }

    let archive = &state.archive.packages;
    let versions = order::parse_versions(archive, "archive")
        .map_err(|e| RepoError::bad_file(&o.repo.join(repository::ARCHIVE_PATH), e))?;
    let (sorted, sorted_v) = order::sort_archive(archive.clone(), versions);
    let active: Vec<PackageEntry> = order::derive_active(&sorted, &sorted_v)
        .map_err(RepoError::refused)?
        .into_iter()
        .map(|i| sorted[i].clone())
        .collect();
    let is_active = |e: &PackageEntry| {
        active
            .iter()
            .any(|a| a.name == e.name && a.version == e.version && a.architecture == e.architecture)
    };
    let mut warnings = Vec::new();
    let mut keep = Vec::with_capacity(sorted.len());
    let mut gone: Vec<PackageEntry> = Vec::new();
    for (e, v) in sorted.into_iter().zip(&sorted_v) {
        let old_enough = match Timestamp::parse(&e.build.timestamp) {
            Ok(built) => o.timestamp.unix() - built.unix() > o.older_than,
            Err(_) => {
                if v.is_prerelease() {
                    warnings.push(format!(
                        "{}: build.timestamp {:?} does not parse; kept",
                        e.label(),
                        e.build.timestamp
                    ));
                }
                false
            }
        };
        if v.is_prerelease() && old_enough && !is_active(&e) {
            gone.push(e);
        } else {
            keep.push(e);
        }
    }
    let removed: Vec<(String, String)> = gone
        .iter()
        .map(|e| (e.file_name(), e.build.timestamp.clone()))
        .collect();
    if o.dry_run || gone.is_empty() {
        return Ok(PruneReport {
            removed,
            index_version: state.index_version(),
            warnings,
        });
    }

    let index_version = state
        .index_version()
        .checked_add(1)
        .ok_or_else(|| RepoError::refused("index_version cannot grow further"))?;
    let name = &state.descriptor.repo.name;
    let ts = o.timestamp.as_str();
    let active_idx = Index::new(IndexKind::Active, name, index_version, ts, active);
    let archive_idx = Index::new(IndexKind::Archive, name, index_version, ts, keep);
    let rendered = Rendered::new(&state.descriptor, &o.key, &active_idx, &archive_idx, &o.key);

    let mut tx = InPlace::begin(&o.repo)?;
    let staged = (|| -> Result<()> {
        let mut rels = Vec::new();
        let mut names: Vec<String> = Vec::new();
        for e in &gone {
            if let Ok(Location::Local(rel)) = url::locate_recorded(&e.url) {
                // A file still referenced by a kept entry stays.
                if !archive_idx.packages.iter().any(|k| k.url == e.url) {
                    rels.push(rel);
                }
            }
            rels.push(site::record_path(e));
            names.push(e.name.clone());
        }
        names.dedup();
        tx.remove_after(rels);
        tx.site_names(names);
        let get = |rel: &str| rendered.get(rel);
        tx.set_index(
            &[
                ("active.json", get(repository::ACTIVE_PATH)),
                ("active.json.sig", get(repository::ACTIVE_SIG_PATH)),
                ("archive.json", get(repository::ARCHIVE_PATH)),
                ("archive.json.sig", get(repository::ARCHIVE_SIG_PATH)),
            ],
            &rendered.archive_sha256,
        )?;
        let sig = rendered.get(repository::DESCRIPTOR_SIG_PATH);
        if state.files[0].sig.as_deref() != Some(sig) {
            tx.set_descriptor_sig(sig)?;
        }
        Ok(())
    })();
    if let Err(e) = staged {
        let _ = crate::fsutil::remove_all(&o.repo.join(commit::WORK_DIR));
        return Err(e);
    }
    let descriptor = &state.descriptor;
    let raw = peipkg_format::repository::raw::parse(
        rendered.get(repository::ARCHIVE_PATH),
        IndexKind::Archive,
    )
    .map_err(|e| RepoError::refused(format!("internal: {e}")))?;
    let data = site::SiteData {
        descriptor,
        index_version,
        generated_at: ts,
        archive: &raw.entries,
    };
    let hook = |root: &std::path::Path, names: &[String]| site::refresh(root, names, &data);
    if let Err(e) = tx.commit(&hook) {
        let _ = commit::recover(&o.repo, &site::refresh_in_place);
        return Err(e);
    }
    Ok(PruneReport {
        removed,
        index_version,
        warnings,
    })
}
