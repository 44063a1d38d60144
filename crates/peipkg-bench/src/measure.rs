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
    let (status, ru) = peipkg_os::usage::wait_with_usage(child)
        .map_err(|e| anyhow::anyhow!("wait4 failed: {e}"))?;
    let wall_s = start.elapsed().as_secs_f64();
    anyhow::ensure!(
        status.success(),
        "measured command failed with status {status}: {cmd:?}"
    );
    Ok(Usage {
        wall_s,
        cpu_s: (ru.user + ru.system).as_secs_f64(),
        max_rss_mib: ru.max_rss_kib as f64 / 1024.0,
    })
}
