//! Upload progress: the repository state has a generation that each
//! publish increments; the uploader's job is to bring the remote to the
//! latest generation, and it keeps trying until it does.

use rusqlite::params;

use super::{Result, Store};
use crate::redact::redact;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadStatus {
    pub published_generation: i64,
    pub uploaded_generation: i64,
    pub failures: i64,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<i64>,
    pub next_attempt_at: Option<i64>,
    pub last_success_at: Option<i64>,
}

impl UploadStatus {
    pub fn pending(&self) -> bool {
        self.published_generation > self.uploaded_generation
    }
}

impl Store {
    pub fn upload_status(&self) -> Result<UploadStatus> {
        Ok(self.conn.query_row(
            "SELECT published_generation, uploaded_generation, failures, last_error,
                    last_attempt_at, next_attempt_at, last_success_at FROM upload_state WHERE id = 1",
            [],
            |r| {
                Ok(UploadStatus {
                    published_generation: r.get(0)?,
                    uploaded_generation: r.get(1)?,
                    failures: r.get(2)?,
                    last_error: r.get(3)?,
                    last_attempt_at: r.get(4)?,
                    next_attempt_at: r.get(5)?,
                    last_success_at: r.get(6)?,
                })
            },
        )?)
    }

    /// A publish changed the repository: it now needs uploading.
    pub fn bump_generation(&self) -> Result<i64> {
        self.conn.execute(
            "UPDATE upload_state SET published_generation = published_generation + 1,
                next_attempt_at = NULL WHERE id = 1",
            [],
        )?;
        Ok(self.upload_status()?.published_generation)
    }

    pub fn record_upload_success(&self, generation: i64, now: i64) -> Result<()> {
        self.conn.execute(
            "UPDATE upload_state SET uploaded_generation = MAX(uploaded_generation, ?1),
                failures = 0, last_error = NULL, last_attempt_at = ?2, next_attempt_at = NULL,
                last_success_at = ?2 WHERE id = 1",
            params![generation, now],
        )?;
        Ok(())
    }

    pub fn record_upload_failure(
        &self,
        error: &str,
        now: i64,
        next_attempt_at: i64,
    ) -> Result<i64> {
        self.conn.execute(
            "UPDATE upload_state SET failures = failures + 1, last_error = ?1,
                last_attempt_at = ?2, next_attempt_at = ?3 WHERE id = 1",
            params![redact(error), now, next_attempt_at],
        )?;
        Ok(self.upload_status()?.failures)
    }
}
