//! The running farm: shared state and the steps the threads take.
//!
//! One `Farm` is shared by the poll scheduler, the build workers, the
//! single publisher and the uploader (and the HTTP server, read-only).
//! The database is the source of truth for the queue and outcomes; the
//! in-memory parts are only what is happening right now.

pub mod poll;
pub mod publisher;
pub mod report;
pub mod scheduler;
pub mod startup;
pub mod uploader;
pub mod wake;
pub mod worker;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use crate::config::Config;
use crate::executor::Executor;
use crate::log::Logger;
use crate::pipeline::publish::{Layout, RepoTool};
use crate::process::Cancel;
use crate::roster::Roster;
use crate::store::Store;

pub use report::RunReport;
use wake::Wake;

/// A build that is running right now.
#[derive(Debug, Clone)]
pub struct InFlight {
    pub id: i64,
    pub recipe: String,
    pub version: String,
    pub tag: String,
    pub started_at: i64,
}

pub struct Farm {
    pub cfg: Config,
    pub log: Logger,
    store: Mutex<Store>,
    roster: RwLock<Arc<Roster>>,
    pub executor: Box<dyn Executor>,
    pub repo_tool: RepoTool,
    pub layout: Layout,
    /// Granted public keys to inject, by signing-key name (lowercase hex).
    pub inject_hex: BTreeMap<String, String>,
    pub webhook_secret: Option<Vec<u8>>,
    /// Held while the live repository is replaced or snapshotted.
    pub repo_lock: Mutex<()>,
    pub wake_workers: Wake,
    pub wake_publisher: Wake,
    pub wake_uploader: Wake,
    pub wake_scheduler: Wake,
    /// Set on SIGTERM: take no new work, finish what runs.
    pub stopping: AtomicBool,
    /// Set when running children must be stopped now.
    pub cancel: Cancel,
    pub running: Mutex<BTreeMap<i64, InFlight>>,
    /// Recipes a webhook asked to poll now.
    pub poll_now: Mutex<BTreeSet<String>>,
    pub polling: Mutex<BTreeSet<String>>,
    pub started_at: i64,
    pub report: Mutex<RunReport>,
    pub collect_report: AtomicBool,
    pub publishing: AtomicBool,
    pub uploading: AtomicBool,
    _lock: startup::StateLock,
}

impl Farm {
    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock must not take the farm down with
        // it: the database itself is transactional.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn roster(&self) -> Arc<Roster> {
        self.roster
            .read()
            .map(|r| r.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    pub fn set_roster(&self, r: Roster) {
        let mut g = self.roster.write().unwrap_or_else(|p| p.into_inner());
        *g = Arc::new(r);
    }

    pub fn report(&self) -> MutexGuard<'_, RunReport> {
        self.report.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records into the sweep report. Only a `--once` sweep keeps one: a
    /// daemon running for months must not grow a list per poll.
    pub fn note(&self, f: impl FnOnce(&mut RunReport)) {
        if self.collect_report.load(Ordering::SeqCst) {
            f(&mut self.report());
        }
    }

    pub fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    pub fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake_all();
    }

    pub fn wake_all(&self) {
        self.wake_workers.notify();
        self.wake_publisher.notify();
        self.wake_uploader.notify();
        self.wake_scheduler.notify();
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.cfg.state_dir.join("logs")
    }

    /// Unique per process: a build orphaned by a crashed manager must not
    /// write into the directory of its re-run.
    pub fn work_dir(&self, id: i64) -> PathBuf {
        self.cfg
            .state_dir
            .join("work")
            .join(format!("{id}.{}", std::process::id()))
    }

    pub fn built_dir(&self, id: i64) -> PathBuf {
        self.cfg.state_dir.join("built").join(id.to_string())
    }

    pub fn running_count(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }
}
