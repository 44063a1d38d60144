//! The daemon's build workers, sized by `[build].workers` and resized by a
//! config reload without a restart.
//!
//! Each worker has an index. A worker whose index is no longer below the
//! configured count leaves after the build it is running (if any); a
//! reload that raises the count starts the missing indexes. Both decisions
//! are taken under one lock so a shrink and a grow that race cannot lose a
//! worker or start one twice.

use std::collections::BTreeSet;
use std::sync::{Mutex, MutexGuard};
use std::thread::JoinHandle;

#[derive(Default)]
pub(crate) struct Pool {
    live: Mutex<BTreeSet<usize>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    fn live(&self) -> MutexGuard<'_, BTreeSet<usize>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Workers running now (not the configured count: a worker above the
    /// new count leaves only when its build is done).
    pub(crate) fn count(&self) -> usize {
        self.live().len()
    }

    /// Starts workers (with `spawn`) until indexes `0..target` run, unless
    /// `stopping` says the farm takes no new work.
    pub(super) fn ensure(
        &self,
        target: usize,
        stopping: impl FnOnce() -> bool,
        spawn: impl Fn(usize) -> JoinHandle<()>,
    ) {
        let mut live = self.live();
        if stopping() {
            return;
        }
        for i in 0..target {
            if live.insert(i) {
                let h = spawn(i);
                self.handles
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(h);
            }
        }
    }

    /// Removes worker `index` from the pool if `leave` says so, deciding
    /// under the pool's lock; returns whether it leaves.
    pub(super) fn leave_if(&self, index: usize, leave: impl FnOnce() -> bool) -> bool {
        let mut live = self.live();
        if leave() {
            live.remove(&index);
            return true;
        }
        false
    }

    /// Waits for every worker to leave (after the farm stops).
    pub(super) fn join(&self) {
        loop {
            let handles: Vec<JoinHandle<()>> =
                std::mem::take(&mut *self.handles.lock().unwrap_or_else(|p| p.into_inner()));
            if handles.is_empty() {
                return;
            }
            for h in handles {
                let _ = h.join();
            }
        }
    }
}
