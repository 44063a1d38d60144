//! The one seam through which builds run.
//!
//! A farm that outgrows one machine runs builds as jobs on a cluster engine
//! while publishing stays a single serial writer here. So the seam is shaped
//! for a remote backend, and the local one is just its simplest case:
//!
//! - a job is a *description* ([`BuildJob`]: recipe id, version, tag and the
//!   commit it pointed at, where the source is, which keys it is granted by
//!   name, whether it keeps the network). Paths (the recipe directory, key
//!   files, scratch space, the log) are this host's business: the executor resolves them from the config it
//!   was built from, so a description means the same on any node;
//! - running is `submit`, then `poll` until a final [`JobStatus`]; the
//!   handle ([`JobHandle`]) is plain data, re-created after a restart from
//!   what the store keeps (`backend_jobs`), so a job outlives the manager;
//! - a success is a set of [`ArtifactRef`]s that the publisher side brings
//!   home with `fetch`;
//! - failures are typed here ([`JobError`]): a backend's own error types
//!   never cross the seam.
//!
//! Nothing else in the manager knows how a build is carried out.

mod host;
mod local;

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

pub(crate) use host::{build_log, HostSide};
pub(crate) use local::LocalExecutor;

/// Everything that says what to build, and nothing about where: the same
/// description is valid on any host that can resolve it.
#[derive(Debug, Clone)]
pub(crate) struct BuildJob {
    pub(crate) id: i64,
    /// The recipe's id (its directory name under `recipes_dir`).
    pub(crate) recipe: String,
    pub(crate) packages: Vec<String>,
    pub(crate) version: String,
    pub(crate) tag: String,
    pub(crate) source: SourceRef,
    pub(crate) grant: Grant,
}

/// Where the source comes from.
#[derive(Debug, Clone)]
pub(crate) struct SourceRef {
    pub(crate) git: String,
    /// The commit the tag pointed at when the build was queued. The
    /// executors here clone the tag and report the commit they built (as
    /// the reference does); a backend that pins sources by commit uses it.
    #[allow(dead_code)]
    pub(crate) commit: String,
    pub(crate) submodules: bool,
}

/// What a build is granted beyond the default sandbox: signing keys by
/// their names in `[[signing.keys]]` (the executor maps names to key
/// material) and the network. The limits are the host's policy, not the
/// job's.
#[derive(Debug, Clone, Default)]
pub(crate) struct Grant {
    /// Keys whose public half is injected into the build environment.
    pub(crate) inject_pubkey: Vec<String>,
    /// Keys that sign the build's trusted binaries.
    pub(crate) sign: Vec<String>,
    /// The build's sandbox keeps its network.
    pub(crate) network: bool,
}

/// A build's job on a cluster engine, as `/status` and `explain` show it
/// and the store keeps it across restarts. (`pub`: the store is public.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendJob {
    /// The engine (`slurm`).
    pub backend: String,
    /// The engine's job id.
    pub job_id: String,
    /// One of `submitted`, `queued`, `running`, `completed`, `failed`,
    /// `cancelled`, `node-failure`, `timeout`, `lost`, `sealing`.
    pub state: String,
}

/// Names one submitted job. Plain data on purpose: a backend whose jobs
/// outlive this process re-creates it from a [`BackendJob`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JobHandle {
    pub(crate) build_id: i64,
    pub(crate) backend: String,
    pub(crate) job_id: String,
}

/// One produced package, where the backend keeps it until it is fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ArtifactRef {
    /// The file name it is published under.
    pub(crate) name: String,
    /// The backend's own reference (for the executors here, a file path).
    pub(crate) location: String,
}

/// What a successful job produced.
#[derive(Debug, Clone)]
pub(crate) struct Built {
    pub(crate) artifacts: Vec<ArtifactRef>,
    /// The commit that was built and its committer time.
    pub(crate) commit: String,
    pub(crate) timestamp: String,
    /// How long each step took (for the `stage timings` log line).
    pub(crate) stages: crate::pipeline::stages::Stages,
}

#[derive(Debug, Clone)]
pub(crate) enum JobStatus {
    Queued,
    Running,
    Succeeded(Built),
    Failed(JobError),
}

/// Why a job did not produce packages. Each kind carries the whole message
/// (it is what the build's failure records).
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum JobError {
    /// Stopped on request (a shutdown, or the build is no longer wanted).
    #[error("{0}")]
    Cancelled(String),
    /// The manager is stopping and left a cluster job running; the next
    /// start re-attaches to it.
    #[error("left {0} running for the next start (shutting down)")]
    Detached(String),
    #[error("{reason}")]
    TimedOut { reason: String, log: PathBuf },
    /// The build ran and failed; `log` is where it says why.
    #[error("{reason}")]
    BuildFailed { reason: String, log: PathBuf },
    /// The description cannot be run here (a granted key this host cannot
    /// resolve).
    #[error("{0}")]
    Rejected(String),
    /// The backend could not take or report the job.
    #[error("{0}")]
    Unavailable(String),
}

impl JobError {
    /// Stopped by a shutdown rather than failed: the job should be
    /// re-queued, not counted against the recipe.
    pub(crate) fn is_cancelled(&self) -> bool {
        matches!(self, JobError::Cancelled(_) | JobError::Detached(_))
    }
}

pub(crate) trait Executor: Send + Sync {
    /// Starts the job; returns at once.
    fn submit(&self, job: &BuildJob) -> Result<JobHandle, JobError>;

    /// Takes up a job submitted before a restart (`kept` is what the store
    /// has of it) with its description, so that its result can be finished
    /// here. `None`: this backend's jobs do not survive a restart.
    fn attach(&self, job: &BuildJob, kept: &BackendJob) -> Option<JobHandle> {
        let _ = (job, kept);
        None
    }

    /// The handle of a kept job, without its description: enough to
    /// cancel it.
    fn handle_of(&self, build_id: i64, kept: &BackendJob) -> Option<JobHandle> {
        let _ = (build_id, kept);
        None
    }

    /// Where the job is now. Cheap enough to call every
    /// [`Executor::poll_interval`]; a final answer is repeated on every
    /// later call.
    fn poll(&self, handle: &JobHandle) -> JobStatus;

    /// How often a waiting caller polls.
    fn poll_interval(&self) -> Duration;

    /// The job's state on its engine, for the store and `/status` (an
    /// executor without engine jobs has none).
    fn observed(&self, handle: &JobHandle) -> Option<BackendJob> {
        let _ = handle;
        None
    }

    /// Stops the job and removes what it left; a later poll reports
    /// [`JobError::Cancelled`].
    fn cancel(&self, handle: &JobHandle);

    /// The manager is stopping now. A backend whose jobs outlive it leaves
    /// the job running for the next start and returns true; otherwise the
    /// caller cancels it.
    fn detach(&self, handle: &JobHandle) -> bool {
        let _ = handle;
        false
    }

    /// Brings one artifact home into `dest_dir`; returns its path there.
    fn fetch(&self, artifact: &ArtifactRef, dest_dir: &Path) -> std::io::Result<PathBuf> {
        fetch_file(artifact, dest_dir)
    }

    /// Forgets a job that ended (and was fetched): removes its scratch.
    fn release(&self, handle: &JobHandle);
}

/// [`Executor::fetch`] for an artifact that is a file this host can
/// reach: moved if it can be, copied if not.
pub(crate) fn fetch_file(artifact: &ArtifactRef, dest_dir: &Path) -> std::io::Result<PathBuf> {
    let to = dest_dir.join(&artifact.name);
    if std::fs::rename(&artifact.location, &to).is_err() {
        std::fs::copy(&artifact.location, &to)?;
    }
    Ok(to)
}

/// The references of packages produced as files.
pub(crate) fn file_artifacts(outputs: Vec<PathBuf>) -> Result<Vec<ArtifactRef>, String> {
    outputs
        .into_iter()
        .map(|f| {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .ok_or_else(|| format!("output {} has no file name", f.display()))?;
            Ok(ArtifactRef {
                name,
                location: f.display().to_string(),
            })
        })
        .collect()
}

/// A job table's lock; a worker that panicked holding it left nothing
/// half-written that the others cannot read.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// An error and its causes as one line, the way the failure record has
/// always shown them (`anyhow`'s `{:#}`).
pub(crate) fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn a_chain_reads_like_anyhows_alternate_form() {
        let e = Outer(std::io::Error::other("inner"));
        assert_eq!(chain(&e), "outer: inner");
        assert_eq!(chain(&e), format!("{:#}", anyhow::Error::from(e)));
    }

    #[test]
    fn only_a_stop_requeues() {
        assert!(JobError::Cancelled("x".into()).is_cancelled());
        assert!(JobError::Detached("slurm job 4".into()).is_cancelled());
        let log = PathBuf::from("/l");
        assert!(!JobError::TimedOut {
            reason: "x".into(),
            log: log.clone()
        }
        .is_cancelled());
        assert!(!JobError::BuildFailed {
            reason: "x".into(),
            log
        }
        .is_cancelled());
        assert_eq!(
            JobError::Detached("slurm job 4".into()).to_string(),
            "left slurm job 4 running for the next start (shutting down)"
        );
    }
}
