//! One writer per state directory.
//!
//! The lock is an `flock` on the state directory itself, so it needs no
//! extra file in the state (nothing to upload, nothing to clean up), and the
//! kernel drops it when its holder dies, so a crashed publish never leaves a
//! stale lock behind. Writers take it exclusively; `verify` takes it shared,
//! so it never reads a state half-way through a switch.
//!
//! A whole-state switch ([`crate::commit::replace_tree`]) puts a new
//! directory at the state's path. A process that was waiting on the old
//! directory would then hold a lock on a directory that is no longer the
//! state, so after acquiring we check that the path still names the locked
//! directory, and start over if not.

use std::fs::File;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::error::{IoContext, RepoError, Result};

/// A held lock; released on drop.
#[derive(Debug)]
pub struct StateLock {
    _file: File,
    path: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    Shared,
    Exclusive,
}

impl StateLock {
    /// Lock the directory `dir`. With `wait` zero the call refuses at once
    /// when another process holds the lock; otherwise it waits up to `wait`.
    pub fn acquire(dir: &Path, mode: LockMode, wait: Duration) -> Result<StateLock> {
        let deadline = Instant::now() + wait;
        loop {
            let file = File::open(dir).ctx("open state directory", dir)?;
            let exclusive = mode == LockMode::Exclusive;
            let locked = peipkg_os::flock_until(&file, exclusive, deadline)
                .map_err(|err| RepoError::io("lock", dir, err))?;
            if !locked {
                return Err(RepoError::Locked(format!(
                    "{}: another peipkg-repo process is {} this repository state (its lock is held); \
                     retry when it has finished, or pass --wait DURATION to wait for it",
                    dir.display(),
                    match mode {
                        LockMode::Shared => "changing",
                        LockMode::Exclusive => "using",
                    }
                )));
            }
            let held = file.metadata().ctx("inspect", dir)?;
            match std::fs::metadata(dir) {
                Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {
                    return Ok(StateLock {
                        _file: file,
                        path: dir.to_path_buf(),
                    });
                }
                // The state was switched while we waited: lock the new one.
                Ok(_) => continue,
                Err(e) => return Err(RepoError::io("inspect", dir, e)),
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Try to take an exclusive lock on `dir` without waiting: `Ok(Some)` when
/// nobody holds it. Used to tell abandoned work directories from live ones.
pub fn try_exclusive(dir: &Path) -> Result<Option<File>> {
    let file = File::open(dir).ctx("open", dir)?;
    // Any failure to lock counts as "held": the directory is left alone.
    let locked = peipkg_os::flock_until(&file, true, Instant::now()).unwrap_or(false);
    Ok(locked.then_some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_exclusive_lock_is_refused_and_names_the_directory() {
        let t = tempfile::tempdir().unwrap();
        let first = StateLock::acquire(t.path(), LockMode::Exclusive, Duration::ZERO).unwrap();
        let err = StateLock::acquire(t.path(), LockMode::Exclusive, Duration::from_millis(120))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&t.path().display().to_string()), "{err}");
        assert!(err.contains("lock is held"), "{err}");
        drop(first);
        StateLock::acquire(t.path(), LockMode::Exclusive, Duration::ZERO).unwrap();
    }

    #[test]
    fn shared_locks_coexist_but_exclude_a_writer() {
        let t = tempfile::tempdir().unwrap();
        let a = StateLock::acquire(t.path(), LockMode::Shared, Duration::ZERO).unwrap();
        let _b = StateLock::acquire(t.path(), LockMode::Shared, Duration::ZERO).unwrap();
        assert!(StateLock::acquire(t.path(), LockMode::Exclusive, Duration::ZERO).is_err());
        drop(a);
    }
}
