//! Build records: one row per attempt to build one version of one recipe,
//! from queued to published or failed, with its outputs and log.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store, StoreError};
use crate::redact::redact;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildState {
    Queued,
    Running,
    /// Built; its outputs wait in `<state_dir>/built/<id>/` to be published.
    Built,
    Published,
    Failed,
    /// Dropped before it ran (its recipe went away, or it was superseded).
    Cancelled,
}

impl BuildState {
    pub fn as_str(self) -> &'static str {
        match self {
            BuildState::Queued => "queued",
            BuildState::Running => "running",
            BuildState::Built => "built",
            BuildState::Published => "published",
            BuildState::Failed => "failed",
            BuildState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<BuildState> {
        Some(match s {
            "queued" => BuildState::Queued,
            "running" => BuildState::Running,
            "built" => BuildState::Built,
            "published" => BuildState::Published,
            "failed" => BuildState::Failed,
            "cancelled" => BuildState::Cancelled,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRow {
    pub id: i64,
    pub recipe: String,
    pub version: String,
    pub tag: String,
    pub git: String,
    pub tag_commit: String,
    pub built_commit: Option<String>,
    pub source: String,
    pub state: BuildState,
    pub queued_at: i64,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub published_at: Option<i64>,
    pub build_timestamp: Option<String>,
    pub outputs: Vec<String>,
    pub error: Option<String>,
    pub log_path: Option<String>,
}

impl BuildRow {
    pub fn key(&self) -> String {
        format!("{}@{}", self.recipe, self.version)
    }
}

pub(crate) const COLS: &str =
    "id, recipe, version, tag, git, tag_commit, built_commit, source, state, \
    queued_at, started_at, finished_at, published_at, build_timestamp, outputs, error, log_path";

pub(crate) fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<BuildRow> {
    let state: String = r.get(8)?;
    let outputs: String = r.get(14)?;
    Ok(BuildRow {
        id: r.get(0)?,
        recipe: r.get(1)?,
        version: r.get(2)?,
        tag: r.get(3)?,
        git: r.get(4)?,
        tag_commit: r.get(5)?,
        built_commit: r.get(6)?,
        source: r.get(7)?,
        state: BuildState::parse(&state).unwrap_or(BuildState::Failed),
        queued_at: r.get(9)?,
        started_at: r.get(10)?,
        finished_at: r.get(11)?,
        published_at: r.get(12)?,
        build_timestamp: r.get(13)?,
        outputs: serde_json::from_str(&outputs).unwrap_or_default(),
        error: r.get(15)?,
        log_path: r.get(16)?,
    })
}

/// Counters for `/status` and `/metrics`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    pub queued: i64,
    pub running: i64,
    pub built: i64,
    pub published: i64,
    pub failed: i64,
    /// Builds started at or after the given time.
    pub attempted_since: i64,
    /// Builds published at or after the given time.
    pub succeeded_since: i64,
}

impl Store {
    pub fn build(&self, id: i64) -> Result<Option<BuildRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM builds WHERE id = ?1"),
                params![id],
                row,
            )
            .optional()?)
    }

    pub fn builds_in(&self, state: BuildState) -> Result<Vec<BuildRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM builds WHERE state = ?1 ORDER BY id"
        ))?;
        let rows = st.query_map(params![state.as_str()], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// How many builds are in `state` (an index lookup).
    pub fn count_in(&self, state: BuildState) -> Result<i64> {
        Ok(self.conn.query_row(
            "SELECT COUNT(*) FROM builds WHERE state = ?1",
            params![state.as_str()],
            |r| r.get(0),
        )?)
    }

    /// The most recent builds, newest first.
    pub fn recent_builds(&self, limit: usize) -> Result<Vec<BuildRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM builds ORDER BY id DESC LIMIT ?1"
        ))?;
        let rows = st.query_map(params![limit as i64], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn builds_of(&self, recipe: &str, limit: usize) -> Result<Vec<BuildRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM builds WHERE recipe = ?1 ORDER BY id DESC LIMIT ?2"
        ))?;
        let rows = st.query_map(params![recipe, limit as i64], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn set_log_path(&self, id: i64, path: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE builds SET log_path = ?2 WHERE id = ?1",
            params![id, path],
        )?;
        Ok(())
    }

    pub fn mark_built(
        &self,
        id: i64,
        outputs: &[String],
        build_timestamp: &str,
        built_commit: &str,
        now: i64,
    ) -> Result<()> {
        let outputs =
            serde_json::to_string(outputs).map_err(|e| StoreError::Corrupt(e.to_string()))?;
        self.conn.execute(
            "UPDATE builds SET state = 'built', outputs = ?2, build_timestamp = ?3,
                built_commit = ?4, finished_at = ?5, error = NULL WHERE id = ?1",
            params![id, outputs, build_timestamp, built_commit, now],
        )?;
        Ok(())
    }

    pub fn mark_failed(&self, id: i64, error: &str, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE builds SET state = 'failed', error = ?2, finished_at = COALESCE(finished_at, ?3)
             WHERE id = ?1",
            params![id, redact(error), now],
        )?;
        Ok(())
    }

    pub fn mark_published(&self, id: i64, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE builds SET state = 'published', published_at = ?2, error = NULL WHERE id = ?1",
            params![id, now],
        )?;
        Ok(())
    }

    pub fn mark_cancelled(&self, id: i64, why: &str, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE builds SET state = 'cancelled', error = ?2, finished_at = ?3 WHERE id = ?1",
            params![id, redact(why), now],
        )?;
        Ok(())
    }

    pub fn counts(&self, since: i64) -> Result<Counts> {
        let mut c = Counts::default();
        let mut st = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM builds GROUP BY state")?;
        let rows = st.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for r in rows {
            let (state, n) = r?;
            match BuildState::parse(&state) {
                Some(BuildState::Queued) => c.queued = n,
                Some(BuildState::Running) => c.running = n,
                Some(BuildState::Built) => c.built = n,
                Some(BuildState::Published) => c.published = n,
                Some(BuildState::Failed) => c.failed = n,
                _ => {}
            }
        }
        c.attempted_since = self.conn.query_row(
            "SELECT COUNT(*) FROM builds WHERE started_at >= ?1",
            params![since],
            |r| r.get(0),
        )?;
        c.succeeded_since = self.conn.query_row(
            "SELECT COUNT(*) FROM builds WHERE state = 'published' AND published_at >= ?1",
            params![since],
            |r| r.get(0),
        )?;
        Ok(c)
    }
}
