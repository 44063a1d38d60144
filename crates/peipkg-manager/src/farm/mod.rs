//! The running farm: shared state and the steps the threads take.
//!
//! One `Farm` is shared by the poll scheduler, the build workers, the
//! single publisher and the uploader (and the HTTP server, read-only).
//! The database is the source of truth for the queue and outcomes; the
//! in-memory parts are only what is happening right now.

pub mod poll;
pub mod pool;
pub mod publisher;
pub mod reload;
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
    /// The config in force. A SIGHUP swaps it for a validated new one;
    /// readers take a snapshot with [`Farm::cfg`].
    cfg: RwLock<Arc<Config>>,
    /// What the config in force resolved to (programs, keys, secret).
    resolved: RwLock<Arc<startup::Resolved>>,
    pub log: Logger,
    /// `--log-level` was given: it wins over `[log].level`.
    pub level_from_flag: bool,
    store: Mutex<Store>,
    roster: RwLock<Arc<Roster>>,
    executor: RwLock<Arc<dyn Executor>>,
    /// The executor was supplied by the embedder and is kept across reloads.
    custom_executor: bool,
    pub layout: Layout,
    pub pool: pool::Pool,
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
    /// When each watched recipe is next polled (unix seconds), as the
    /// scheduler last planned it.
    pub next_polls: Mutex<BTreeMap<String, i64>>,
    /// Recent `X-GitHub-Delivery` ids: GitHub redelivers, and one event
    /// should cause one poll.
    pub deliveries: Mutex<std::collections::VecDeque<String>>,
    _lock: startup::StateLock,
}

fn read<T: Clone>(l: &RwLock<T>) -> T {
    l.read()
        .map(|g| g.clone())
        .unwrap_or_else(|p| p.into_inner().clone())
}

fn write<T>(l: &RwLock<T>, v: T) {
    let mut g = l.write().unwrap_or_else(|p| p.into_inner());
    *g = v;
}

impl Farm {
    /// The config in force (a snapshot: a reload does not change it under
    /// the caller).
    pub fn cfg(&self) -> Arc<Config> {
        read(&self.cfg)
    }

    pub fn resolved(&self) -> Arc<startup::Resolved> {
        read(&self.resolved)
    }

    pub fn executor(&self) -> Arc<dyn Executor> {
        read(&self.executor)
    }

    /// How `peipkg-repo` is run under the config in force.
    pub fn repo_tool(&self) -> RepoTool {
        let cfg = self.cfg();
        RepoTool {
            program: self.resolved().peipkg_repo.clone(),
            sign_key: cfg.key_file.clone(),
            timeout: cfg.build.publish_timeout,
            verify: cfg.build.verify,
            log: self.logs_dir().join("publish.log"),
            in_place: self.resolved().repo_atomic,
        }
    }

    pub fn webhook_secret(&self) -> Option<Vec<u8>> {
        self.resolved().webhook_secret.clone()
    }

    pub fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock must not take the farm down with
        // it: the database itself is transactional.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn roster(&self) -> Arc<Roster> {
        read(&self.roster)
    }

    pub fn set_roster(&self, r: Roster) {
        write(&self.roster, Arc::new(r));
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

    /// `state_dir` never changes while the process runs.
    pub fn state_dir(&self) -> PathBuf {
        self.cfg().state_dir.clone()
    }

    pub fn logs_dir(&self) -> PathBuf {
        self.state_dir().join("logs")
    }

    /// Unique per process: a build orphaned by a crashed manager must not
    /// write into the directory of its re-run.
    pub fn work_dir(&self, id: i64) -> PathBuf {
        self.state_dir()
            .join("work")
            .join(format!("{id}.{}", std::process::id()))
    }

    pub fn built_dir(&self, id: i64) -> PathBuf {
        self.state_dir().join("built").join(id.to_string())
    }

    pub fn running_count(&self) -> usize {
        self.running.lock().map(|r| r.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
