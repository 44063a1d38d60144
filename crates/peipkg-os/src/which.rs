//! Finding a program the way a shell does, in one place so that the build
//! (its `sh`, `bwrap`) and the manager (git, rclone, the peipkg programs)
//! agree on what counts as found.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

/// `name` if it contains a slash and is an executable file; otherwise the
/// first executable file `name` in the directories of `PATH`.
pub fn which(name: &str) -> Option<PathBuf> {
    which_in(name, &std::env::var_os("PATH")?)
}

/// Like [`which`], searching the directories of the `PATH` value `path`.
/// Empty entries are skipped rather than meaning the working directory, so
/// a stray `::` cannot make a program in the current directory be run.
pub fn which_in(name: &str, path: &OsStr) -> Option<PathBuf> {
    if name.contains('/') {
        let p = PathBuf::from(name);
        return is_executable(&p).then_some(p);
    }
    std::env::split_paths(path)
        .filter(|d| !d.as_os_str().is_empty())
        .map(|d| d.join(name))
        .find(|p| is_executable(p))
}

/// Whether `p` is a regular file (after links) with an execute bit set.
pub fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_executables_on_the_path_and_skips_the_rest() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        std::fs::create_dir(&a).unwrap();
        std::fs::create_dir(&b).unwrap();
        std::fs::write(a.join("tool"), "").unwrap();
        std::fs::write(b.join("tool"), "").unwrap();
        std::fs::set_permissions(b.join("tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let path = std::env::join_paths([&a, &b]).unwrap();
        assert_eq!(which_in("tool", &path), Some(b.join("tool")));
        assert_eq!(which_in("missing", &path), None);
        assert_eq!(which_in("tool", OsStr::new("::")), None);
        let full = b.join("tool").display().to_string();
        assert_eq!(which_in(&full, OsStr::new("")), Some(b.join("tool")));
        assert!(which("sh").is_some());
    }
}
