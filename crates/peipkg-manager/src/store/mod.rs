//! Everything the farm must remember across restarts, in one embedded
//! SQLite database at `<state_dir>/manager.db`.
//!
//! The reference kept its queue, failures and counters in memory, so a
//! restart re-polled everything, forgot every backoff and hammered failing
//! builds. Here the queue *is* the set of unfinished builds: a restart
//! re-queues what was running, publishes what was built, and keeps each
//! failure's backoff window.

pub mod backoff;
pub mod builds;
pub mod control;
pub mod jobs;
pub mod queue;
pub mod schema;
pub mod tags;
pub mod upload;

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;

pub use backoff::{backoff_after, Failure};
pub use builds::{BuildRow, BuildState};
pub use control::Paused;
pub use queue::NewBuild;
pub use tags::{MovedTag, PollRecord};
pub use upload::UploadStatus;

pub const DB_FILE: &str = "manager.db";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("open database {path}: {source}")]
    Open {
        path: String,
        source: rusqlite::Error,
    },
    #[error(transparent)]
    Migrate(#[from] schema::MigrateError),
    #[error("database: {0}")]
    Sql(#[from] rusqlite::Error),
    #[error("database holds a malformed value: {0}")]
    Corrupt(String),
}

pub type Result<T> = std::result::Result<T, StoreError>;

pub struct Store {
    pub(crate) conn: Connection,
}

impl Store {
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|source| StoreError::Open {
            path: path.display().to_string(),
            source,
        })?;
        Store::init(conn)
    }

    pub fn open_in_memory() -> Result<Store> {
        Store::init(Connection::open_in_memory()?)
    }

    fn init(mut conn: Connection) -> Result<Store> {
        conn.busy_timeout(Duration::from_secs(10))?;
        // WAL lets `explain` and `check` read while the daemon writes.
        let _: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON;")?;
        schema::migrate(&mut conn)?;
        scrub_secrets(&conn)?;
        Ok(Store { conn })
    }
}

/// Error texts stored by an older version may still carry credentials (a
/// git URL's token, an rclone remote's keys): redact them in place, so a
/// removed recipe's old poll error does not leak for ever. Cheap: only
/// rows that could hold one are read.
fn scrub_secrets(conn: &Connection) -> Result<()> {
    const COLUMNS: [(&str, &str); 5] = [
        ("builds", "error"),
        ("failures", "last_error"),
        ("upload_state", "last_error"),
        ("polls", "error"),
        ("paused", "reason"),
    ];
    for (table, column) in COLUMNS {
        let mut st = conn.prepare(&format!(
            "SELECT rowid, {column} FROM {table}
             WHERE {column} LIKE '%@%' OR {column} LIKE '%=%'"
        ))?;
        // Only the rows that change are kept: on a farm of thousands of
        // recipes the candidates are megabytes, and this runs at every start.
        let mut dirty: Vec<(i64, String)> = Vec::new();
        let mut rows = st.query([])?;
        while let Some(r) = rows.next()? {
            let text: String = r.get(1)?;
            if let std::borrow::Cow::Owned(clean) = crate::redact::redact(&text) {
                if clean != text {
                    dirty.push((r.get(0)?, clean));
                }
            }
        }
        drop(rows);
        for (rowid, clean) in dirty {
            conn.execute(
                &format!("UPDATE {table} SET {column} = ?1 WHERE rowid = ?2"),
                rusqlite::params![clean, rowid],
            )?;
        }
    }
    Ok(())
}

impl Store {
    /// Runs `f` in one transaction: everything it records commits
    /// together (one WAL commit), or nothing does.
    pub fn transaction<T>(&self, f: impl FnOnce(&Store) -> Result<T>) -> Result<T> {
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        match f(self) {
            Ok(v) => {
                self.conn.execute_batch("COMMIT")?;
                Ok(v)
            }
            Err(e) => {
                let _ = self.conn.execute_batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Seconds since the epoch; the store's unit of time.
pub fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// RFC 3339 UTC (`2026-05-07T14:32:11Z`) for a stored time.
pub fn rfc3339(t: i64) -> String {
    peipkg_format::documents::timestamp::format_timestamp(t).unwrap_or_else(|| t.to_string())
}

#[cfg(test)]
mod tests;
