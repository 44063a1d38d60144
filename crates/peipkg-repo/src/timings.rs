//! Phase timings for performance work: with `PEIPKG_REPO_TIMINGS=1` in the
//! environment, each phase of a command prints its duration to stderr.

use std::sync::OnceLock;
use std::time::Instant;

fn enabled() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("PEIPKG_REPO_TIMINGS").is_some_and(|v| v != "0"))
}

/// Marks phase boundaries.
pub struct Phases {
    last: Instant,
}

impl Phases {
    pub fn start() -> Phases {
        Phases {
            last: Instant::now(),
        }
    }

    /// Report the time since the previous mark under `name`.
    pub fn mark(&mut self, name: &str) {
        if enabled() {
            let now = Instant::now();
            eprintln!(
                "peipkg-repo: timing: {name}: {:.1} ms",
                (now - self.last).as_secs_f64() * 1000.0
            );
            self.last = now;
        }
    }
}
