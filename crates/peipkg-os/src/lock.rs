//! `flock`: one writer per state directory.

use std::fs;
use std::io;
use std::os::unix::io::AsRawFd;
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
}
