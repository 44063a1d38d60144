//! `pack`: one package from a hand-written manifest and a staged tree.
//!
//! The reference packs whatever it is given. We apply the same checks as
//! `build` (the manifest's MUST rules, the payload layout rules, security
//! descriptor overrides pointing at real non-symlink entries), because a
//! hand-written manifest is the likeliest place for a mistake. Unlike the
//! reference, empty directories in the staged tree are packed (it is the
//! only way `pack` can ship the empty `/var` directories §3.4.4 allows).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use peipkg_format::archive::{write_sorted_package, ArchiveError, EntryKind, PackOptions};
use peipkg_format::documents::Manifest;
use peipkg_format::identity::Architecture;
use peipkg_format::keys::{KeyError, SigningKey};

use crate::build::Reporter;
use crate::layout_check::{LayoutCheck, LayoutError};
use crate::partition::{Owner, SelectedPayload};
use crate::walk::{StagedEntry, StagedKind, Walk, WalkError};

/// Everything `peipkg-build pack` takes.
#[derive(Debug, Clone)]
pub struct PackRequest {
    pub manifest: PathBuf,
    pub staged: PathBuf,
    pub out: PathBuf,
    pub sign_key: Option<PathBuf>,
    pub zstd_level: i32,
}

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("read manifest {path}: {source}")]
    ReadManifest {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("manifest {path}: {message}")]
    DecodeManifest { path: PathBuf, message: String },
    #[error("manifest {path} breaks PSD-009 rules:\n  {}", .errors.join("\n  "))]
    InvalidManifest { path: PathBuf, errors: Vec<String> },
    #[error("--sign-key: {0}")]
    SignKey(#[source] KeyError),
    #[error("--zstd-level {0} is out of range; zstd levels run from 1 (fastest) to 22 (smallest)")]
    ZstdLevel(i64),
    #[error("--staged {path}: {source}")]
    Staged { path: PathBuf, source: WalkError },
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("manifest {path}: sd_overrides[{index}] names {target:?}, which is {problem} (PSD-009 §3.3.5)")]
    SdOverride {
        path: PathBuf,
        index: usize,
        target: String,
        problem: &'static str,
    },
    #[error("--out {path}: {reason}")]
    Out { path: PathBuf, reason: String },
    #[error(transparent)]
    Write(#[from] ArchiveError),
}

/// Packs one package; returns the absolute path written.
pub fn pack(req: &PackRequest, reporter: &mut dyn Reporter) -> Result<PathBuf, PackError> {
    if !(1..=22).contains(&req.zstd_level) {
        return Err(PackError::ZstdLevel(i64::from(req.zstd_level)));
    }
    let bytes = std::fs::read(&req.manifest).map_err(|source| PackError::ReadManifest {
        path: req.manifest.clone(),
        source,
    })?;
    let manifest = Manifest::decode(&bytes).map_err(|e| PackError::DecodeManifest {
        path: req.manifest.clone(),
        message: e.to_string(),
    })?;
    let report = manifest.validate();
    for warning in &report.warnings {
        reporter.warning(&format!("manifest {}: {warning}", req.manifest.display()));
    }
    if !report.is_ok() {
        return Err(PackError::InvalidManifest {
            path: req.manifest.clone(),
            errors: report.errors,
        });
    }
    let signing_key = match &req.sign_key {
        Some(path) => Some(SigningKey::load(path).map_err(PackError::SignKey)?),
        None => None,
    };
    let out = std::path::absolute(&req.out).map_err(|e| PackError::Out {
        path: req.out.clone(),
        reason: e.to_string(),
    })?;
    check_out_file(&out)?;

    let root = std::fs::canonicalize(&req.staged).map_err(|e| PackError::Staged {
        path: req.staged.clone(),
        source: WalkError::Io {
            path: req.staged.clone(),
            source: e,
        },
    })?;
    // Pass 1: layout and security-descriptor targets; pass 2 streams the
    // tree into the writer (see build.rs: memory stays flat).
    let staged_err = |source| PackError::Staged {
        path: req.staged.clone(),
        source,
    };
    let mut walk = Walk::new(&root).map_err(staged_err)?;
    let mut layout = LayoutCheck::new([(
        manifest.name.clone(),
        Architecture::parse(&manifest.architecture).ok(),
    )]);
    // For each override's path: what it turned out to be, if anything. A
    // map, because the manifest may list up to 100,000 overrides and every
    // payload entry is looked up.
    let mut targets: HashMap<&str, Option<EntryKind>> = manifest
        .sd_overrides
        .iter()
        .map(|o| (o.path.as_str(), None))
        .collect();
    for entry in walk.by_ref() {
        let entry = entry.map_err(staged_err)?;
        layout.offer(&entry, &pack_owner(&entry), |_, e| {
            if let Some(slot) = targets.get_mut(e.path.as_str()) {
                *slot = Some(e.kind.clone());
            }
        });
    }
    walk.finish().map_err(staged_err)?;
    layout.finish()?;
    check_sd_overrides(&req.manifest, &manifest, &targets)?;

    let opts = PackOptions {
        zstd_level: req.zstd_level,
        signing_key,
    };
    let entries = SelectedPayload::new(Walk::new(&root).map_err(staged_err)?, 0, pack_owner);
    Ok(write_sorted_package(&manifest, entries, &root, &opts, &out)?.path)
}

/// `pack` claims the whole tree: every file, symlink and empty directory;
/// the other directories come in as ancestors.
fn pack_owner(entry: &StagedEntry) -> Owner {
    match entry.kind {
        StagedKind::Dir { empty: false } => Owner::Nobody,
        _ => Owner::One(0),
    }
}

fn check_sd_overrides(
    path: &Path,
    manifest: &Manifest,
    targets: &HashMap<&str, Option<EntryKind>>,
) -> Result<(), PackError> {
    for (index, o) in manifest.sd_overrides.iter().enumerate() {
        let problem = match targets.get(o.path.as_str()).and_then(Option::as_ref) {
            None => Some("not a payload entry"),
            Some(EntryKind::Symlink { .. }) => {
                Some("a symlink; symlinks cannot carry security descriptors")
            }
            Some(_) => None,
        };
        if let Some(problem) = problem {
            return Err(PackError::SdOverride {
                path: path.to_path_buf(),
                index,
                target: o.path.clone(),
                problem,
            });
        }
    }
    Ok(())
}

fn check_out_file(out: &Path) -> Result<(), PackError> {
    if out.is_dir() {
        return Err(PackError::Out {
            path: out.to_path_buf(),
            reason: "is a directory; pack writes one .peipkg file, give its path".into(),
        });
    }
    let parent = out.parent().unwrap_or(Path::new("/"));
    if !parent.is_dir() {
        return Err(PackError::Out {
            path: out.to_path_buf(),
            reason: format!("the directory {} does not exist", parent.display()),
        });
    }
    Ok(())
}
