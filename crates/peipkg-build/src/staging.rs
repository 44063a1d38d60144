//! The per-build scratch area: `<tmp>/peipkg-build-XXXXXX/{destdir,work}`.
//!
//! It is removed on every way out of a build (success, error, panic
//! unwinding, interruption) by its `Drop`, unless the caller asks to keep it
//! for debugging a failed build. Removal must cope with what build scripts
//! leave behind: `cp -a` of a read-only source produces read-only
//! directories, which a plain recursive delete cannot empty when not root.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// A staging area that deletes itself when dropped.
#[derive(Debug)]
pub struct Staging {
    root: PathBuf,
    armed: bool,
}

impl Staging {
    /// Creates a fresh staging area under the system temporary directory
    /// (`$TMPDIR` or `/tmp`).
    pub fn create() -> io::Result<Staging> {
        Self::create_in(&std::env::temp_dir())
    }

    /// Creates a fresh staging area under `parent`.
    pub fn create_in(parent: &Path) -> io::Result<Staging> {
        let root = tempfile::Builder::new()
            .prefix("peipkg-build-")
            .tempdir_in(parent)?
            .keep();
        // From here on the directory exists, so arm the cleanup before any
        // further step can fail.
        let staging = Staging { root, armed: true };
        fs::create_dir(staging.destdir())?;
        fs::create_dir(staging.workdir())?;
        Ok(staging)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the build script installs (`$DESTDIR`).
    pub fn destdir(&self) -> PathBuf {
        self.root.join("destdir")
    }

    /// The build script's working directory.
    pub fn workdir(&self) -> PathBuf {
        self.root.join("work")
    }

    /// Disarms the cleanup and returns the path, for `--keep-failed`.
    pub fn keep(mut self) -> PathBuf {
        self.armed = false;
        self.root.clone()
    }

    /// Removes the area now, reporting failure (dropping removes it too, but
    /// silently).
    pub fn remove(mut self) -> io::Result<()> {
        self.armed = false;
        remove_tree(&self.root)
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if self.armed {
            // Best effort: there is nobody to report to from a destructor,
            // and failing the build because cleanup failed would hide the
            // build's own outcome.
            let _ = remove_tree(&self.root);
        }
    }
}

/// Deletes `path` recursively, first making directories writable where a
/// plain delete was refused.
pub fn remove_tree(path: &Path) -> io::Result<()> {
    match fs::remove_dir_all(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(_) => {
            make_writable(path);
            fs::remove_dir_all(path)
        }
    }
}

/// Gives the owner rwx on every directory below `path` (never following
/// symlinks), so their entries can be removed.
fn make_writable(path: &Path) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return;
    };
    if !meta.is_dir() {
        return;
    }
    let mode = meta.permissions().mode();
    if mode & 0o700 != 0o700 {
        let _ = fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o700));
    }
    if let Ok(entries) = fs::read_dir(path) {
        for entry in entries.flatten() {
            make_writable(&entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_layout_and_removes_on_drop() {
        let parent = tempfile::tempdir().unwrap();
        let staging = Staging::create_in(parent.path()).unwrap();
        let root = staging.root().to_path_buf();
        assert!(root
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("peipkg-build-"));
        assert!(staging.destdir().is_dir());
        assert!(staging.workdir().is_dir());
        fs::write(staging.destdir().join("f"), b"x").unwrap();
        drop(staging);
        assert!(!root.exists());
    }

    #[test]
    fn removes_read_only_trees() {
        let parent = tempfile::tempdir().unwrap();
        let staging = Staging::create_in(parent.path()).unwrap();
        let root = staging.root().to_path_buf();
        let ro = staging.destdir().join("ro");
        fs::create_dir(&ro).unwrap();
        fs::write(ro.join("file"), b"x").unwrap();
        fs::set_permissions(&ro, fs::Permissions::from_mode(0o500)).unwrap();
        staging.remove().unwrap();
        assert!(!root.exists());
    }

    #[test]
    fn keep_leaves_the_tree() {
        let parent = tempfile::tempdir().unwrap();
        let staging = Staging::create_in(parent.path()).unwrap();
        let kept = staging.keep();
        assert!(kept.join("destdir").is_dir());
        remove_tree(&kept).unwrap();
        assert!(!kept.exists());
    }
}
