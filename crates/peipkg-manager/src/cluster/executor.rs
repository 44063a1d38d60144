//! [`SlurmExecutor`]: each build is one Slurm batch job, tracked by
//! polling, sealed and signed on this host.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::contract::{
    open_untrusted, read_result, write_json, JobDescription, JobResult, CONTRACT_VERSION, JOB_FILE,
    NODE_LOG, RECIPE_DIR, STAGED_DIR,
};
use super::engine::{JobState, Observed, Slurm};
use crate::config::SlurmConfig;
use crate::executor::{
    file_artifacts, lock, BackendJob, BuildJob, Built, Executor, HostSide, JobError, JobHandle,
    JobStatus,
};
use crate::pipeline::build::{collect_outputs, log_tail, source_ref};
use crate::pipeline::fetch::note;
use crate::pipeline::stages::Stages;
use crate::pipeline::tree::remove_all;
use crate::process::{self, Cmd, RunError, Sink};

pub(crate) const BACKEND: &str = "slurm";

/// How long a completed job's `result.json` may take to become visible
/// here (attribute caching on NFS).
const RESULT_GRACE: Duration = Duration::from_secs(30);

/// How long dropping a job waits for Slurm to end it before its
/// directory is removed regardless.
const ABANDON_WAIT: Duration = Duration::from_secs(20);
const ABANDON_POLL: Duration = Duration::from_millis(250);

pub(crate) struct SlurmExecutor {
    cfg: SlurmConfig,
    host: HostSide,
    /// Where this host keeps its own snapshot of each job's recipe
    /// (`<state_dir>/jobs`), out of the nodes' reach.
    private_dir: PathBuf,
    /// The jobs this process follows, by Slurm job id.
    jobs: Mutex<HashMap<String, Tracked>>,
}

/// One followed job: its description (for the seal), what was last said
/// about it, and its status once final.
struct Tracked {
    job: BuildJob,
    /// The last thing noted in the build's log (a state or a poll error).
    last: String,
    state: String,
    /// From submission (or re-attachment) on.
    stages: Stages,
    status: JobStatus,
}

/// A failure of the job directory or the submission itself.
fn unavailable(e: impl std::fmt::Display) -> JobError {
    JobError::Unavailable(e.to_string())
}

/// `'text'` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl SlurmExecutor {
    pub(crate) fn new(cfg: SlurmConfig, host: HostSide) -> SlurmExecutor {
        SlurmExecutor {
            cfg,
            private_dir: host.cfg.state_dir.join("jobs"),
            host,
            jobs: Mutex::default(),
        }
    }

    fn engine(&self) -> Slurm<'_> {
        Slurm { cfg: &self.cfg }
    }

    fn timeout(&self) -> Duration {
        self.host.cfg.build.timeout
    }

    /// The job directory on the shared storage.
    pub(crate) fn shared_dir(&self, build_id: i64) -> PathBuf {
        self.cfg
            .work_dir
            .join(self.host.farm_id())
            .join(format!("build-{build_id}"))
    }

    fn private_recipe(&self, build_id: i64) -> PathBuf {
        self.private_dir.join(build_id.to_string()).join(RECIPE_DIR)
    }

    fn update<T>(&self, handle: &JobHandle, f: impl FnOnce(&mut Tracked) -> T) -> Option<T> {
        lock(&self.jobs).get_mut(&handle.job_id).map(f)
    }

    fn follow(&self, job: &BuildJob, job_id: &str, state: &str, status: JobStatus) -> JobHandle {
        lock(&self.jobs).insert(
            job_id.to_string(),
            Tracked {
                job: job.clone(),
                last: String::new(),
                state: state.to_string(),
                stages: Stages::start(),
                status,
            },
        );
        JobHandle {
            build_id: job.id,
            backend: BACKEND.into(),
            job_id: job_id.to_string(),
        }
    }

    /// Lays out the job directory and submits the job; returns its id.
    fn submit_job(&self, job: &BuildJob, shared: &Path) -> Result<String, JobError> {
        let resolved = self.host.resolve(job)?;
        let recipe_dir = resolved.recipe_file.parent().ok_or_else(|| {
            unavailable(format!(
                "recipe file {} has no directory",
                resolved.recipe_file.display()
            ))
        })?;
        let recipe_file = crate::roster::RECIPE_FILE.to_string();
        let private = self.private_recipe(job.id);
        for dir in [shared, private.parent().unwrap_or(&private)] {
            remove_all(dir).map_err(|e| unavailable(format!("clear {}: {e}", dir.display())))?;
        }
        // This host's snapshot is what gets sealed; the node's copy only
        // drives the script. A node that edits its copy changes nothing
        // about what is partitioned, checked or signed.
        for dest in [shared.join(RECIPE_DIR), private.clone()] {
            std::fs::create_dir_all(&dest)
                .map_err(|e| unavailable(format!("create {}: {e}", dest.display())))?;
            peipkg_os::copy_tree_nofollow(recipe_dir, &dest)
                .map_err(|e| unavailable(format!("copy recipe {}: {e}", recipe_dir.display())))?;
        }
        let git = &self.host.cfg.git;
        let desc = JobDescription {
            contract: CONTRACT_VERSION,
            build_id: job.id,
            recipe: job.recipe.clone(),
            recipe_file,
            version: job.version.clone(),
            git: job.source.git.clone(),
            tag: job.tag.clone(),
            submodules: job.source.submodules,
            farm_id: self.host.farm_id().to_string(),
            source_ref: source_ref(&job.source.git, &job.tag),
            build_env: resolved.build_env,
            // The host's `--sandbox-hide` list included: where a node shares
            // file systems with this host, those paths stay covered there
            // too (paths a node does not have are ignored by the sandbox).
            stage_args: resolved.sandbox_args,
            stage_env: resolved.sandbox_env,
            peipkg_build: self.cfg.node_peipkg_build.clone(),
            git_program: self.cfg.node_git.clone(),
            allow_file_submodules: git.allow_file_submodules,
            clone_timeout_secs: git.clone_timeout.as_secs(),
            build_timeout_secs: self.timeout().as_secs(),
        };
        write_json(shared, JOB_FILE, &desc).map_err(unavailable)?;
        let script = shared.join("job.sh");
        let text = format!(
            "#!/bin/sh\n# peipkg build {} of {} {}\nexec {} run {}\n",
            job.id,
            job.recipe,
            job.version,
            sh_quote(&self.cfg.node_program),
            sh_quote(&shared.display().to_string())
        );
        std::fs::write(&script, text)
            .map_err(|e| unavailable(format!("write {}: {e}", script.display())))?;
        let name = format!("peipkg-{}-{}", job.recipe, job.version);
        // The node's share of the job's time: the clone and the script.
        let limit = self.timeout() + git.clone_timeout;
        self.engine()
            .submit(&name, &script, shared, &shared.join(NODE_LOG), limit)
            .map_err(|e| unavailable(format!("submit to slurm: {e}")))
    }

    /// Turns a finished job into packages (or the failure it is).
    fn finish(
        &self,
        job: &BuildJob,
        id: &str,
        end: &Observed,
        shared: &Path,
    ) -> Result<Built, JobError> {
        let log = self.host.log(job.id);
        let failed = |reason: String| JobError::BuildFailed {
            reason,
            log: log.clone(),
        };
        let mut result = read_result(shared).map_err(|e| failed(e.to_string()))?;
        // Shared file systems (NFS) may show a node's last write to this
        // host a little late: a completed job gets a grace period before
        // its missing result counts.
        let grace = Instant::now() + RESULT_GRACE;
        while result.is_none() && end.state == JobState::Completed && Instant::now() < grace {
            std::thread::sleep(Duration::from_millis(500));
            result = read_result(shared).map_err(|e| failed(e.to_string()))?;
        }
        let res = match (end.state, result) {
            (JobState::Completed | JobState::Unknown, Some(r)) if r.ok => r,
            (
                _,
                Some(JobResult {
                    ok: false, error, ..
                }),
            ) => {
                return Err(failed(format!(
                    "slurm job {id} {}: {}",
                    end.detail,
                    error.unwrap_or_else(|| "no reason given".into())
                )))
            }
            (JobState::Completed, _) => {
                return Err(failed(format!(
                    "slurm job {id} completed but left no result in {}",
                    shared.display()
                )))
            }
            (JobState::Unknown, None) => {
                return Err(failed(format!(
                    "slurm job {id} is lost: slurm no longer knows it and it left no result"
                )))
            }
            (state, _) => {
                let reason = format!(
                    "slurm job {id} ended {}: {} {}",
                    state.as_str(),
                    end.detail,
                    log_tail(&shared.join(NODE_LOG), 2)
                );
                return Err(match state {
                    JobState::Timeout => JobError::TimedOut { reason, log },
                    _ => failed(reason),
                });
            }
        };
        let commit = res.commit.unwrap_or_default();
        if !(commit.len() == 40 || commit.len() == 64)
            || !commit.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(failed(format!(
                "slurm job {id} reported commit {commit:?}, not a git object id"
            )));
        }
        let timestamp = res.timestamp.unwrap_or_default();
        if res.staged.as_deref() != Some(STAGED_DIR) {
            return Err(failed(format!(
                "slurm job {id} reported staged tree {:?}, expected {STAGED_DIR:?}",
                res.staged
            )));
        }
        let out = self.host.work_dir(job.id).join("out");
        self.seal(job, shared, &timestamp, &out)?;
        let outputs = collect_outputs(&out, &job.packages, &job.version)
            .map_err(|e| failed(e.to_string()))?;
        Ok(Built {
            artifacts: file_artifacts(outputs).map_err(failed)?,
            commit,
            timestamp,
            stages: Stages::start(),
        })
    }

    /// `peipkg-build seal` on this host, with its keys and its own recipe
    /// snapshot, into `out`.
    fn seal(
        &self,
        job: &BuildJob,
        shared: &Path,
        timestamp: &str,
        out: &Path,
    ) -> Result<(), JobError> {
        let resolved = self.host.resolve(job)?;
        let log = self.host.log(job.id);
        let failed = |reason: String| JobError::BuildFailed {
            reason,
            log: log.clone(),
        };
        std::fs::create_dir_all(out)
            .map_err(|e| failed(format!("create {}: {e}", out.display())))?;
        let mut cmd = Cmd::new(&self.host.peipkg_build, self.timeout())
            .arg("seal")
            .arg("--recipe")
            .arg(self.private_recipe(job.id).join(crate::roster::RECIPE_FILE))
            .arg("--staged")
            .arg(shared.join(STAGED_DIR))
            .args(["--version", &job.version])
            .args(["--source-ref", &source_ref(&job.source.git, &job.tag)])
            .args(["--farm-id", self.host.farm_id()])
            .args(["--timestamp", timestamp])
            .arg("--out")
            .arg(out)
            .arg("--sign-key")
            .arg(&resolved.sign_key);
        for (k, p) in &resolved.binary_sign_keys {
            cmd = cmd
                .arg("--binary-sign-key")
                .arg(format!("{k}={}", p.display()));
        }
        let cmd = cmd
            .stdout(Sink::File(log.clone()))
            .stderr(Sink::File(log.clone()));
        note(&log, &cmd.display());
        process::run(&cmd, None).map(|_| ()).map_err(|e| match e {
            RunError::Failed { status, .. } => failed(format!(
                "peipkg-build seal: {status}: {}",
                log_tail(&log, 3)
            )),
            e => failed(format!("peipkg-build seal: {}", e.reason())),
        })
    }

    /// The job has ended on its engine: its log joins the build's, its
    /// result is sealed here, and its directories go.
    fn conclude(&self, handle: &JobHandle, job: &BuildJob, end: &Observed) -> JobStatus {
        let id = &handle.job_id;
        // Submission to the end of the job: queueing, fetch and script.
        self.update(handle, |t| t.stages.mark("slurm_job"));
        let shared = self.shared_dir(job.id);
        copy_node_log(&shared, id, &self.host.log(job.id));
        let outcome = self.finish(job, id, end, &shared);
        let _ = remove_all(&shared);
        let _ = remove_all(self.private_dir.join(job.id.to_string()).as_path());
        let status = match outcome {
            Ok(mut built) => {
                let stages = self.update(handle, |t| {
                    t.stages.mark("seal");
                    t.stages.clone()
                });
                if let Some(s) = stages {
                    built.stages = s;
                }
                JobStatus::Succeeded(built)
            }
            Err(e) => JobStatus::Failed(e),
        };
        self.update(handle, |t| t.status = status.clone());
        status
    }
}

/// Appends what the node wrote to the build's own log.
fn copy_node_log(shared: &Path, id: &str, log: &Path) {
    note(
        log,
        &format!("# --- output of slurm job {id} on its node ---"),
    );
    if let Ok(mut from) = open_untrusted(&shared.join(NODE_LOG)) {
        if let Ok(mut to) = std::fs::File::options().append(true).create(true).open(log) {
            let _ = std::io::copy(&mut from, &mut to);
        }
    }
    note(log, "# --- end of node output ---");
}

fn is_final(s: &JobStatus) -> bool {
    matches!(s, JobStatus::Succeeded(_) | JobStatus::Failed(_))
}

impl Executor for SlurmExecutor {
    fn submit(&self, job: &BuildJob) -> Result<JobHandle, JobError> {
        let shared = self.shared_dir(job.id);
        let id = self.submit_job(job, &shared)?;
        note(
            &self.host.log(job.id),
            &format!(
                "# submitted slurm job {id}, job directory {}",
                shared.display()
            ),
        );
        Ok(self.follow(job, &id, "submitted", JobStatus::Queued))
    }

    fn attach(&self, job: &BuildJob, kept: &BackendJob) -> Option<JobHandle> {
        if kept.backend != BACKEND {
            return None;
        }
        note(
            &self.host.log(job.id),
            &format!(
                "# re-attached to slurm job {} ({})",
                kept.job_id, kept.state
            ),
        );
        Some(self.follow(job, &kept.job_id, &kept.state, JobStatus::Running))
    }

    fn handle_of(&self, build_id: i64, kept: &BackendJob) -> Option<JobHandle> {
        (kept.backend == BACKEND).then(|| JobHandle {
            build_id,
            backend: BACKEND.into(),
            job_id: kept.job_id.clone(),
        })
    }

    fn poll(&self, handle: &JobHandle) -> JobStatus {
        let id = &handle.job_id;
        let Some((job, last, status)) = self.update(handle, |t| {
            (t.job.clone(), t.last.clone(), t.status.clone())
        }) else {
            return JobStatus::Failed(unavailable(format!("slurm job {id} is not followed here")));
        };
        if is_final(&status) {
            return status;
        }
        let log = self.host.log(handle.build_id);
        match self.engine().observe(id) {
            Ok(o) => {
                if o.detail != last {
                    note(&log, &format!("# slurm job {id}: {}", o.detail));
                    self.update(handle, |t| {
                        t.last = o.detail.clone();
                        t.state = o.state.as_str().into();
                    });
                }
                match o.state {
                    JobState::Queued => JobStatus::Queued,
                    JobState::Running => JobStatus::Running,
                    _ => self.conclude(handle, &job, &o),
                }
            }
            Err(e) => {
                let msg = format!("could not ask slurm about job {id}: {e}");
                if msg != last {
                    note(&log, &format!("# {msg}; retrying"));
                    self.update(handle, |t| t.last = msg);
                }
                status
            }
        }
    }

    fn poll_interval(&self) -> Duration {
        self.cfg.poll_interval
    }

    fn observed(&self, handle: &JobHandle) -> Option<BackendJob> {
        self.update(handle, |t| BackendJob {
            backend: BACKEND.into(),
            job_id: handle.job_id.clone(),
            state: t.state.clone(),
        })
    }

    fn cancel(&self, handle: &JobHandle) {
        // Best effort: a job that already ended cannot be cancelled.
        let engine = self.engine();
        let _ = engine.cancel(&handle.job_id);
        // After scancel the job's processes still run for a moment (Slurm
        // reports it COMPLETING): removing its directory under them fails
        // ("Directory not empty") or races a `git clone` that recreates
        // it. Wait, bounded, for the job to end, then remove until gone.
        let deadline = Instant::now() + ABANDON_WAIT;
        while Instant::now() < deadline {
            match engine.observe(&handle.job_id) {
                Ok(o) if !o.state.is_final() => std::thread::sleep(ABANDON_POLL),
                _ => break,
            }
        }
        let shared = self.shared_dir(handle.build_id);
        loop {
            let _ = remove_all(&shared);
            if !shared.exists() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(ABANDON_POLL);
        }
        let _ = remove_all(&self.private_dir.join(handle.build_id.to_string()));
        self.update(handle, |t| {
            t.status = JobStatus::Failed(JobError::Cancelled(format!(
                "slurm job {} cancelled",
                handle.job_id
            )))
        });
    }

    fn detach(&self, handle: &JobHandle) -> bool {
        note(
            &self.host.log(handle.build_id),
            &format!(
                "# manager stopping; slurm job {} left to finish",
                handle.job_id
            ),
        );
        lock(&self.jobs).remove(&handle.job_id);
        let _ = remove_all(&self.host.work_dir(handle.build_id));
        true
    }

    fn release(&self, handle: &JobHandle) {
        lock(&self.jobs).remove(&handle.job_id);
        let _ = remove_all(&self.shared_dir(handle.build_id));
        let _ = remove_all(&self.private_dir.join(handle.build_id.to_string()));
        let _ = remove_all(&self.host.work_dir(handle.build_id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_script_quotes_for_the_shell() {
        assert_eq!(sh_quote("/opt/peipkg node"), "'/opt/peipkg node'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }
}
