//! The daemon's build workers, sized by `[build].workers` and resized by a
//! config reload without a restart.
//!
//! Each worker has an index. A worker whose index is no longer below the
//! configured count leaves after the build it is running (if any); a
//! reload that raises the count starts the missing indexes. Both decisions
//! are taken under one lock so a shrink and a grow that race cannot lose a
//! worker or start one twice.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;

use super::Farm;

#[derive(Default)]
pub struct Pool {
    live: Mutex<BTreeSet<usize>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Pool {
    fn live(&self) -> MutexGuard<'_, BTreeSet<usize>> {
        self.live.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Workers running now (not the configured count: a worker above the
    /// new count leaves only when its build is done).
    pub fn count(&self) -> usize {
        self.live().len()
    }
}

impl Farm {
    /// Starts workers until `[build].workers` are running. No-op once the
    /// farm is stopping.
    pub fn ensure_workers(self: &Arc<Self>) {
        let target = self.cfg().build.workers;
        let mut live = self.pool.live();
        if self.is_stopping() {
            return;
        }
        for i in 0..target {
            if live.insert(i) {
                let f = Arc::clone(self);
                let h = std::thread::spawn(move || f.worker_loop(Some(i), None));
                self.pool
                    .handles
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .push(h);
            }
        }
    }

    /// Whether worker `index` should leave now (and, if so, it is removed
    /// from the pool in the same step).
    pub(crate) fn worker_should_leave(&self, index: usize) -> bool {
        let mut live = self.pool.live();
        if self.is_stopping() || index >= self.cfg().build.workers {
            live.remove(&index);
            return true;
        }
        false
    }

    /// Waits for every worker to leave (after [`Farm::stop`]).
    pub fn join_workers(&self) {
        loop {
            let handles: Vec<JoinHandle<()>> =
                std::mem::take(&mut *self.pool.handles.lock().unwrap_or_else(|p| p.into_inner()));
            if handles.is_empty() {
                return;
            }
            for h in handles {
                let _ = h.join();
            }
        }
    }
}
