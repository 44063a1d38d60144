//! The settings in force: the config, what it resolved to on this host,
//! the recipe roster and the executor built from them.
//!
//! A SIGHUP swaps each for a validated new one (see `reload`). Readers take
//! a snapshot (an `Arc`), so a reload never changes a value under a step
//! that is using it: a build keeps the settings it started with.

use std::path::Path;
use std::sync::{Arc, RwLock};

use super::startup::Resolved;
use crate::config::Config;
use crate::executor::Executor;
use crate::pipeline::publish::RepoTool;
use crate::roster::Roster;

pub(crate) struct Settings {
    cfg: RwLock<Arc<Config>>,
    resolved: RwLock<Arc<Resolved>>,
    roster: RwLock<Arc<Roster>>,
    executor: RwLock<Arc<dyn Executor>>,
    /// The executor was supplied by the embedder and is kept across reloads.
    pub(super) custom_executor: bool,
    /// `--log-level` was given: it wins over `[log].level`.
    pub(super) level_from_flag: bool,
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

impl Settings {
    pub(super) fn new(
        cfg: Config,
        resolved: Resolved,
        roster: Roster,
        executor: Arc<dyn Executor>,
        custom_executor: bool,
        level_from_flag: bool,
    ) -> Settings {
        Settings {
            cfg: RwLock::new(Arc::new(cfg)),
            resolved: RwLock::new(Arc::new(resolved)),
            roster: RwLock::new(Arc::new(roster)),
            executor: RwLock::new(executor),
            custom_executor,
            level_from_flag,
        }
    }

    /// The config in force (a snapshot: a reload does not change it under
    /// the caller).
    pub(crate) fn cfg(&self) -> Arc<Config> {
        read(&self.cfg)
    }

    pub(super) fn resolved(&self) -> Arc<Resolved> {
        read(&self.resolved)
    }

    pub(crate) fn roster(&self) -> Arc<Roster> {
        read(&self.roster)
    }

    pub(super) fn executor(&self) -> Arc<dyn Executor> {
        read(&self.executor)
    }

    pub(crate) fn webhook_secret(&self) -> Option<Vec<u8>> {
        self.resolved().webhook_secret.clone()
    }

    /// How `peipkg-repo` is run under the config in force; it logs into
    /// `logs`.
    pub(super) fn repo_tool(&self, logs: &Path) -> RepoTool {
        let cfg = self.cfg();
        RepoTool {
            program: self.resolved().peipkg_repo.clone(),
            sign_key: cfg.key_file.clone(),
            timeout: cfg.build.publish_timeout,
            verify: cfg.build.verify,
            log: logs.join("publish.log"),
            in_place: self.resolved().repo_atomic,
        }
    }

    pub(super) fn set_roster(&self, r: Roster) {
        write(&self.roster, Arc::new(r));
    }

    /// Puts a validated config in force, with what it resolved to and (if
    /// the executor is ours) the executor it names.
    pub(super) fn set_config(
        &self,
        cfg: Arc<Config>,
        resolved: Resolved,
        executor: Option<Arc<dyn Executor>>,
    ) {
        if let Some(e) = executor {
            write(&self.executor, e);
        }
        write(&self.resolved, Arc::new(resolved));
        write(&self.cfg, cfg);
    }
}
