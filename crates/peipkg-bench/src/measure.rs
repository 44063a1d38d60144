//! Run one measured operation in a child process and read its resource use
//! from `wait4`, so each figure (especially peak RSS) belongs to that
//! operation alone.

use std::process::Command;
use std::time::Instant;

#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub wall_s: f64,
    pub cpu_s: f64,
    pub max_rss_mib: f64,
}

/// Run `cmd`, wait for it, and return its usage; fails if it fails.
pub fn run_measured(cmd: &mut Command) -> anyhow::Result<Usage> {
    let start = Instant::now();
    let child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data, zero is a valid bit pattern; wait4 fills it.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting on our own child with valid pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall_s = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        r == pid,
        "wait4 failed: {}",
        std::io::Error::last_os_error()
    );
    anyhow::ensure!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "measured command failed with status {status}: {cmd:?}"
    );
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok(Usage {
        wall_s,
        cpu_s: tv(ru.ru_utime) + tv(ru.ru_stime),
        max_rss_mib: ru.ru_maxrss as f64 / 1024.0,
    })
}
