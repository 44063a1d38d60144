//! File-system primitives that both the repository writer and the farm
//! manager build their crash safety on (an atomic exchange, a removal that
//! never follows links, and the `flock` both use for one writer per state). They live in one place because
//! each is easy to get subtly wrong (an unsafe syscall, a followed link) and
//! two copies would drift.

mod copy;

pub use copy::copy_tree_nofollow;

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;
use std::time::{Duration, Instant};

/// Takes an `flock` on `file` (exclusive or shared), retrying every 50 ms
/// until `deadline`; a deadline already past means one try. `Ok(false)`
/// when another open file still holds a conflicting lock at the deadline.
/// The kernel drops the lock when the file is closed or its holder dies,
/// so a crashed holder never leaves it behind.
pub fn flock_until(file: &fs::File, exclusive: bool, deadline: Instant) -> io::Result<bool> {
    let op = if exclusive {
        libc::LOCK_EX
    } else {
        libc::LOCK_SH
    } | libc::LOCK_NB;
    loop {
        // SAFETY: flock on a descriptor the caller owns; no memory involved.
        if unsafe { libc::flock(file.as_raw_fd(), op) } == 0 {
            return Ok(true);
        }
        let err = io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(err);
        }
        if Instant::now() >= deadline {
            return Ok(false);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

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

#[cfg(test)]
mod tests {
    #[test]
    fn flock_until_waits_for_the_holder_and_gives_up_at_the_deadline() {
        use super::flock_until;
        use std::time::{Duration, Instant};
        let dir = tempfile::tempdir().unwrap();
        let first = std::fs::File::open(dir.path()).unwrap();
        let second = std::fs::File::open(dir.path()).unwrap();
        assert!(flock_until(&first, true, Instant::now()).unwrap());
        let t = Instant::now();
        assert!(!flock_until(&second, false, t + Duration::from_millis(120)).unwrap());
        assert!(t.elapsed() >= Duration::from_millis(120));
        let holder = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(150));
            drop(first);
        });
        assert!(flock_until(&second, true, Instant::now() + Duration::from_secs(10)).unwrap());
        holder.join().unwrap();
    }

    use super::*;

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
}
