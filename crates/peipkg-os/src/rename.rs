//! `renameat2(RENAME_EXCHANGE)`: replacing a tree so that every reader sees
//! either the old one or the new one.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// Atomically swap two existing paths (files or directories) on the same
/// file system with `renameat2(RENAME_EXCHANGE)`: at every instant each
/// name refers to one complete tree. Fails with `ErrorKind::Unsupported`
/// where the file system cannot do it, so each caller chooses its fallback.
pub fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    let ca = CString::new(a.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    let cb = CString::new(b.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "path contains NUL"))?;
    // SAFETY: both pointers are valid NUL-terminated strings that outlive
    // the call; AT_FDCWD makes relative paths resolve as `rename` would.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if rc == 0 {
        return Ok(());
    }
    let err = io::Error::last_os_error();
    match err.raw_os_error() {
        Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Err(io::Error::new(
            io::ErrorKind::Unsupported,
            format!("atomic exchange (renameat2 RENAME_EXCHANGE) is not supported here: {err}"),
        )),
        _ => Err(err),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn exchange_swaps_two_trees() {
        let d = tempfile::tempdir().unwrap();
        let (a, b) = (d.path().join("a"), d.path().join("b"));
        fs::create_dir(&a).unwrap();
        fs::write(a.join("f"), "old").unwrap();
        fs::create_dir(&b).unwrap();
        fs::write(b.join("f"), "new").unwrap();
        match exchange(&a, &b) {
            Ok(()) => {
                assert_eq!(fs::read_to_string(a.join("f")).unwrap(), "new");
                assert_eq!(fs::read_to_string(b.join("f")).unwrap(), "old");
            }
            Err(e) => assert_eq!(e.kind(), io::ErrorKind::Unsupported),
        }
    }
}
