//! Durable file-system primitives: synced writes, directory fsync, the
//! atomic exchange of two paths.
//!
//! Crash safety (see [`crate::commit`]) rests on three facts: a file's bytes
//! are on disk once `fsync` on it returns; a directory entry is on disk once
//! `fsync` on the directory returns; and `rename`/`renameat2` change a
//! directory entry atomically. Everything here exists to apply those facts
//! without forgetting one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use crate::error::{IoContext, Result};

/// Write `bytes` to a new file at `path` (replacing any file there) and
/// fsync it. The caller fsyncs the parent directory once for many files.
pub fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .open(path)
        .ctx("create", path)?;
    f.write_all(bytes).ctx("write", path)?;
    f.sync_all().ctx("fsync", path)
}

/// Fsync a directory so the entries created, renamed or removed in it are
/// durable.
pub fn fsync_dir(path: &Path) -> Result<()> {
    File::open(path)
        .and_then(|d| d.sync_all())
        .ctx("fsync directory", path)
}

/// Flush every written file of the file system holding `path` to disk
/// (`syncfs`): one call instead of an fsync per file for bulk writes.
pub fn syncfs(path: &Path) -> Result<()> {
    let f = File::open(path).ctx("open", path)?;
    peipkg_os::sync::syncfs(&f)
        .map_err(|e| crate::error::RepoError::io("sync file system of", path, e))
}

/// Create `dir` and any missing parents below `root` (which must exist),
/// fsyncing each parent that gained an entry. Returns the directories that
/// were created, outermost first.
pub fn create_dirs(root: &Path, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut missing = Vec::new();
    let mut cur = dir.to_path_buf();
    while cur != root && !cur.is_dir() {
        missing.push(cur.clone());
        match cur.parent() {
            Some(p) => cur = p.to_path_buf(),
            None => break,
        }
    }
    missing.reverse();
    for d in &missing {
        match fs::create_dir(d) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(crate::error::RepoError::io("create directory", d, e)),
        }
        if let Some(parent) = d.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(missing)
}

pub use peipkg_os::exchange;

/// Remove a file or a whole directory tree; a missing path is not an error.
pub fn remove_all(path: &Path) -> Result<()> {
    peipkg_os::remove_all(path).map_err(|e| crate::error::RepoError::io("remove", path, e))
}

/// Hard-link `src` to `dst`, or copy (and fsync) when linking is not
/// possible. Linking is safe here because no file of a state is ever
/// modified in place: every change writes a new file and renames it.
pub fn link_or_copy(src: &Path, dst: &Path) -> Result<()> {
    match fs::hard_link(src, dst) {
        Ok(()) => Ok(()),
        Err(_) => copy_synced(src, dst),
    }
}

/// Copy `src` to `dst` (replacing it) and fsync the copy.
pub fn copy_synced(src: &Path, dst: &Path) -> Result<()> {
    fs::copy(src, dst).ctx("copy to", dst)?;
    OpenOptions::new()
        .write(true)
        .open(dst)
        .and_then(|f| f.sync_all())
        .ctx("fsync", dst)
}

/// Whether a directory has no entries at all (a hidden file counts).
pub fn dir_is_empty(path: &Path) -> Result<bool> {
    let mut it = fs::read_dir(path).ctx("read directory", path)?;
    Ok(it.next().is_none())
}

/// The absolute form of `path` without requiring it to exist: the longest
/// existing ancestor is canonicalised and the rest appended. Two spellings
/// of one directory (`ip` and `./ip/`) give the same result.
pub fn absolute(path: &Path) -> Result<PathBuf> {
    let abs = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .ctx("read current directory", Path::new("."))?
            .join(path)
    };
    let parts: Vec<std::path::Component> = abs.components().collect();
    for split in (1..=parts.len()).rev() {
        let head: PathBuf = parts[..split].iter().collect();
        if let Ok(mut out) = fs::canonicalize(&head) {
            for part in &parts[split..] {
                match part {
                    std::path::Component::CurDir => {}
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    other => out.push(other.as_os_str()),
                }
            }
            return Ok(out);
        }
    }
    Ok(abs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exchange_swaps_directories() {
        let t = tempfile::tempdir().unwrap();
        let a = t.path().join("a");
        let b = t.path().join("b");
        fs::create_dir(&a).unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(a.join("x"), "from a").unwrap();
        fs::write(b.join("y"), "from b").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(fs::read_to_string(a.join("y")).unwrap(), "from b");
        assert_eq!(fs::read_to_string(b.join("x")).unwrap(), "from a");
    }

    #[test]
    fn absolute_resolves_two_spellings_to_one_path() {
        let t = tempfile::tempdir().unwrap();
        let d = t.path().join("ip");
        fs::create_dir(&d).unwrap();
        let a = absolute(&d).unwrap();
        let b = absolute(&t.path().join("ip/./")).unwrap();
        assert_eq!(a, b);
        let missing = absolute(&t.path().join("ip/new/../other")).unwrap();
        assert_eq!(missing, a.join("other"));
    }

    #[test]
    fn create_dirs_reports_what_it_made() {
        let t = tempfile::tempdir().unwrap();
        let made = create_dirs(t.path(), &t.path().join("p/a/b")).unwrap();
        assert_eq!(made.len(), 3);
        assert!(t.path().join("p/a/b").is_dir());
        assert!(create_dirs(t.path(), &t.path().join("p/a"))
            .unwrap()
            .is_empty());
    }
}
