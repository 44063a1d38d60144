//! Removing and making directory entries: a removal that never follows a
//! link, and the FIFOs tests use as entries no package can carry.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Remove a file, a symlink (never its target) or a whole directory tree;
/// a path that is already gone is not an error.
pub fn remove_all(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let res = if meta.is_dir() {
        fs::remove_dir_all(path)
    } else {
        fs::remove_file(path)
    };
    match res {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        other => other,
    }
}

/// Makes a FIFO at `path` with permission bits `mode`.
pub fn mkfifo(path: &Path, mode: u32) -> io::Result<()> {
    let c = CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    if unsafe { libc::mkfifo(c.as_ptr(), mode as libc::mode_t) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_all_never_follows_links_and_tolerates_absence() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("keep");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("x"), "x").unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        remove_all(&link).unwrap();
        assert!(target.join("x").exists());
        remove_all(&target).unwrap();
        assert!(!target.exists());
        remove_all(&target).unwrap();
    }

    #[test]
    fn mkfifo_makes_a_fifo() {
        use std::os::unix::fs::FileTypeExt;
        let d = tempfile::tempdir().unwrap();
        mkfifo(&d.path().join("p"), 0o600).unwrap();
        assert!(fs::symlink_metadata(d.path().join("p"))
            .unwrap()
            .file_type()
            .is_fifo());
        assert!(mkfifo(&d.path().join("p"), 0o600).is_err());
    }
}
