//! Directory operations the pipeline needs to be crash-safe: removing
//! trees without following symlinks, preparing a copy of the repository
//! that can be published into without touching the live one, and swapping
//! the two atomically.

use std::fs;
use std::io;
use std::path::Path;

pub(crate) use peipkg_os::remove_all;

/// Removes every `.git` entry (directory or gitlink file) below `root`, at
/// any depth, without descending into what it removes or following
/// symlinks. Builds must not see, or embed, repository metadata.
pub(crate) fn strip_git(root: &Path) -> io::Result<()> {
    for entry in fs::read_dir(root)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let path = entry.path();
        if entry.file_name() == ".git" {
            remove_all(&path)?;
        } else if kind.is_dir() {
            strip_git(&path)?;
        }
    }
    Ok(())
}

/// Makes `dst` a copy of `src` that can be modified without changing
/// `src`: package files (immutable once published) are hard-linked, every
/// other file is copied, because publishing rewrites indexes, signatures
/// and sidecars in place.
pub(crate) fn clone_for_publish(src: &Path, dst: &Path) -> io::Result<()> {
    replicate(src, dst, &|f| f.extension().is_some_and(|e| e == "peipkg"))
}

/// Hard-links a whole tree (used for upload snapshots of a live state,
/// whose files are never modified in place).
pub(crate) fn link_tree(src: &Path, dst: &Path) -> io::Result<()> {
    replicate(src, dst, &|_| true)
}

/// Recreates `src` at `dst`: directories and symlinks as such, a file
/// hard-linked when `link` says so (copied where the link is refused, as
/// across file systems), otherwise copied.
fn replicate(src: &Path, dst: &Path, link: &dyn Fn(&Path) -> bool) -> io::Result<()> {
    fs::create_dir_all(dst)?;
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let kind = entry.file_type()?;
        let from = entry.path();
        let to = dst.join(entry.file_name());
        if kind.is_dir() {
            replicate(&from, &to, link)?;
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&from)?, &to)?;
        } else if !link(&from) || fs::hard_link(&from, &to).is_err() {
            fs::copy(&from, &to)?;
        }
    }
    Ok(())
}

/// Atomically exchanges two directories (`renameat2(RENAME_EXCHANGE)`), so
/// the live repository is at every instant either the old state or the
/// new one. Falls back to two renames where the filesystem cannot
/// exchange; the window between them is then recovered at start.
pub(crate) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    match peipkg_os::exchange(a, b) {
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            let tmp = a.with_extension("swap");
            remove_all(&tmp)?;
            fs::rename(a, &tmp)?;
            fs::rename(b, a)?;
            fs::rename(&tmp, b)
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    #[test]
    fn strip_git_removes_dirs_and_gitlinks_at_any_depth() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join(".git/objects")).unwrap();
        fs::create_dir_all(r.join("sub/mod")).unwrap();
        fs::write(r.join("sub/mod/.git"), "gitdir: ../../.git/modules/x").unwrap();
        fs::write(r.join(".gitmodules"), "[submodule]").unwrap();
        fs::write(r.join("sub/mod/file.c"), "int x;").unwrap();
        strip_git(r).unwrap();
        assert!(!r.join(".git").exists());
        assert!(!r.join("sub/mod/.git").exists());
        assert!(r.join(".gitmodules").exists());
        assert!(r.join("sub/mod/file.c").exists());
    }

    #[test]
    fn publish_copy_links_packages_and_copies_the_rest() {
        let d = tempfile::tempdir().unwrap();
        let src = d.path().join("repo");
        fs::create_dir_all(src.join("p/a/1-1")).unwrap();
        fs::write(src.join("p/a/1-1/a_1-1_noarch.peipkg"), "pkg").unwrap();
        fs::write(src.join("repo.json"), "{}").unwrap();
        let dst = d.path().join("repo.next");
        clone_for_publish(&src, &dst).unwrap();
        let ino = |p: &Path| fs::metadata(p).unwrap().ino();
        assert_eq!(
            ino(&src.join("p/a/1-1/a_1-1_noarch.peipkg")),
            ino(&dst.join("p/a/1-1/a_1-1_noarch.peipkg"))
        );
        assert_ne!(ino(&src.join("repo.json")), ino(&dst.join("repo.json")));
        fs::write(dst.join("repo.json"), "{\"new\":1}").unwrap();
        assert_eq!(fs::read_to_string(src.join("repo.json")).unwrap(), "{}");
    }

    #[test]
    fn exchange_swaps_two_directories() {
        let d = tempfile::tempdir().unwrap();
        let a = d.path().join("a");
        let b = d.path().join("b");
        fs::create_dir_all(&a).unwrap();
        fs::create_dir_all(&b).unwrap();
        fs::write(a.join("f"), "old").unwrap();
        fs::write(b.join("f"), "new").unwrap();
        exchange(&a, &b).unwrap();
        assert_eq!(fs::read_to_string(a.join("f")).unwrap(), "new");
        assert_eq!(fs::read_to_string(b.join("f")).unwrap(), "old");
    }
}
