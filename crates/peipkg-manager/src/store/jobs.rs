//! Cluster jobs of builds (`[build].executor = "slurm"`): which engine job
//! a build is, and the state it was last seen in. Kept so that a restart
//! re-attaches to a job still queued or running instead of submitting the
//! build again, and so that `/status` and `explain` can name the job.

use rusqlite::{params, OptionalExtension};

use super::{Result, Store};
use crate::executor::BackendJob;

impl Store {
    /// Records (or updates) the job of build `id`.
    pub fn record_job(&self, id: i64, job: &BackendJob, now: i64) -> Result<()> {
        self.conn.execute(
            "INSERT INTO backend_jobs (build_id, backend, job_id, state, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(build_id) DO UPDATE SET backend = ?2, job_id = ?3, state = ?4, updated_at = ?5",
            params![id, job.backend, job.job_id, job.state, now],
        )?;
        Ok(())
    }

    /// The jobs of running builds, counted by (backend, state).
    pub fn running_job_states(&self) -> Result<Vec<(String, String, i64)>> {
        let mut q = self.conn.prepare(
            "SELECT j.backend, j.state, COUNT(*) FROM backend_jobs j
             JOIN builds b ON b.id = j.build_id WHERE b.state = 'running'
             GROUP BY j.backend, j.state ORDER BY j.backend, j.state",
        )?;
        let rows = q.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The job of build `id`, if it was ever submitted.
    pub fn job_of(&self, id: i64) -> Result<Option<BackendJob>> {
        Ok(self
            .conn
            .query_row(
                "SELECT backend, job_id, state FROM backend_jobs WHERE build_id = ?1",
                params![id],
                |r| {
                    Ok(BackendJob {
                        backend: r.get(0)?,
                        job_id: r.get(1)?,
                        state: r.get(2)?,
                    })
                },
            )
            .optional()?)
    }
}
