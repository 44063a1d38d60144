//! Which commit each published tag pointed to, and tags seen moved since.
//!
//! A release tag that is moved after we published it must not cause a
//! rebuild: PSD-009 repositories keep every published version for ever,
//! and two different packages with one version would break that promise.
//! The move is recorded and shown so an operator can decide (usually: bump
//! `peios_revision`).

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};
use crate::redact::redact;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MovedTag {
    pub recipe: String,
    pub tag: String,
    pub version: String,
    pub published_commit: String,
    pub seen_commit: String,
    pub first_seen_at: i64,
    pub last_seen_at: i64,
}

/// The outcome of a recipe's last poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PollRecord {
    pub recipe: String,
    pub at: i64,
    pub ok: bool,
    pub error: Option<String>,
}

impl Store {
    pub fn record_published_tag(
        &self,
        recipe: &str,
        tag: &str,
        version: &str,
        commit: &str,
        now: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO published_tags (recipe, tag, version, commit_id, published_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (recipe, tag) DO NOTHING",
            params![recipe, tag, version, commit, now],
        )?;
        Ok(())
    }

    /// The commit a published tag pointed to when we built it.
    pub fn published_commit(&self, recipe: &str, tag: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT commit_id FROM published_tags WHERE recipe = ?1 AND tag = ?2",
                params![recipe, tag],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// Records a sighting of a moved tag; returns true the first time this
    /// particular move is seen (so it is logged once, not every poll).
    pub fn record_moved_tag(
        &self,
        recipe: &str,
        tag: &str,
        version: &str,
        published_commit: &str,
        seen_commit: &str,
        now: i64,
    ) -> Result<bool> {
        let n = self.conn.execute(
            "INSERT INTO moved_tags VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)
             ON CONFLICT (recipe, tag, seen_commit) DO NOTHING",
            params![recipe, tag, version, published_commit, seen_commit, now],
        )?;
        if n == 0 {
            self.conn.execute(
                "UPDATE moved_tags SET last_seen_at = ?4 WHERE recipe = ?1 AND tag = ?2 AND seen_commit = ?3",
                params![recipe, tag, seen_commit, now],
            )?;
        }
        Ok(n > 0)
    }

    pub fn moved_tags(&self) -> Result<Vec<MovedTag>> {
        let mut st = self.conn.prepare(
            "SELECT recipe, tag, version, published_commit, seen_commit, first_seen_at, last_seen_at
             FROM moved_tags ORDER BY recipe, tag, first_seen_at",
        )?;
        let rows = st.query_map([], |r| {
            Ok(MovedTag {
                recipe: r.get(0)?,
                tag: r.get(1)?,
                version: r.get(2)?,
                published_commit: r.get(3)?,
                seen_commit: r.get(4)?,
                first_seen_at: r.get(5)?,
                last_seen_at: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn record_poll(
        &self,
        recipe: &str,
        ok: bool,
        error: Option<&str>,
        tags_seen: usize,
        candidates: usize,
        now: i64,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT INTO polls VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (recipe) DO UPDATE SET last_poll_at = excluded.last_poll_at,
                ok = excluded.ok, error = excluded.error, tags_seen = excluded.tags_seen,
                candidates = excluded.candidates",
            params![
                recipe,
                now,
                ok,
                error.map(redact),
                tags_seen as i64,
                candidates as i64
            ],
        )?;
        Ok(())
    }

    /// The last poll of every recipe.
    pub fn polls(&self) -> Result<Vec<PollRecord>> {
        let mut st = self
            .conn
            .prepare("SELECT recipe, last_poll_at, ok, error FROM polls ORDER BY recipe")?;
        let rows = st.query_map([], |r| {
            Ok(PollRecord {
                recipe: r.get(0)?,
                at: r.get(1)?,
                ok: r.get(2)?,
                error: r.get(3)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
