//! `verify`: audit a state the way a consumer would, and then some.
//!
//! **metadata** reads only the small files: the descriptor's rules, every
//! declared key file, the three detached signatures (strict envelopes;
//! revoked keys and transitioning keys past `valid_until` rejected), the
//! index headers, every entry's identity fields, archive order and
//! uniqueness, active ⊆ archive, and active = the per-name maximum of the
//! archive. It also checks the signer recorded for each package at publish
//! time against the keys' current statuses.
//!
//! **hashes** reads each package file the archive references (by default
//! the state's own copies under its URL paths; `--all-packages-dir` looks
//! them up by file name, or by URL path in a state-shaped directory), on
//! all cores, and compares its SHA-256 and size with the signed index.
//! With `deep` it runs the full package verification instead: package
//! hash and size, signature by an acceptable key, payload, and that the
//! index entry matches the package's manifest.
//!
//! Issues fail the audit; warnings do not. The texts of the reference's
//! checks are kept so existing log scrapers keep matching.

mod hashes;
mod metadata;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::commit;
use crate::error::Result;
use crate::lock::{LockMode, StateLock};
use crate::state::State;
use crate::timestamp::Timestamp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Metadata,
    Hashes,
    Both,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "metadata" => Some(Mode::Metadata),
            "hashes" => Some(Mode::Hashes),
            "both" => Some(Mode::Both),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Metadata => "metadata",
            Mode::Hashes => "hashes",
            Mode::Both => "both",
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerifyOptions {
    pub repo: PathBuf,
    pub mode: Mode,
    /// Look packages up here by file name instead of under the state.
    pub all_packages_dir: Option<PathBuf>,
    /// The instant key validity is judged at (normally now).
    pub at: Timestamp,
    /// Treat unsigned documents and packages as warnings, not issues.
    pub allow_unsigned: bool,
    pub wait: Duration,
    /// Worker threads for the hash stage; 0 means one per core.
    pub jobs: usize,
    /// Hash stage: fully re-verify every package instead of comparing its
    /// file hash with the signed index.
    pub deep: bool,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which check: descriptor, keys, signatures, indexes, entries, order,
    /// active, packages, hashes, state.
    pub check: &'static str,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Counts {
    pub keys: usize,
    pub active_entries: usize,
    pub archive_entries: usize,
    pub packages_hashed: usize,
    pub bytes_hashed: u64,
    pub packages_skipped: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub repo: String,
    pub mode: &'static str,
    pub ok: bool,
    pub issues: Vec<Finding>,
    pub warnings: Vec<Finding>,
    pub counts: Counts,
}

/// Collects findings while the checks run.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub issues: Vec<Finding>,
    pub warnings: Vec<Finding>,
}

impl Findings {
    pub fn issue(&mut self, check: &'static str, message: impl Into<String>) {
        self.issues.push(Finding {
            check,
            message: message.into(),
        });
    }

    pub fn warn(&mut self, check: &'static str, message: impl Into<String>) {
        self.warnings.push(Finding {
            check,
            message: message.into(),
        });
    }
}

/// Run the audit. `Err` only when the state cannot be read at all (a
/// missing or unparseable document): that is not a finding, there is
/// nothing to audit.
pub fn verify(o: &VerifyOptions) -> Result<Report> {
    let mut ph = crate::timings::Phases::start();
    let _lock = StateLock::acquire(&o.repo, LockMode::Shared, o.wait)?;
    let state = State::load(&o.repo)?;
    ph.mark("load state");
    let mut f = Findings::default();
    let mut counts = Counts {
        keys: state.descriptor.repo.signing.keys.len(),
        active_entries: state.active.packages.len(),
        archive_entries: state.archive.packages.len(),
        ..Counts::default()
    };
    for left in commit::leftovers(&o.repo) {
        f.warn(
            "state",
            format!(
                "{} is left over from an interrupted publish; the state itself is intact, and the next publish removes it",
                left.display()
            ),
        );
    }
    let keys = metadata::KeyTable::new(&state, &o.at);
    if matches!(o.mode, Mode::Metadata | Mode::Both) {
        metadata::check(&state, &keys, o, &mut f);
        ph.mark("metadata checks");
    }
    if matches!(o.mode, Mode::Hashes | Mode::Both) {
        if o.mode == Mode::Both && !f.issues.is_empty() {
            f.warn(
                "hashes",
                "skipping hash check because metadata check found issues",
            );
        } else {
            hashes::check(&state, &keys, o, &mut f, &mut counts);
        }
    }
    Ok(Report {
        repo: o.repo.display().to_string(),
        mode: o.mode.as_str(),
        ok: f.issues.is_empty(),
        issues: f.issues,
        warnings: f.warnings,
        counts,
    })
}

/// The state-relative path of a package file, or `None` if the URL is
/// external or unusable.
pub(crate) fn local_path(root: &Path, url: &str) -> Option<PathBuf> {
    match crate::publish::url::locate_recorded(url) {
        Ok(crate::publish::url::Location::Local(rel)) => Some(root.join(rel)),
        _ => None,
    }
}
