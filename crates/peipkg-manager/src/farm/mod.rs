//! The running farm, split into parts each thread holds only what it needs
//! of.
//!
//! The database (behind [`queue::Queue`]) is the source of truth for the
//! queue and outcomes; the in-memory parts are only what is in force
//! ([`settings::Settings`]) and what is happening right now
//! ([`activity::Activity`], [`schedule::Schedule`]). The steps are small
//! structs over those parts: [`poll::Poller`], [`scheduler::Scheduler`],
//! [`worker::Worker`] (run by [`pool::Pool`]), [`publisher::Publisher`] and
//! [`uploader::Uploader`]; [`shutdown::Shutdown`] is the handle that stops
//! them. [`Farm`] is the composition root: it owns the parts, hands each
//! step its own, and does the few things that span parts (start-up
//! recovery, a reload). The HTTP server reads it whole.

mod activity;
mod dirs;
mod handles;
mod poll;
mod pool;
mod publisher;
mod queue;
mod reload;
mod repo;
mod report;
mod schedule;
mod scheduler;
mod settings;
mod shutdown;
mod startup;
mod uploader;
mod wake;
mod worker;

use std::sync::Arc;

use anyhow::Result;

use crate::config::Config;
use crate::log::{s, Logger};

use activity::Activity;
use dirs::StateDirs;
use handles::Handles;
use poll::Poller;
use pool::Pool;
use publisher::Publisher;
use queue::Queue;
use repo::LiveRepo;
use report::Report;
pub(crate) use report::RunReport;
use schedule::Schedule;
use scheduler::Scheduler;
use settings::Settings;
use shutdown::Shutdown;
pub(crate) use startup::{FarmOptions, StateLock};
pub(crate) use uploader::UploadOutcome;
use uploader::Uploader;
use wake::Wakes;
use worker::Worker;

pub(crate) struct Farm {
    h: Handles,
    pool: Arc<Pool>,
    activity: Arc<Activity>,
    schedule: Arc<Schedule>,
    /// Held for the process's life: one manager per `state_dir`.
    _lock: startup::StateLock,
}

impl Farm {
    /// Checks the config on this host, recovers what a previous process
    /// left in `state_dir`, and opens the farm (nothing runs yet).
    pub(crate) fn new(cfg: Config, log: Logger, opts: FarmOptions) -> Result<Arc<Farm>> {
        startup::open(cfg, log, opts).map(Arc::new)
    }

    pub(crate) fn log(&self) -> &Logger {
        &self.h.log
    }

    pub(crate) fn settings(&self) -> &Arc<Settings> {
        &self.h.settings
    }

    pub(crate) fn dirs(&self) -> &Arc<StateDirs> {
        &self.h.dirs
    }

    pub(crate) fn queue(&self) -> &Arc<Queue> {
        &self.h.queue
    }

    pub(crate) fn repo(&self) -> &Arc<LiveRepo> {
        &self.h.repo
    }

    pub(crate) fn wakes(&self) -> &Arc<Wakes> {
        &self.h.wakes
    }

    pub(crate) fn report(&self) -> &Arc<Report> {
        &self.h.report
    }

    /// The handle a signal handler keeps.
    pub(crate) fn shutdown(&self) -> &Arc<Shutdown> {
        &self.h.shutdown
    }

    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    pub(crate) fn activity(&self) -> &Arc<Activity> {
        &self.activity
    }

    pub(crate) fn schedule(&self) -> &Arc<Schedule> {
        &self.schedule
    }

    pub(crate) fn poller(&self) -> Poller {
        Poller { h: self.h.clone() }
    }

    pub(crate) fn scheduler(&self) -> Scheduler {
        Scheduler {
            h: self.h.clone(),
            schedule: Arc::clone(&self.schedule),
            activity: Arc::clone(&self.activity),
        }
    }

    pub(crate) fn worker(&self) -> Worker {
        Worker {
            h: self.h.clone(),
            activity: Arc::clone(&self.activity),
            pool: Arc::clone(&self.pool),
        }
    }

    pub(crate) fn publisher(&self) -> Publisher {
        Publisher { h: self.h.clone() }
    }

    pub(crate) fn uploader(&self) -> Uploader {
        Uploader { h: self.h.clone() }
    }

    /// Before any work: the repository exists and its live state is whole,
    /// the remote is compared with it, and builds a previous process was
    /// running are queued again.
    pub(crate) fn prepare(&self) -> Result<()> {
        self.publisher().ensure_repo()?;
        if let Err(e) = self.uploader().reconcile_remote() {
            self.h.log.warn(
                "could not compare the remote with the live state",
                &[("err", s(format!("{e:#}")))],
            );
        }
        self.h.queue.requeue_interrupted(&self.h.log)
    }

    /// Starts workers until `[build].workers` are running. No-op once the
    /// farm is stopping.
    pub(crate) fn ensure_workers(&self) {
        let target = self.h.settings.cfg().build.workers;
        let worker = self.worker();
        self.pool.ensure(
            target,
            || self.h.shutdown.is_stopping(),
            |i| {
                let w = worker.clone();
                std::thread::spawn(move || w.run(Some(i), None))
            },
        );
    }

    /// Waits for every worker to leave (after [`Shutdown::stop`]).
    pub(crate) fn join_workers(&self) {
        self.pool.join();
    }

    /// SIGHUP.
    pub(crate) fn reload(&self) {
        crate::notify::notify("RELOADING=1");
        self.reload_config();
        self.reload_recipes();
        crate::notify::notify("READY=1");
    }

    /// Re-reads the config file; on any problem keeps the one in force.
    /// A new one may resize the pool and changes what every loop waits on.
    pub(crate) fn reload_config(&self) {
        if self.h.settings.reload_config(&self.h.log) {
            self.ensure_workers();
            self.h.wakes.all();
        }
    }

    /// Re-reads the recipes; the scheduler looks at a new roster at once.
    pub(crate) fn reload_recipes(&self) {
        if self.h.settings.reload_recipes(&self.h.log, &self.h.queue) {
            self.h.wakes.scheduler.notify();
        }
    }
}

#[cfg(test)]
mod tests;
