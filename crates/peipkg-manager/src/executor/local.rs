//! [`LocalExecutor`]: fetches and builds in child processes on this
//! machine, one background thread per job.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::host::HostSide;
use super::{
    chain, file_artifacts, lock, BuildJob, Built, Executor, JobError, JobHandle, JobStatus,
};
use crate::config::GitConfig;
use crate::pipeline::build::{run_build, BuildArgs, BuildError};
use crate::pipeline::fetch::{fetch, FetchError};
use crate::pipeline::stages::Stages;
use crate::process::{Cancel, RunError};

const BACKEND: &str = "local";

/// A local child finishing is noticed this soon.
const POLL: Duration = Duration::from_millis(20);

pub(crate) struct LocalExecutor {
    inner: Arc<Inner>,
    jobs: Mutex<HashMap<String, Arc<Slot>>>,
}

struct Inner {
    host: HostSide,
    git: GitConfig,
    timeout: Duration,
}

/// One running job: what stops it and where its thread leaves the result.
struct Slot {
    cancel: Cancel,
    status: Mutex<JobStatus>,
}

/// What can go wrong on the way; it stays on this side of the seam.
#[derive(Debug, thiserror::Error)]
enum LocalError {
    #[error("fetch source: {0}")]
    Fetch(Box<FetchError>),
    #[error(transparent)]
    Build(Box<BuildError>),
    #[error("{0}")]
    Other(String),
}

impl From<FetchError> for LocalError {
    fn from(e: FetchError) -> Self {
        LocalError::Fetch(Box::new(e))
    }
}

impl From<BuildError> for LocalError {
    fn from(e: BuildError) -> Self {
        LocalError::Build(Box::new(e))
    }
}

impl LocalError {
    /// The child's own end, if that is what stopped the job.
    fn run_error(&self) -> Option<&RunError> {
        match self {
            LocalError::Fetch(f) => match f.as_ref() {
                FetchError::Clone { source, .. } | FetchError::Submodules { source, .. } => {
                    Some(source)
                }
                _ => None,
            },
            LocalError::Build(b) => match b.as_ref() {
                BuildError::Run(source) => Some(source),
                _ => None,
            },
            LocalError::Other(_) => None,
        }
    }

    fn at_seam(&self, log: &Path) -> JobError {
        let reason = chain(self);
        let log = log.to_path_buf();
        match self.run_error() {
            Some(RunError::Cancelled { .. }) => JobError::Cancelled(reason),
            Some(RunError::TimedOut { .. }) => JobError::TimedOut { reason, log },
            _ => JobError::BuildFailed { reason, log },
        }
    }
}

impl LocalExecutor {
    pub(crate) fn new(host: HostSide) -> LocalExecutor {
        let git = host.cfg.git.clone();
        let timeout = host.cfg.build.timeout;
        LocalExecutor {
            inner: Arc::new(Inner { host, git, timeout }),
            jobs: Mutex::default(),
        }
    }

    fn slot(&self, handle: &JobHandle) -> Option<Arc<Slot>> {
        lock(&self.jobs).get(&handle.job_id).cloned()
    }
}

impl Inner {
    fn run(&self, job: &BuildJob, cancel: &Cancel) -> Result<Built, LocalError> {
        let resolved = self
            .host
            .resolve(job)
            .map_err(|e| LocalError::Other(e.to_string()))?;
        let work_dir = self.host.work_dir(job.id);
        let log = self.host.log(job.id);
        let mut stages = Stages::start();
        std::fs::create_dir_all(&work_dir)
            .map_err(|e| LocalError::Other(format!("create {}: {e}", work_dir.display())))?;
        let source = work_dir.join("src");
        let out = work_dir.join("out");
        let fetched = fetch(
            &self.git,
            &job.source.git,
            &job.tag,
            job.source.submodules,
            &source,
            &log,
            Some(cancel),
        )?;
        stages.mark("fetch");
        let args = BuildArgs {
            recipe_file: resolved.recipe_file,
            source,
            version: job.version.clone(),
            git: job.source.git.clone(),
            tag: job.tag.clone(),
            farm_id: self.host.farm_id().to_string(),
            timestamp: fetched.timestamp.clone(),
            out,
            sign_key: resolved.sign_key,
            build_env: resolved.build_env,
            binary_sign_keys: resolved.binary_sign_keys,
            sandbox_args: resolved.sandbox_args,
            sandbox_env: resolved.sandbox_env,
        };
        let outputs = run_build(
            &self.host.peipkg_build,
            &args,
            &job.packages,
            self.timeout,
            &log,
            Some(cancel),
        )?;
        stages.mark("peipkg_build");
        // The checkout is not needed once the packages exist.
        let _ = crate::pipeline::tree::remove_all(&args.source);
        stages.mark("remove_source");
        Ok(Built {
            artifacts: file_artifacts(outputs).map_err(LocalError::Other)?,
            commit: fetched.commit,
            timestamp: fetched.timestamp,
            stages,
        })
    }
}

impl Executor for LocalExecutor {
    fn submit(&self, job: &BuildJob) -> Result<JobHandle, JobError> {
        // Rejected here rather than in the thread: a job this host cannot
        // resolve never starts.
        self.inner.host.resolve(job)?;
        let handle = JobHandle {
            build_id: job.id,
            backend: BACKEND.into(),
            job_id: job.id.to_string(),
        };
        let slot = Arc::new(Slot {
            cancel: Cancel::new(),
            status: Mutex::new(JobStatus::Running),
        });
        lock(&self.jobs).insert(handle.job_id.clone(), Arc::clone(&slot));
        let inner = Arc::clone(&self.inner);
        let job = job.clone();
        std::thread::Builder::new()
            .name(format!("build-{}", job.id))
            .spawn(move || {
                let log = inner.host.log(job.id);
                // A panicking build must still end its job, or its worker
                // would poll a `Running` forever.
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    inner.run(&job, &slot.cancel)
                }));
                let status = match run {
                    Ok(Ok(built)) => JobStatus::Succeeded(built),
                    Ok(Err(e)) => JobStatus::Failed(e.at_seam(&log)),
                    Err(_) => JobStatus::Failed(JobError::BuildFailed {
                        reason: "the build thread panicked".into(),
                        log,
                    }),
                };
                *lock(&slot.status) = status;
            })
            .map_err(|e| {
                lock(&self.jobs).remove(&handle.job_id);
                JobError::Unavailable(format!("start a build thread: {e}"))
            })?;
        Ok(handle)
    }

    fn poll(&self, handle: &JobHandle) -> JobStatus {
        match self.slot(handle) {
            Some(slot) => lock(&slot.status).clone(),
            None => JobStatus::Failed(JobError::Unavailable(format!(
                "no local build {}",
                handle.job_id
            ))),
        }
    }

    fn poll_interval(&self) -> Duration {
        POLL
    }

    fn cancel(&self, handle: &JobHandle) {
        if let Some(slot) = self.slot(handle) {
            slot.cancel.cancel();
        }
    }

    fn release(&self, handle: &JobHandle) {
        lock(&self.jobs).remove(&handle.job_id);
        let _ = crate::pipeline::tree::remove_all(&self.inner.host.work_dir(handle.build_id));
    }
}
