//! Resource use of a finished child or of this process (`wait4`,
//! `getrusage`), for the benchmarks: each figure, peak RSS above all, then
//! belongs to one operation alone.

use std::io;
use std::os::unix::process::ExitStatusExt;
use std::process::{Child, ExitStatus};
use std::time::Duration;

/// CPU time and peak resident set size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub user: Duration,
    pub system: Duration,
    pub max_rss_kib: u64,
}

impl Usage {
    fn from_raw(ru: &libc::rusage) -> Usage {
        let tv = |t: libc::timeval| {
            Duration::from_secs(t.tv_sec.max(0) as u64)
                + Duration::from_micros(t.tv_usec.max(0) as u64)
        };
        Usage {
            user: tv(ru.ru_utime),
            system: tv(ru.ru_stime),
            max_rss_kib: ru.ru_maxrss.max(0) as u64,
        }
    }
}

/// Waits for `child` and returns its exit status and the resources it and
/// every descendant it waited for used.
pub fn wait_with_usage(child: Child) -> io::Result<(ExitStatus, Usage)> {
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let rc = loop {
        // SAFETY: waiting for our own child with valid out-pointers.
        let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
        if rc == -1 && io::Error::last_os_error().kind() == io::ErrorKind::Interrupted {
            continue;
        }
        break rc;
    };
    if rc != pid {
        return Err(io::Error::last_os_error());
    }
    // Reaped above: dropping the handle neither waits nor kills.
    drop(child);
    Ok((ExitStatus::from_raw(status), Usage::from_raw(&ru)))
}

/// The resources this process has used so far.
pub fn own_usage() -> Usage {
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: one valid rusage for the duration of the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    Usage::from_raw(&ru)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_childs_usage_and_status_are_returned() {
        let child = std::process::Command::new("sh")
            .args(["-c", "exit 3"])
            .spawn()
            .unwrap();
        let (status, usage) = super::wait_with_usage(child).unwrap();
        assert_eq!(status.code(), Some(3));
        assert!(usage.max_rss_kib > 0);
        assert!(super::own_usage().max_rss_kib > 0);
    }
}
