//! Slurm through its client programs: `sbatch --parsable` submits,
//! `scontrol show job -o` reports a job's state, `scancel` cancels. The
//! engine's states are mapped to the farm's small vocabulary.

use std::path::Path;
use std::time::Duration;

use crate::config::SlurmConfig;
use crate::process::{self, Cmd, Sink};

/// How long one client call may take before it counts as failed.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// A job's state, in the farm's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobState {
    Queued,
    Running,
    Completed,
    Failed,
    Cancelled,
    NodeFailure,
    Timeout,
    /// The engine no longer knows the job (purged after it ended, or lost).
    Unknown,
}

impl JobState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Completed => "completed",
            JobState::Failed => "failed",
            JobState::Cancelled => "cancelled",
            JobState::NodeFailure => "node-failure",
            JobState::Timeout => "timeout",
            JobState::Unknown => "lost",
        }
    }

    pub(crate) fn is_final(self) -> bool {
        !matches!(self, JobState::Queued | JobState::Running)
    }

    /// Maps a Slurm `JobState` (`squeue -o %T`, `scontrol show job`).
    pub(crate) fn from_slurm(s: &str) -> JobState {
        match s {
            "PENDING" | "CONFIGURING" | "REQUEUED" | "REQUEUE_HOLD" | "REQUEUE_FED"
            | "RESV_DEL_HOLD" | "SUSPENDED" | "STOPPED" | "RESIZING" => JobState::Queued,
            // Still ending: its epilog runs, its result may not be final.
            "RUNNING" | "COMPLETING" | "SIGNALING" | "STAGE_OUT" => JobState::Running,
            "COMPLETED" => JobState::Completed,
            "CANCELLED" | "PREEMPTED" | "REVOKED" => JobState::Cancelled,
            "NODE_FAIL" | "BOOT_FAIL" => JobState::NodeFailure,
            "TIMEOUT" | "DEADLINE" => JobState::Timeout,
            // FAILED, OUT_OF_MEMORY, SPECIAL_EXIT and anything new.
            _ => JobState::Failed,
        }
    }
}

/// What the engine said about one job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Observed {
    pub(crate) state: JobState,
    /// Slurm's own state word and reason, for messages.
    pub(crate) detail: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum EngineError {
    #[error("{0}")]
    Run(String),
    #[error("sbatch printed {0:?}, not a job id")]
    BadJobId(String),
}

pub(crate) struct Slurm<'a> {
    pub(crate) cfg: &'a SlurmConfig,
}

impl Slurm<'_> {
    fn client(&self, program: &str) -> Cmd {
        Cmd::new(program, CLIENT_TIMEOUT)
            .stdout(Sink::Capture)
            .stderr(Sink::Capture)
    }

    /// Submits `script` (run in `job_dir`, output appended to `log`) and
    /// returns the job id.
    pub(crate) fn submit(
        &self,
        name: &str,
        script: &Path,
        job_dir: &Path,
        log: &Path,
        time_limit: Duration,
    ) -> Result<String, EngineError> {
        let minutes = time_limit.as_secs().div_ceil(60).max(1);
        let mut cmd = self
            .client(&self.cfg.sbatch)
            .arg("--parsable")
            .arg(format!("--job-name={name}"))
            .arg(format!("--chdir={}", job_dir.display()))
            .arg(format!("--output={}", log.display()))
            .arg("--open-mode=append")
            .arg(format!("--time={minutes}"))
            // The node gets PATH and nothing else of this host's
            // environment.
            .arg("--export=PATH");
        if let Some(p) = &self.cfg.partition {
            cmd = cmd.arg(format!("--partition={p}"));
        }
        if let Some(a) = &self.cfg.account {
            cmd = cmd.arg(format!("--account={a}"));
        }
        let cmd = cmd.args(&self.cfg.sbatch_args).arg(script);
        let out = process::run(&cmd, None).map_err(|e| EngineError::Run(e.to_string()))?;
        let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
        // `--parsable` prints `id` or `id;cluster`.
        let id = text.split(';').next().unwrap_or_default();
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(EngineError::BadJobId(text));
        }
        Ok(id.to_string())
    }

    /// The job's state; [`JobState::Unknown`] when Slurm no longer knows
    /// the id.
    pub(crate) fn observe(&self, id: &str) -> Result<Observed, EngineError> {
        let cmd = self
            .client(&self.cfg.scontrol)
            .args(["show", "job", "-o", id]);
        let out = process::run_status(&cmd, None).map_err(|e| EngineError::Run(e.to_string()))?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            if stderr.contains("Invalid job id") {
                return Ok(Observed {
                    state: JobState::Unknown,
                    detail: "unknown to slurm".into(),
                });
            }
            return Err(EngineError::Run(format!(
                "{} show job {id}: {}",
                self.cfg.scontrol,
                process::tail(&out.stderr, 3)
            )));
        }
        let field = |key: &str| {
            stdout
                .split_whitespace()
                .find_map(|w| w.strip_prefix(key))
                .unwrap_or("")
                .to_string()
        };
        let raw = field("JobState=");
        if raw.is_empty() {
            return Err(EngineError::Run(format!(
                "{} show job {id}: no JobState in {:?}",
                self.cfg.scontrol,
                stdout.trim()
            )));
        }
        let reason = field("Reason=");
        let detail = match reason.as_str() {
            "" | "None" => raw.clone(),
            r => format!("{raw} ({r})"),
        };
        Ok(Observed {
            state: JobState::from_slurm(&raw),
            detail,
        })
    }

    /// Cancels a job (used for a job whose build is no longer wanted).
    pub(crate) fn cancel(&self, id: &str) -> Result<(), EngineError> {
        let cmd = self.client(&self.cfg.scancel).arg(id);
        process::run(&cmd, None)
            .map(|_| ())
            .map_err(|e| EngineError::Run(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slurm_states_map_to_the_farms_words() {
        for (s, want) in [
            ("PENDING", "queued"),
            ("RUNNING", "running"),
            ("COMPLETING", "running"),
            ("COMPLETED", "completed"),
            ("FAILED", "failed"),
            ("OUT_OF_MEMORY", "failed"),
            ("CANCELLED", "cancelled"),
            ("NODE_FAIL", "node-failure"),
            ("TIMEOUT", "timeout"),
        ] {
            assert_eq!(JobState::from_slurm(s).as_str(), want, "{s}");
        }
        assert!(!JobState::Running.is_final());
        assert!(JobState::Unknown.is_final());
    }
}
