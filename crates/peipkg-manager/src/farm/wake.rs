//! A wake-up call between threads that cannot be missed: waiters remember
//! the last generation they saw, so a notify that lands between a check
//! and a wait still wakes them.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub struct Wake {
    gen: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    pub fn notify(&self) {
        if let Ok(mut g) = self.gen.lock() {
            *g = g.wrapping_add(1);
        }
        self.cv.notify_all();
    }

    /// The current generation, to pass to [`Wake::wait`].
    pub fn seen(&self) -> u64 {
        self.gen.lock().map(|g| *g).unwrap_or(0)
    }

    /// Waits until a notify after `seen`, or the timeout.
    pub fn wait(&self, seen: u64, timeout: Duration) {
        let Ok(g) = self.gen.lock() else { return };
        let _ = self.cv.wait_timeout_while(g, timeout, |g| *g == seen);
    }
}
