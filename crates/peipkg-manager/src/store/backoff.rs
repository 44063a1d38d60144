//! Failure records and their backoff, keyed `<recipe>@<version>`.
//!
//! The schedule is the reference's fixed table (1m, 5m, 15m, 1h, 6h, then
//! 24h for ever), so operators' expectations carry over. Unlike the
//! reference it is persisted, and the farm retries actively when a window
//! ends instead of waiting for the next poll to stumble on it.

use std::time::Duration;

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};
use crate::redact::redact;

const SCHEDULE: [u64; 6] = [60, 5 * 60, 15 * 60, 3600, 6 * 3600, 24 * 3600];

/// The wait after the `n`th consecutive failure (n ≤ 0 counts as 1).
pub fn backoff_after(n: i64) -> Duration {
    let i = (n.max(1) as usize - 1).min(SCHEDULE.len() - 1);
    Duration::from_secs(SCHEDULE[i])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub recipe: String,
    pub version: String,
    pub tag: String,
    pub failures: i64,
    pub last_error: String,
    pub last_failed_at: i64,
    pub next_retry_at: i64,
}

impl Failure {
    pub fn key(&self) -> String {
        format!("{}@{}", self.recipe, self.version)
    }
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Failure> {
    Ok(Failure {
        recipe: r.get(0)?,
        version: r.get(1)?,
        tag: r.get(2)?,
        failures: r.get(3)?,
        last_error: r.get(4)?,
        last_failed_at: r.get(5)?,
        next_retry_at: r.get(6)?,
    })
}

const COLS: &str = "recipe, version, tag, failures, last_error, last_failed_at, next_retry_at";

impl Store {
    /// Counts one more failure and returns the updated record.
    pub fn record_failure(
        &self,
        recipe: &str,
        version: &str,
        tag: &str,
        error: &str,
        now: i64,
    ) -> Result<Failure> {
        let previous = self
            .failure(recipe, version)?
            .map(|f| f.failures)
            .unwrap_or(0);
        let n = previous + 1;
        let next = now + backoff_after(n).as_secs() as i64;
        self.conn.execute(
            "INSERT INTO failures (recipe, version, tag, failures, last_error, last_failed_at, next_retry_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (recipe, version) DO UPDATE SET
                tag = excluded.tag, failures = excluded.failures, last_error = excluded.last_error,
                last_failed_at = excluded.last_failed_at, next_retry_at = excluded.next_retry_at",
            params![recipe, version, tag, n, redact(error), now, next],
        )?;
        Ok(Failure {
            recipe: recipe.into(),
            version: version.into(),
            tag: tag.into(),
            failures: n,
            last_error: error.into(),
            last_failed_at: now,
            next_retry_at: next,
        })
    }

    pub fn clear_failure(&self, recipe: &str, version: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM failures WHERE recipe = ?1 AND version = ?2",
            params![recipe, version],
        )?;
        Ok(())
    }

    pub fn failure(&self, recipe: &str, version: &str) -> Result<Option<Failure>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {COLS} FROM failures WHERE recipe = ?1 AND version = ?2"),
                params![recipe, version],
                row,
            )
            .optional()?)
    }

    /// Whether a new attempt must wait; `Some(failure)` while in the window.
    pub fn in_backoff(&self, recipe: &str, version: &str, now: i64) -> Result<Option<Failure>> {
        Ok(self
            .failure(recipe, version)?
            .filter(|f| f.next_retry_at > now))
    }

    pub fn failures(&self) -> Result<Vec<Failure>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM failures ORDER BY recipe, version"
        ))?;
        let rows = st.query_map([], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Failures whose window has ended and that are not already queued or
    /// running again, of recipes that are not paused: the active retries.
    pub fn due_retries(&self, now: i64) -> Result<Vec<Failure>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {COLS} FROM failures f WHERE next_retry_at <= ?1 AND NOT EXISTS (
                SELECT 1 FROM builds b WHERE b.recipe = f.recipe AND b.version = f.version
                AND b.state IN ('queued', 'running', 'built'))
             AND recipe NOT IN (SELECT recipe FROM paused)
             ORDER BY next_retry_at"
        ))?;
        let rows = st.query_map(params![now], row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The earliest future retry, so the scheduler knows when to wake.
    /// Windows already over do not count (they are queued, or cannot be
    /// yet), or the scheduler would wake in a tight loop.
    pub fn next_retry_at(&self, now: i64) -> Result<Option<i64>> {
        Ok(self.conn.query_row(
            "SELECT MIN(next_retry_at) FROM failures WHERE next_retry_at > ?1
             AND recipe NOT IN (SELECT recipe FROM paused)",
            params![now],
            |r| r.get(0),
        )?)
    }

    /// Drops records for recipes that no longer exist.
    pub fn forget_failures_except(&self, recipes: &[String]) -> Result<usize> {
        let all = self.failures()?;
        let mut n = 0;
        for f in all {
            if !recipes.contains(&f.recipe) {
                self.clear_failure(&f.recipe, &f.version)?;
                n += 1;
            }
        }
        Ok(n)
    }
}
