//! Wake-up calls between the farm's threads. Each loop sleeps on its own
//! [`Wake`] and is woken when work for it appears, or when the farm stops.
//!
//! A wake cannot be missed: waiters remember the last generation they saw,
//! so a notify that lands between a check and a wait still wakes them.

use std::sync::{Condvar, Mutex};
use std::time::Duration;

#[derive(Default)]
pub(crate) struct Wake {
    gen: Mutex<u64>,
    cv: Condvar,
}

impl Wake {
    pub(crate) fn notify(&self) {
        if let Ok(mut g) = self.gen.lock() {
            *g = g.wrapping_add(1);
        }
        self.cv.notify_all();
    }

    /// The current generation, to pass to [`Wake::wait`].
    pub(crate) fn seen(&self) -> u64 {
        self.gen.lock().map(|g| *g).unwrap_or(0)
    }

    /// Waits until a notify after `seen`, or the timeout.
    pub(crate) fn wait(&self, seen: u64, timeout: Duration) {
        let Ok(g) = self.gen.lock() else { return };
        let _ = self.cv.wait_timeout_while(g, timeout, |g| *g == seen);
    }
}

/// One wake per long-running loop. Shared by every part that hands work
/// to another (a poll that queues wakes the workers, a build that
/// finishes wakes the publisher, and so on).
#[derive(Default)]
pub(crate) struct Wakes {
    pub(crate) workers: Wake,
    pub(crate) publisher: Wake,
    pub(crate) uploader: Wake,
    pub(crate) scheduler: Wake,
}

impl Wakes {
    /// Wakes every loop, so each sees a change that concerns all of them
    /// (a stop, a reloaded config).
    pub(super) fn all(&self) {
        self.workers.notify();
        self.publisher.notify();
        self.uploader.notify();
        self.scheduler.notify();
    }
}
