//! The job contract between the farm host and a build node: what a job
//! is (a description, no keys) and what it returns (references to the
//! artifacts it left in its job directory). Both are small JSON files in
//! the job directory, written whole (temporary file, then rename) so a
//! reader never sees half of one.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The version of the two documents below; a node refuses another.
pub(crate) const CONTRACT_VERSION: u32 = 1;

pub(crate) const JOB_FILE: &str = "job.json";
pub(crate) const RESULT_FILE: &str = "result.json";
/// The node's output (git, the build script), appended by every step.
pub(crate) const NODE_LOG: &str = "node.log";
/// The copy of the recipe directory the node builds with.
pub(crate) const RECIPE_DIR: &str = "recipe";
pub(crate) const STAGED_DIR: &str = "staged";
pub(crate) const SOURCE_DIR: &str = "src";

/// One build, as a node needs it. Holds no secret: the public values in
/// `build_env` are the only key-derived data, and they are public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobDescription {
    pub(crate) contract: u32,
    pub(crate) build_id: i64,
    pub(crate) recipe: String,
    /// The recipe file's name inside [`RECIPE_DIR`].
    pub(crate) recipe_file: String,
    pub(crate) version: String,
    pub(crate) git: String,
    pub(crate) tag: String,
    pub(crate) submodules: bool,
    pub(crate) farm_id: String,
    /// `--source-ref` for the build.
    pub(crate) source_ref: String,
    /// `--build-env NAME=VALUE` pairs (granted public keys).
    pub(crate) build_env: Vec<(String, String)>,
    /// Appended to `peipkg-build stage`: the sandbox and limits the farm's
    /// config asks for (`--sandbox bwrap`, `--limit-*`).
    pub(crate) stage_args: Vec<String>,
    /// Set in `peipkg-build stage`'s environment.
    pub(crate) stage_env: Vec<(String, String)>,
    /// Programs on the node.
    pub(crate) peipkg_build: String,
    pub(crate) git_program: String,
    pub(crate) allow_file_submodules: bool,
    /// Upper bounds, in seconds.
    pub(crate) clone_timeout_secs: u64,
    pub(crate) build_timeout_secs: u64,
}

/// What a node returns. Every path is relative to the job directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct JobResult {
    pub(crate) contract: u32,
    pub(crate) ok: bool,
    /// The commit built and its committer time (the build timestamp).
    pub(crate) commit: Option<String>,
    pub(crate) timestamp: Option<String>,
    /// The staged tree (`staged`), on success.
    pub(crate) staged: Option<String>,
    /// Why the job failed, on failure.
    pub(crate) error: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ContractError {
    #[error("read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: not a valid job document: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: contract version {found}, this program speaks {CONTRACT_VERSION}")]
    Version { path: PathBuf, found: u32 },
    #[error("write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Writes `value` as `dir/name`, whole or not at all.
pub(crate) fn write_json<T: Serialize>(
    dir: &Path,
    name: &str,
    value: &T,
) -> Result<(), ContractError> {
    let path = dir.join(name);
    let tmp = dir.join(format!(".{name}.tmp"));
    let err = |source| ContractError::Write {
        path: path.clone(),
        source,
    };
    let text = serde_json::to_vec_pretty(value).map_err(|e| err(std::io::Error::other(e)))?;
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, &path).map_err(err)
}

/// Opens a file a build node wrote, for reading: never through a symlink
/// (a node could point one at a file of this host), never a FIFO or device.
pub(crate) fn open_untrusted(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)?;
    if !f.metadata()?.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    Ok(f)
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, ContractError> {
    use std::io::Read;
    let err = |source| ContractError::Read {
        path: path.into(),
        source,
    };
    // A result is written by an untrusted node: a size bound keeps a
    // hostile one from exhausting our memory.
    let mut text = Vec::new();
    open_untrusted(path)
        .map_err(err)?
        .take(1 << 20)
        .read_to_end(&mut text)
        .map_err(err)?;
    serde_json::from_slice(&text).map_err(|source| ContractError::Parse {
        path: path.into(),
        source,
    })
}

pub(crate) fn read_job(dir: &Path) -> Result<JobDescription, ContractError> {
    let path = dir.join(JOB_FILE);
    let job: JobDescription = read_json(&path)?;
    if job.contract != CONTRACT_VERSION {
        return Err(ContractError::Version {
            path,
            found: job.contract,
        });
    }
    Ok(job)
}

/// The result in `dir`, or `None` when the node has not written one.
pub(crate) fn read_result(dir: &Path) -> Result<Option<JobResult>, ContractError> {
    let path = dir.join(RESULT_FILE);
    if std::fs::symlink_metadata(&path).is_err() {
        return Ok(None);
    }
    let res: JobResult = read_json(&path)?;
    if res.contract != CONTRACT_VERSION {
        return Err(ContractError::Version {
            path,
            found: res.contract,
        });
    }
    Ok(Some(res))
}
