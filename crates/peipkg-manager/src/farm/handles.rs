//! The handles every step of the farm holds: the log, the settings in
//! force, the database, the live repository, the state directories, the
//! shutdown flag, the wake-ups and the sweep report.
//!
//! Parts only some steps need (the worker pool, what is running, the
//! scheduler's board) are not here; each step adds those it needs.

use std::sync::Arc;

use super::dirs::StateDirs;
use super::queue::Queue;
use super::repo::LiveRepo;
use super::report::Report;
use super::settings::Settings;
use super::shutdown::Shutdown;
use super::wake::Wakes;
use crate::log::Logger;

/// Cheap to clone: every field is shared.
#[derive(Clone)]
pub(crate) struct Handles {
    pub(super) log: Logger,
    pub(super) settings: Arc<Settings>,
    pub(super) queue: Arc<Queue>,
    pub(super) repo: Arc<LiveRepo>,
    pub(super) dirs: Arc<StateDirs>,
    pub(super) shutdown: Arc<Shutdown>,
    pub(super) wakes: Arc<Wakes>,
    pub(super) report: Arc<Report>,
}
