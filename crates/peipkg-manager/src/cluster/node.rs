//! The build node's side of a job (`peipkg-node run DIR`): clone the tag,
//! run `peipkg-build stage`, and leave the staged tree and a result in the
//! job directory. No key is read here, and none is reachable: the job
//! description holds none and `stage` asks for none.

use std::path::Path;
use std::time::Duration;

use super::contract::{
    read_job, write_json, JobDescription, JobResult, CONTRACT_VERSION, NODE_LOG, RECIPE_DIR,
    SOURCE_DIR, STAGED_DIR,
};
use crate::config::GitConfig;
use crate::pipeline::build::log_tail;
use crate::pipeline::fetch::{fetch, note};
use crate::pipeline::tree::remove_all;
use crate::process::{self, Cmd, RunError, Sink};

/// Runs the job in `dir`; the result is written there in every case the
/// process survives. Returns whether the build succeeded.
pub fn run_job(dir: &Path) -> Result<bool, String> {
    let job = read_job(dir).map_err(|e| e.to_string())?;
    let log = dir.join(NODE_LOG);
    let result = match stage(dir, &job, &log) {
        Ok((commit, timestamp)) => JobResult {
            contract: CONTRACT_VERSION,
            ok: true,
            commit: Some(commit),
            timestamp: Some(timestamp),
            staged: Some(STAGED_DIR.into()),
            error: None,
        },
        Err(error) => {
            note(&log, &format!("# FAILED: {error}"));
            JobResult {
                contract: CONTRACT_VERSION,
                ok: false,
                commit: None,
                timestamp: None,
                staged: None,
                error: Some(error),
            }
        }
    };
    let _ = remove_all(&dir.join(SOURCE_DIR));
    write_json(dir, super::contract::RESULT_FILE, &result).map_err(|e| e.to_string())?;
    Ok(result.ok)
}

fn stage(dir: &Path, job: &JobDescription, log: &Path) -> Result<(String, String), String> {
    let git = GitConfig {
        program: job.git_program.clone(),
        ls_remote_timeout: Duration::from_secs(60),
        clone_timeout: Duration::from_secs(job.clone_timeout_secs),
        poll_concurrency: 1,
        jitter_percent: 0,
        allow_file_submodules: job.allow_file_submodules,
    };
    let source = dir.join(SOURCE_DIR);
    let staged = dir.join(STAGED_DIR);
    // A job that ran before (a requeue after a node failure) starts over.
    remove_all(&staged).map_err(|e| format!("remove {}: {e}", staged.display()))?;
    let fetched = fetch(&git, &job.git, &job.tag, job.submodules, &source, log, None)
        .map_err(|e| format!("fetch source: {e}"))?;
    let mut cmd = Cmd::new(
        &job.peipkg_build,
        Duration::from_secs(job.build_timeout_secs),
    )
    .arg("stage")
    .arg("--recipe")
    .arg(dir.join(RECIPE_DIR).join(&job.recipe_file))
    .arg("--source")
    .arg(&source)
    .args(["--version", &job.version])
    .args(["--source-ref", &job.source_ref])
    .args(["--farm-id", &job.farm_id])
    .args(["--timestamp", &fetched.timestamp])
    .arg("--staged")
    .arg(&staged);
    for (k, v) in &job.build_env {
        cmd = cmd.arg("--build-env").arg(format!("{k}={v}"));
    }
    cmd = cmd.args(&job.stage_args);
    for (k, v) in &job.stage_env {
        cmd = cmd.env(k, v);
    }
    let cmd = cmd
        .stdout(Sink::File(log.to_path_buf()))
        .stderr(Sink::File(log.to_path_buf()));
    note(log, &cmd.display());
    process::run(&cmd, None).map_err(|e| match e {
        RunError::Failed { status, .. } => {
            format!("peipkg-build stage: {status}: {}", log_tail(log, 3))
        }
        other => format!("peipkg-build stage: {}", other.reason()),
    })?;
    Ok((fetched.commit, fetched.timestamp))
}
