//! Operator control, kept in the database so that it works the same
//! whether or not a daemon is running: a command line writes, the daemon
//! (or the next `--once`) reads.
//!
//! - a poll request: poll this recipe now. It is also the only way a
//!   recipe without `[watch]` is looked at (PSD-009 A.2: such a recipe is
//!   "built only on explicit operator request"; the reference polled it
//!   like any other);
//! - a pause: the recipe is not polled, and its queued builds and retries
//!   do not start, until it is resumed;
//! - retry now, and cancelling a queued build, act on the queue and
//!   failure tables directly.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};
use crate::redact::redact;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paused {
    pub recipe: String,
    pub paused_at: i64,
    pub reason: String,
}

impl Store {
    /// Asks for a poll of `recipe`. A request already pending is not
    /// doubled.
    pub fn request_poll(&self, recipe: &str, now: i64) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO requests (kind, recipe, requested_at)
             SELECT 'poll', ?1, ?2 WHERE NOT EXISTS
                (SELECT 1 FROM requests WHERE kind = 'poll' AND recipe = ?1)",
            params![recipe, now],
        )?;
        Ok(n == 1)
    }

    /// Takes (removes and returns) every pending poll request.
    pub fn take_poll_requests(&mut self) -> Result<Vec<String>> {
        let tx = self.conn.transaction()?;
        let ids: Vec<String> = {
            let mut st =
                tx.prepare("SELECT recipe FROM requests WHERE kind = 'poll' ORDER BY id")?;
            let rows = st.query_map([], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.execute("DELETE FROM requests WHERE kind = 'poll'", [])?;
        tx.commit()?;
        Ok(ids)
    }

    pub fn pending_poll_requests(&self) -> Result<Vec<String>> {
        let mut st = self
            .conn
            .prepare("SELECT recipe FROM requests WHERE kind = 'poll' ORDER BY id")?;
        let rows = st.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Pauses a recipe; returns false if it already was.
    pub fn pause(&self, recipe: &str, reason: &str, now: i64) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO paused (recipe, paused_at, reason) VALUES (?1, ?2, ?3)
             ON CONFLICT (recipe) DO NOTHING",
            params![recipe, now, redact(reason)],
        )?;
        Ok(n == 1)
    }

    /// Resumes a recipe; returns false if it was not paused.
    pub fn resume(&self, recipe: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM paused WHERE recipe = ?1", params![recipe])?;
        Ok(n == 1)
    }

    pub fn paused(&self) -> Result<Vec<Paused>> {
        let mut st = self
            .conn
            .prepare("SELECT recipe, paused_at, reason FROM paused ORDER BY recipe")?;
        let rows = st.query_map([], |r| {
            Ok(Paused {
                recipe: r.get(0)?,
                paused_at: r.get(1)?,
                reason: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn is_paused(&self, recipe: &str) -> Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM paused WHERE recipe = ?1",
                params![recipe],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    /// Ends a failure's backoff window now, so the next scheduler pass
    /// retries it. Returns false if there is no such failure.
    pub fn retry_now(&self, recipe: &str, version: &str, now: i64) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE failures SET next_retry_at = ?3 WHERE recipe = ?1 AND version = ?2",
            params![recipe, version, now],
        )?;
        Ok(n == 1)
    }

    /// Cancels a build that has not started. Returns false if there is no
    /// queued build with that id (a running build is stopped by a
    /// shutdown, not from outside).
    pub fn cancel_queued(&self, id: i64, now: i64) -> Result<bool> {
        let n = self.conn.execute(
            "UPDATE builds SET state = 'cancelled', error = 'cancelled by operator',
                finished_at = ?2 WHERE id = ?1 AND state = 'queued'",
            params![id, now],
        )?;
        Ok(n == 1)
    }

    /// Finished builds whose log files are older than `before`: their
    /// paths, which are then forgotten. The build records stay.
    pub fn expire_logs(&self, before: i64) -> Result<Vec<String>> {
        let tx = self.conn.unchecked_transaction()?;
        let paths: Vec<String> = {
            let mut st = tx.prepare(
                "SELECT log_path FROM builds WHERE log_path IS NOT NULL
                 AND state IN ('published', 'failed', 'cancelled')
                 AND COALESCE(published_at, finished_at, queued_at) < ?1",
            )?;
            let rows = st.query_map(params![before], |r| r.get(0))?;
            rows.collect::<rusqlite::Result<_>>()?
        };
        tx.execute(
            "UPDATE builds SET log_path = NULL WHERE log_path IS NOT NULL
             AND state IN ('published', 'failed', 'cancelled')
             AND COALESCE(published_at, finished_at, queued_at) < ?1",
            params![before],
        )?;
        tx.commit()?;
        Ok(paths)
    }
}
