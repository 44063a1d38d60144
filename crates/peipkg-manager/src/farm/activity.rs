//! What the farm is doing right now: the builds running and the recipes
//! being polled. `/status` and the drain at shutdown read it; only the
//! workers and the scheduler change it.
//!
//! None of it survives a restart (the database is the record of what
//! happened); it is only the present.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

/// A build that is running right now.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub(crate) id: i64,
    pub(crate) recipe: String,
    pub(crate) version: String,
    pub(crate) tag: String,
    pub(crate) started_at: i64,
}

pub(crate) struct Activity {
    /// When this process started (unix seconds): the counters in
    /// `/status` and `/metrics` count from it.
    started_at: i64,
    running: Mutex<BTreeMap<i64, InFlight>>,
    polling: Mutex<BTreeSet<String>>,
}

impl Activity {
    pub(super) fn new(started_at: i64) -> Activity {
        Activity {
            started_at,
            running: Mutex::new(BTreeMap::new()),
            polling: Mutex::new(BTreeSet::new()),
        }
    }

    pub(crate) fn started_at(&self) -> i64 {
        self.started_at
    }

    /// The running builds, by build id.
    pub(crate) fn running(&self) -> Vec<InFlight> {
        self.running
            .lock()
            .map(|r| r.values().cloned().collect())
            .unwrap_or_default()
    }

    pub(crate) fn running_count(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }

    pub(super) fn build_started(&self, b: InFlight) {
        if let Ok(mut r) = self.running.lock() {
            r.insert(b.id, b);
        }
    }

    pub(super) fn build_ended(&self, id: i64) {
        if let Ok(mut r) = self.running.lock() {
            r.remove(&id);
        }
    }

    /// Whether a poll of `id` is running (assumed so when unknown: two
    /// polls of one recipe must not race).
    pub(super) fn is_polling(&self, id: &str) -> bool {
        self.polling.lock().map(|p| p.contains(id)).unwrap_or(true)
    }

    pub(super) fn poll_started(&self, id: &str) {
        if let Ok(mut p) = self.polling.lock() {
            p.insert(id.to_string());
        }
    }

    pub(super) fn poll_ended(&self, id: &str) {
        if let Ok(mut p) = self.polling.lock() {
            p.remove(id);
        }
    }
}
