//! [`SlurmExecutor`]: each build is one Slurm batch job, tracked by
//! polling, sealed and signed on this host.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::contract::{
    open_untrusted, read_result, write_json, JobDescription, JobResult, CONTRACT_VERSION, JOB_FILE,
    NODE_LOG, RECIPE_DIR, STAGED_DIR,
};
use super::engine::{JobState, Observed, Slurm};
use crate::config::{GitConfig, SlurmConfig};
use crate::executor::{BackendJob, BuildJob, BuildResult, Executor, JobError};
use crate::pipeline::build::{collect_outputs, log_tail, source_ref};
use crate::pipeline::fetch::note;
use crate::pipeline::stages::Stages;
use crate::pipeline::tree::remove_all;
use crate::process::{self, Cancel, Cmd, RunError, Sink};

pub(crate) const BACKEND: &str = "slurm";

/// How long a completed job's `result.json` may take to become visible
/// here (attribute caching on NFS).
const RESULT_GRACE: Duration = Duration::from_secs(30);

pub(crate) struct SlurmExecutor {
    pub(crate) cfg: SlurmConfig,
    pub(crate) git: GitConfig,
    /// This host's `peipkg-build` (for `seal`).
    pub(crate) peipkg_build: PathBuf,
    /// `[build].timeout`: the job's time limit and the seal's bound.
    pub(crate) timeout: Duration,
    /// Where this host keeps its own snapshot of each job's recipe
    /// (`<state_dir>/jobs`), out of the nodes' reach.
    pub(crate) private_dir: PathBuf,
}

/// How long dropping a job waits for Slurm to end it before its
/// directory is removed regardless.
const ABANDON_WAIT: Duration = Duration::from_secs(20);
const ABANDON_POLL: Duration = Duration::from_millis(250);

fn other(e: impl std::fmt::Display) -> JobError {
    JobError::Other(e.to_string())
}

/// `'text'` for a POSIX shell.
fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl SlurmExecutor {
    fn engine(&self) -> Slurm<'_> {
        Slurm { cfg: &self.cfg }
    }

    /// The job directory on the shared storage.
    pub(crate) fn shared_dir(&self, job: &BuildJob) -> PathBuf {
        self.cfg
            .work_dir
            .join(&job.farm_id)
            .join(format!("build-{}", job.id))
    }

    fn private_recipe(&self, job: &BuildJob) -> PathBuf {
        self.private_dir.join(job.id.to_string()).join(RECIPE_DIR)
    }

    /// Lays out the job directory and submits the job; returns its id.
    fn submit(&self, job: &BuildJob, shared: &Path) -> Result<String, JobError> {
        let recipe_dir = job.recipe_file.parent().ok_or_else(|| {
            other(format!(
                "recipe file {} has no directory",
                job.recipe_file.display()
            ))
        })?;
        let recipe_file = job
            .recipe_file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| {
                other(format!(
                    "recipe file {} has no name",
                    job.recipe_file.display()
                ))
            })?;
        let private = self.private_recipe(job);
        for dir in [shared, private.parent().unwrap_or(&private)] {
            remove_all(dir).map_err(|e| other(format!("clear {}: {e}", dir.display())))?;
        }
        // This host's snapshot is what gets sealed; the node's copy only
        // drives the script. A node that edits its copy changes nothing
        // about what is partitioned, checked or signed.
        for dest in [shared.join(RECIPE_DIR), private.clone()] {
            std::fs::create_dir_all(&dest)
                .map_err(|e| other(format!("create {}: {e}", dest.display())))?;
            peipkg_os::copy_tree_nofollow(recipe_dir, &dest)
                .map_err(|e| other(format!("copy recipe {}: {e}", recipe_dir.display())))?;
        }
        let desc = JobDescription {
            contract: CONTRACT_VERSION,
            build_id: job.id,
            recipe: job.recipe.clone(),
            recipe_file,
            version: job.version.clone(),
            git: job.git.clone(),
            tag: job.tag.clone(),
            submodules: job.submodules,
            farm_id: job.farm_id.clone(),
            source_ref: source_ref(&job.git, &job.tag),
            build_env: job.build_env.clone(),
            // The host's `--sandbox-hide` list included: where a node shares
            // file systems with this host, those paths stay covered there
            // too (paths a node does not have are ignored by the sandbox).
            stage_args: job.sandbox_args.clone(),
            stage_env: job.sandbox_env.clone(),
            peipkg_build: self.cfg.node_peipkg_build.clone(),
            git_program: self.cfg.node_git.clone(),
            allow_file_submodules: self.git.allow_file_submodules,
            clone_timeout_secs: self.git.clone_timeout.as_secs(),
            build_timeout_secs: self.timeout.as_secs(),
        };
        write_json(shared, JOB_FILE, &desc).map_err(other)?;
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
            .map_err(|e| other(format!("write {}: {e}", script.display())))?;
        let name = format!("peipkg-{}-{}", job.recipe, job.version);
        // The node's share of the job's time: the clone and the script.
        let limit = self.timeout + self.git.clone_timeout;
        self.engine()
            .submit(&name, &script, shared, &shared.join(NODE_LOG), limit)
            .map_err(|e| other(format!("submit to slurm: {e}")))
    }

    /// Polls until the job ends, or until `cancel` (then the job is left
    /// running for the next start).
    fn wait(
        &self,
        id: &str,
        cancel: &Cancel,
        log: &Path,
        track: &dyn Fn(&BackendJob),
    ) -> Result<Observed, JobError> {
        let mut last = String::new();
        loop {
            match self.engine().observe(id) {
                Ok(o) => {
                    if o.detail != last {
                        note(log, &format!("# slurm job {id}: {}", o.detail));
                        track(&BackendJob {
                            backend: BACKEND.into(),
                            job_id: id.into(),
                            state: o.state.as_str().into(),
                        });
                        last = o.detail.clone();
                    }
                    if o.state.is_final() {
                        return Ok(o);
                    }
                }
                Err(e) => {
                    let msg = format!("could not ask slurm about job {id}: {e}");
                    if msg != last {
                        note(log, &format!("# {msg}; retrying"));
                        last = msg;
                    }
                }
            }
            let until = Instant::now() + self.cfg.poll_interval;
            while Instant::now() < until {
                if cancel.is_cancelled() {
                    note(
                        log,
                        &format!("# manager stopping; slurm job {id} left to finish"),
                    );
                    return Err(JobError::Detached(format!("slurm job {id}")));
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }

    /// Turns a finished job into packages (or the failure it is).
    fn finish(
        &self,
        job: &BuildJob,
        id: &str,
        end: &Observed,
        shared: &Path,
    ) -> Result<BuildResult, JobError> {
        let mut result = read_result(shared).map_err(other)?;
        // Shared file systems (NFS) may show a node's last write to this
        // host a little late: a completed job gets a grace period before
        // its missing result counts.
        let grace = Instant::now() + RESULT_GRACE;
        while result.is_none() && end.state == JobState::Completed && Instant::now() < grace {
            std::thread::sleep(Duration::from_millis(500));
            result = read_result(shared).map_err(other)?;
        }
        let res = match (end.state, result) {
            (JobState::Completed | JobState::Unknown, Some(r)) if r.ok => r,
            (
                _,
                Some(JobResult {
                    ok: false, error, ..
                }),
            ) => {
                return Err(other(format!(
                    "slurm job {id} {}: {}",
                    end.detail,
                    error.unwrap_or_else(|| "no reason given".into())
                )))
            }
            (JobState::Completed, _) => {
                return Err(other(format!(
                    "slurm job {id} completed but left no result in {}",
                    shared.display()
                )))
            }
            (JobState::Unknown, None) => {
                return Err(other(format!(
                    "slurm job {id} is lost: slurm no longer knows it and it left no result"
                )))
            }
            (state, _) => {
                return Err(other(format!(
                    "slurm job {id} ended {}: {} {}",
                    state.as_str(),
                    end.detail,
                    log_tail(&shared.join(NODE_LOG), 2)
                )))
            }
        };
        let commit = res.commit.unwrap_or_default();
        if !(commit.len() == 40 || commit.len() == 64)
            || !commit.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(other(format!(
                "slurm job {id} reported commit {commit:?}, not a git object id"
            )));
        }
        let timestamp = res.timestamp.unwrap_or_default();
        if res.staged.as_deref() != Some(STAGED_DIR) {
            return Err(other(format!(
                "slurm job {id} reported staged tree {:?}, expected {STAGED_DIR:?}",
                res.staged
            )));
        }
        self.seal(job, shared, &timestamp)?;
        let outputs = collect_outputs(&job.work_dir.join("out"), &job.packages, &job.version)
            .map_err(other)?;
        Ok(BuildResult {
            outputs,
            commit,
            timestamp,
            stages: Stages::start(),
        })
    }

    /// `peipkg-build seal` on this host, with its keys and its own recipe
    /// snapshot, into `<work_dir>/out`.
    fn seal(&self, job: &BuildJob, shared: &Path, timestamp: &str) -> Result<(), JobError> {
        let recipe_file = job.recipe_file.file_name().unwrap_or_default();
        let out = job.work_dir.join("out");
        std::fs::create_dir_all(&out)
            .map_err(|e| other(format!("create {}: {e}", out.display())))?;
        let mut cmd = Cmd::new(&self.peipkg_build, self.timeout)
            .arg("seal")
            .arg("--recipe")
            .arg(self.private_recipe(job).join(recipe_file))
            .arg("--staged")
            .arg(shared.join(STAGED_DIR))
            .args(["--version", &job.version])
            .args(["--source-ref", &source_ref(&job.git, &job.tag)])
            .args(["--farm-id", &job.farm_id])
            .args(["--timestamp", timestamp])
            .arg("--out")
            .arg(&out)
            .arg("--sign-key")
            .arg(&job.sign_key);
        for (k, p) in &job.binary_sign_keys {
            cmd = cmd
                .arg("--binary-sign-key")
                .arg(format!("{k}={}", p.display()));
        }
        let cmd = cmd
            .stdout(Sink::File(job.log.clone()))
            .stderr(Sink::File(job.log.clone()));
        note(&job.log, &cmd.display());
        process::run(&cmd, None).map(|_| ()).map_err(|e| match e {
            RunError::Failed { status, .. } => other(format!(
                "peipkg-build seal: {status}: {}",
                log_tail(&job.log, 3)
            )),
            e => other(format!("peipkg-build seal: {}", e.reason())),
        })
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

impl Executor for SlurmExecutor {
    fn run(&self, job: &BuildJob, cancel: &Cancel) -> Result<BuildResult, JobError> {
        self.run_tracked(job, cancel, &|_| {})
    }

    fn abandon(&self, build_id: i64, farm_id: &str, job: &BackendJob) {
        if job.backend != BACKEND {
            return;
        }
        // Best effort: a job that already ended cannot be cancelled.
        let engine = self.engine();
        let _ = engine.cancel(&job.job_id);
        // After scancel the job's processes still run for a moment (Slurm
        // reports it COMPLETING): removing its directory under them fails
        // ("Directory not empty") or races a `git clone` that recreates
        // it. Wait, bounded, for the job to end, then remove until gone.
        let deadline = Instant::now() + ABANDON_WAIT;
        while Instant::now() < deadline {
            match engine.observe(&job.job_id) {
                Ok(o) if !o.state.is_final() => std::thread::sleep(ABANDON_POLL),
                _ => break,
            }
        }
        let shared = self
            .cfg
            .work_dir
            .join(farm_id)
            .join(format!("build-{build_id}"));
        loop {
            let _ = remove_all(&shared);
            if !shared.exists() || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(ABANDON_POLL);
        }
        let _ = remove_all(&self.private_dir.join(build_id.to_string()));
    }

    fn run_tracked(
        &self,
        job: &BuildJob,
        cancel: &Cancel,
        track: &dyn Fn(&BackendJob),
    ) -> Result<BuildResult, JobError> {
        std::fs::create_dir_all(&job.work_dir)
            .map_err(|e| other(format!("create {}: {e}", job.work_dir.display())))?;
        let shared = self.shared_dir(job);
        let mut stages = Stages::start();
        let id = match &job.attach {
            Some(a) if a.backend == BACKEND => {
                note(
                    &job.log,
                    &format!("# re-attached to slurm job {} ({})", a.job_id, a.state),
                );
                a.job_id.clone()
            }
            _ => {
                let id = self.submit(job, &shared)?;
                note(
                    &job.log,
                    &format!(
                        "# submitted slurm job {id}, job directory {}",
                        shared.display()
                    ),
                );
                track(&BackendJob {
                    backend: BACKEND.into(),
                    job_id: id.clone(),
                    state: "submitted".into(),
                });
                id
            }
        };
        let end = self.wait(&id, cancel, &job.log, track)?;
        // Submission to the end of the job: queueing, fetch and script.
        stages.mark("slurm_job");
        copy_node_log(&shared, &id, &job.log);
        let outcome = self.finish(job, &id, &end, &shared).map(|mut r| {
            stages.mark("seal");
            r.stages = stages;
            r
        });
        let _ = remove_all(&shared);
        let _ = remove_all(self.private_dir.join(job.id.to_string()).as_path());
        outcome
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
