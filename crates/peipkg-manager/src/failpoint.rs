//! Fault injection for the crash matrix (tests/crash_matrix.rs and the
//! `crash-farm` benchmark): with `PEIPKG_MANAGER_FAILPOINT=<point>[@ms]` in
//! the environment, the manager SIGKILLs itself when it reaches `<point>`
//! (after `ms` milliseconds, during which it keeps working). Without the
//! variable every hit is one cheap check of a cached `None`.
//!
//! Points: `polled` (a poll recorded its result), `kept` (a build's outputs
//! moved to `built/<id>` but not yet recorded), `built` (recorded, not yet
//! published), `switched` (the new state is live, not yet recorded), and
//! `spawn:<text>`: right after starting a child whose command line contains
//! `<text>` (`spawn:clone`, `spawn:peipkg-build`, `spawn:repo publish`,
//! `spawn:copy` for an upload pass).

use std::sync::OnceLock;
use std::time::Duration;

fn armed() -> Option<&'static (String, u64)> {
    static AT: OnceLock<Option<(String, u64)>> = OnceLock::new();
    AT.get_or_init(|| {
        let v = std::env::var("PEIPKG_MANAGER_FAILPOINT").ok()?;
        match v.rsplit_once('@') {
            Some((p, ms)) => Some((p.to_string(), ms.parse().unwrap_or(0))),
            None => Some((v, 0)),
        }
    })
    .as_ref()
}

/// Kills the manager if `point` is the armed one.
pub fn hit(point: &str) {
    if let Some((p, ms)) = armed() {
        if p == point {
            die_after(*ms);
        }
    }
}

/// Kills the manager if the armed point is `spawn:<text>` and `command`
/// contains `<text>`.
pub fn hit_spawn(command: &str) {
    if let Some((p, ms)) = armed() {
        if let Some(text) = p.strip_prefix("spawn:") {
            if command.contains(text) {
                die_after(*ms);
            }
        }
    }
}

fn die_after(ms: u64) {
    let kill = || {
        let _ = peipkg_os::process::kill(std::process::id() as i32, libc::SIGKILL);
    };
    if ms == 0 {
        kill();
    } else {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(ms));
            kill();
        });
    }
}
