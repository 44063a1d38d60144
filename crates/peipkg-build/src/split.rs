//! A build split in two, for builds that run on machines that must never
//! hold a key (a cluster's build nodes).
//!
//! `stage` runs on the build node: the build script installs into a given
//! directory and nothing else happens (no key is asked for or loaded).
//! `seal` runs on the farm host: it copies that tree into its own private
//! staging area without following links (the node may still be writing
//! it), and from that copy does exactly what `build` does after the script
//! (`[[sign]]`, partition and layout checks, manifests, packing and
//! signing). So everything signed is a tree this process checked, and the
//! packages are byte-identical to `build` of the same inputs.

use std::path::{Path, PathBuf};

use crate::build::{
    check_interrupt, prepare_phase, run_script, seal_tree, BuildError, BuildRequest, Phase,
    Reporter,
};
use crate::signals;
use crate::staging::Staging;

/// Runs the build script of `req` with `$DESTDIR` = `staged` (which must
/// not exist yet). `req.out`, `req.sign_key` and `req.binary_sign_keys` are
/// not used. On failure `staged` is removed unless `req.keep_failed`.
pub fn stage(
    req: &BuildRequest,
    staged: &Path,
    reporter: &mut dyn Reporter,
) -> Result<PathBuf, BuildError> {
    let mut req = req.clone();
    req.sign_key = None;
    req.binary_sign_keys.clear();
    let prepared = prepare_phase(&req, Phase::Stage, reporter)?;
    let staged = std::path::absolute(staged).map_err(|e| BuildError::Staged {
        path: staged.to_path_buf(),
        reason: e.to_string(),
    })?;
    if std::fs::symlink_metadata(&staged).is_ok() {
        return Err(BuildError::Staged {
            path: staged,
            reason: "already exists; the staged tree must start empty".into(),
        });
    }
    signals::install();
    let staging = Staging::create().map_err(BuildError::Staging)?;
    std::fs::create_dir(&staged).map_err(|e| BuildError::Staged {
        path: staged.clone(),
        reason: format!("cannot create the staged directory: {e}"),
    })?;
    let outcome = run_script(&prepared, &staged, &staging.workdir(), &req, reporter);
    if let Err(e) = staging.remove() {
        reporter.warning(&format!("could not remove the staging directory: {e}"));
    }
    match outcome {
        Ok(()) => Ok(staged),
        Err(err) => {
            if req.keep_failed {
                reporter.note(&format!(
                    "kept the staged tree of the failed build: {}",
                    staged.display()
                ));
            } else {
                let _ = crate::staging::remove_tree(&staged);
            }
            Err(err)
        }
    }
}

/// Seals the tree a `stage` left in `staged` into packages in `req.out`,
/// as `build` would have. `req.source` is not used.
pub fn seal(
    req: &BuildRequest,
    staged: &Path,
    reporter: &mut dyn Reporter,
) -> Result<Vec<PathBuf>, BuildError> {
    let prepared = prepare_phase(req, Phase::Seal, reporter)?;
    signals::install();
    let staging = Staging::create().map_err(BuildError::Staging)?;
    let copied =
        peipkg_os::copy_tree_nofollow(staged, &staging.destdir()).map_err(|e| BuildError::Staged {
            path: staged.to_path_buf(),
            reason: format!("copy the staged tree: {e}"),
        });
    let outcome = copied
        .and_then(|()| check_interrupt())
        .and_then(|()| seal_tree(&prepared, &staging.destdir(), req, reporter));
    if let Err(e) = staging.remove() {
        reporter.warning(&format!("could not remove the staging directory: {e}"));
    }
    outcome
}
