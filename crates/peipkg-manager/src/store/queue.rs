//! The build queue: builds in state `queued`, taken oldest first.
//!
//! A (recipe, version) is in the queue at most once: a trigger for a
//! version that is already queued, running or waiting to be published is
//! a no-op (the reference queued every tag again on every poll).

use rusqlite::{params, OptionalExtension, TransactionBehavior};

use super::builds::{row, BuildRow, COLS};
use super::{Result, Store};

#[derive(Debug, Clone)]
pub struct NewBuild {
    pub recipe: String,
    pub version: String,
    pub tag: String,
    pub git: String,
    pub tag_commit: String,
    /// `poll`, `webhook`, `retry` or `restart`.
    pub source: String,
}

impl Store {
    /// The unfinished build for a version, if any.
    pub fn active_build(&self, recipe: &str, version: &str) -> Result<Option<BuildRow>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {COLS} FROM builds WHERE recipe = ?1 AND version = ?2
                     AND state IN ('queued', 'running', 'built') ORDER BY id DESC LIMIT 1"
                ),
                params![recipe, version],
                row,
            )
            .optional()?)
    }

    /// Queues a build unless one for the same version is unfinished;
    /// returns the new id, or `None` for a duplicate.
    pub fn enqueue(&mut self, b: &NewBuild, now: i64) -> Result<Option<i64>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let exists: bool = tx.query_row(
            "SELECT EXISTS (SELECT 1 FROM builds WHERE recipe = ?1 AND version = ?2
             AND state IN ('queued', 'running', 'built'))",
            params![b.recipe, b.version],
            |r| r.get(0),
        )?;
        if exists {
            return Ok(None);
        }
        tx.execute(
            "INSERT INTO builds (recipe, version, tag, git, tag_commit, source, state, queued_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 'queued', ?7)",
            params![
                b.recipe,
                b.version,
                b.tag,
                b.git,
                b.tag_commit,
                b.source,
                now
            ],
        )?;
        let id = tx.last_insert_rowid();
        tx.commit()?;
        Ok(Some(id))
    }

    /// Takes the oldest queued build of a recipe that is not paused, and
    /// marks it running.
    pub fn claim_next(&mut self, now: i64) -> Result<Option<BuildRow>> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let next: Option<i64> = tx
            .query_row(
                "SELECT id FROM builds WHERE state = 'queued'
                 AND recipe NOT IN (SELECT recipe FROM paused) ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = next else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE builds SET state = 'running', started_at = ?2 WHERE id = ?1",
            params![id, now],
        )?;
        let b = tx.query_row(
            &format!("SELECT {COLS} FROM builds WHERE id = ?1"),
            params![id],
            row,
        )?;
        tx.commit()?;
        Ok(Some(b))
    }

    /// At start: builds that were running when the last process died go
    /// back to the queue. Returns them.
    pub fn requeue_interrupted(&self) -> Result<Vec<BuildRow>> {
        let running = self.builds_in(super::BuildState::Running)?;
        self.conn.execute(
            "UPDATE builds SET state = 'queued', started_at = NULL WHERE state = 'running'",
            [],
        )?;
        Ok(running)
    }

    /// Puts one build back in the queue (its worker was stopped by a
    /// shutdown, through no fault of the build).
    pub fn requeue(&self, id: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE builds SET state = 'queued', started_at = NULL WHERE id = ?1 AND state = 'running'",
            params![id],
        )?;
        Ok(())
    }

    pub fn queued(&self) -> Result<Vec<BuildRow>> {
        self.builds_in(super::BuildState::Queued)
    }
}
