//! The one seam through which builds run.
//!
//! Today every build is a local child process. A farm that outgrows one
//! machine should run builds as jobs on an existing cluster engine
//! (Kubernetes Jobs, Nomad) while publishing stays a single serial writer
//! here; such an engine plugs in by implementing [`Executor`]. Nothing else
//! in the manager knows how a build is carried out.

use std::path::PathBuf;
use std::time::Duration;

use crate::config::GitConfig;
use crate::pipeline::build::{run_build, BuildArgs, BuildError};
use crate::pipeline::fetch::{fetch, FetchError};
use crate::process::{Cancel, RunError};

/// Everything needed to build one version of one recipe.
#[derive(Debug, Clone)]
pub(crate) struct BuildJob {
    pub(crate) id: i64,
    pub(crate) recipe: String,
    pub(crate) recipe_file: PathBuf,
    pub(crate) packages: Vec<String>,
    pub(crate) git: String,
    pub(crate) tag: String,
    pub(crate) version: String,
    pub(crate) submodules: bool,
    pub(crate) farm_id: String,
    pub(crate) sign_key: PathBuf,
    pub(crate) build_env: Vec<(String, String)>,
    pub(crate) binary_sign_keys: Vec<(String, PathBuf)>,
    /// Appended to the reference's arguments: the sandbox and limits
    /// (see [`crate::sandbox::build_args`]).
    pub(crate) sandbox_args: Vec<String>,
    /// Set in `peipkg-build`'s environment (`PEIPKG_BUILD_SANDBOX=none`).
    pub(crate) sandbox_env: Vec<(String, String)>,
    /// Scratch space the executor may use; the caller removes it.
    pub(crate) work_dir: PathBuf,
    /// The build's log file; everything the build prints goes here.
    pub(crate) log: PathBuf,
    /// A cluster job this build already has (submitted before a restart):
    /// the executor re-attaches to it instead of submitting again.
    pub(crate) attach: Option<BackendJob>,
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

#[derive(Debug, Clone)]
pub(crate) struct BuildResult {
    /// The produced packages (inside `work_dir`).
    pub(crate) outputs: Vec<PathBuf>,
    /// The commit that was built and its committer time.
    pub(crate) commit: String,
    pub(crate) timestamp: String,
    /// How long each step took (for the `stage timings` log line).
    pub(crate) stages: crate::pipeline::stages::Stages,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum JobError {
    #[error("fetch source: {0}")]
    Fetch(Box<FetchError>),
    #[error(transparent)]
    Build(Box<BuildError>),
    #[error("{0}")]
    Other(String),
    /// The manager is stopping and left a cluster job running; the next
    /// start re-attaches to it.
    #[error("left {0} running for the next start (shutting down)")]
    Detached(String),
}

impl From<FetchError> for JobError {
    fn from(e: FetchError) -> Self {
        JobError::Fetch(Box::new(e))
    }
}

impl From<BuildError> for JobError {
    fn from(e: BuildError) -> Self {
        JobError::Build(Box::new(e))
    }
}

impl JobError {
    /// Stopped by a shutdown rather than failed: the job should be
    /// re-queued, not counted against the recipe.
    pub(crate) fn is_cancelled(&self) -> bool {
        let run = match self {
            JobError::Fetch(f) => match f.as_ref() {
                FetchError::Clone { source, .. } | FetchError::Submodules { source, .. } => {
                    Some(source)
                }
                _ => None,
            },
            JobError::Build(b) => match b.as_ref() {
                BuildError::Run(source) => Some(source),
                _ => None,
            },
            _ => None,
        };
        matches!(self, JobError::Detached(_)) || matches!(run, Some(RunError::Cancelled { .. }))
    }
}

pub(crate) trait Executor: Send + Sync {
    /// Runs the job to completion (or until `cancel` is set).
    fn run(&self, job: &BuildJob, cancel: &Cancel) -> Result<BuildResult, JobError>;
    /// As [`Executor::run`], reporting each change of the build's cluster
    /// job to `track` (an executor without jobs never calls it).
    fn run_tracked(
        &self,
        job: &BuildJob,
        cancel: &Cancel,
        track: &dyn Fn(&BackendJob),
    ) -> Result<BuildResult, JobError> {
        let _ = track;
        self.run(job, cancel)
    }
    /// Gives up a build's cluster job (the build is no longer wanted):
    /// cancels it and removes what it left. An executor without jobs has
    /// nothing to do.
    fn abandon(&self, build_id: i64, farm_id: &str, job: &BackendJob) {
        let _ = (build_id, farm_id, job);
    }
}

/// Fetches and builds in child processes on this machine.
pub(crate) struct LocalExecutor {
    pub(crate) git: GitConfig,
    pub(crate) peipkg_build: PathBuf,
    pub(crate) timeout: Duration,
}

impl Executor for LocalExecutor {
    fn run(&self, job: &BuildJob, cancel: &Cancel) -> Result<BuildResult, JobError> {
        let mut stages = crate::pipeline::stages::Stages::start();
        std::fs::create_dir_all(&job.work_dir)
            .map_err(|e| JobError::Other(format!("create {}: {e}", job.work_dir.display())))?;
        let source = job.work_dir.join("src");
        let out = job.work_dir.join("out");
        let fetched = fetch(
            &self.git,
            &job.git,
            &job.tag,
            job.submodules,
            &source,
            &job.log,
            Some(cancel),
        )?;
        stages.mark("fetch");
        let args = BuildArgs {
            recipe_file: job.recipe_file.clone(),
            source,
            version: job.version.clone(),
            git: job.git.clone(),
            tag: job.tag.clone(),
            farm_id: job.farm_id.clone(),
            timestamp: fetched.timestamp.clone(),
            out,
            sign_key: job.sign_key.clone(),
            build_env: job.build_env.clone(),
            binary_sign_keys: job.binary_sign_keys.clone(),
            sandbox_args: job.sandbox_args.clone(),
            sandbox_env: job.sandbox_env.clone(),
        };
        let outputs = run_build(
            &self.peipkg_build,
            &args,
            &job.packages,
            self.timeout,
            &job.log,
            Some(cancel),
        )?;
        stages.mark("peipkg_build");
        // The checkout is not needed once the packages exist.
        let _ = crate::pipeline::tree::remove_all(&args.source);
        stages.mark("remove_source");
        Ok(BuildResult {
            outputs,
            commit: fetched.commit,
            timestamp: fetched.timestamp,
            stages,
        })
    }
}
