//! Folding built packages into the repository with `peipkg-repo`.
//!
//! `peipkg-repo publish` (the reference one at least) rewrites the state it
//! is given in place, without atomicity: a crash half-way leaves indexes
//! naming files that are not there. So the manager never publishes into the
//! live `<state_dir>/repo`. It prepares `repo.next` (packages hard-linked,
//! everything else copied), publishes into that, checks the result, and
//! then exchanges the two directories in one atomic rename. A crash at any
//! instant leaves the old state or the new one, and start-up cleans up.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::pipeline::archive::{split_file_name, Archive};
use crate::pipeline::fetch::note;
use crate::pipeline::tree::{clone_for_publish, exchange, remove_all};
use crate::process::{self, Cmd, RunError, Sink};

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("peipkg-repo init: {}", .0.reason())]
    Init(RunError),
    #[error("peipkg-repo publish: {}", .0.reason())]
    Publish(RunError),
    #[error("peipkg-repo verify: {}", .0.reason())]
    Verify(RunError),
    #[error("{path}: {message}")]
    State { path: String, message: String },
    #[error("{what} {path}: {source}")]
    Io {
        what: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("after publish, {0}")]
    Missing(String),
}

fn io<'a>(what: &'static str, path: &'a Path) -> impl FnOnce(std::io::Error) -> PublishError + 'a {
    move |source| PublishError::Io {
        what,
        path: path.display().to_string(),
        source,
    }
}

/// Where the publisher keeps things under `state_dir`.
#[derive(Debug, Clone)]
pub struct Layout {
    pub repo: PathBuf,
    pub next: PathBuf,
    pub swap: PathBuf,
    pub incoming: PathBuf,
}

impl Layout {
    pub fn new(state_dir: &Path) -> Layout {
        Layout {
            repo: state_dir.join("repo"),
            next: state_dir.join("repo.next"),
            swap: state_dir.join("repo.swap"),
            incoming: state_dir.join("publish"),
        }
    }

    /// Start-up recovery from a publish that was interrupted.
    pub fn recover(&self) -> Result<(), PublishError> {
        if !self.repo.exists() && self.swap.join("repo.json").exists() {
            // Interrupted between the two fallback renames: the old state
            // is complete; put it back (the unpublished builds will be
            // published again).
            std::fs::rename(&self.swap, &self.repo).map_err(io("restore", &self.swap))?;
        }
        remove_all(&self.swap).map_err(io("remove", &self.swap))?;
        remove_all(&self.next).map_err(io("remove", &self.next))?;
        remove_all(&self.incoming).map_err(io("remove", &self.incoming))?;
        Ok(())
    }
}

/// How the manager runs `peipkg-repo`.
#[derive(Debug, Clone)]
pub struct RepoTool {
    pub program: PathBuf,
    pub sign_key: PathBuf,
    pub timeout: Duration,
    pub verify: bool,
    /// Where `peipkg-repo`'s output goes.
    pub log: PathBuf,
}

impl RepoTool {
    fn cmd(&self) -> Cmd {
        Cmd::new(&self.program, self.timeout)
            .stdout(Sink::File(self.log.clone()))
            .stderr(Sink::File(self.log.clone()))
    }

    fn run(&self, cmd: Cmd) -> Result<(), RunError> {
        note(&self.log, &format!("# {}", now_rfc3339()));
        note(&self.log, &cmd.display());
        process::run(&cmd, None).map(|_| ())
    }
}

pub fn now_rfc3339() -> String {
    crate::store::rfc3339(crate::store::now())
}

/// Creates the repository on first run. Returns whether it did.
pub fn ensure_repo(
    tool: &RepoTool,
    layout: &Layout,
    name: &str,
    description: &str,
) -> Result<bool, PublishError> {
    if layout.repo.join("repo.json").exists() {
        return Ok(false);
    }
    if let Ok(mut entries) = std::fs::read_dir(&layout.repo) {
        if entries.next().is_some() {
            return Err(PublishError::State {
                path: layout.repo.display().to_string(),
                message: "holds files but no repo.json; refusing to initialise over it (move it away, or restore repo.json)".into(),
            });
        }
    }
    remove_all(&layout.next).map_err(io("remove", &layout.next))?;
    let mut cmd = tool
        .cmd()
        .arg("init")
        .arg("--name")
        .arg(name)
        .arg("--sign-key")
        .arg(&tool.sign_key)
        .arg("--timestamp")
        .arg(now_rfc3339())
        .arg("--out")
        .arg(&layout.next);
    if !description.is_empty() {
        cmd = cmd.arg("--description").arg(description);
    }
    tool.run(cmd).map_err(PublishError::Init)?;
    if !layout.next.join("repo.json").exists() {
        return Err(PublishError::State {
            path: layout.next.display().to_string(),
            message: "peipkg-repo init succeeded but wrote no repo.json".into(),
        });
    }
    // An empty leftover directory would make the rename fail.
    let _ = std::fs::remove_dir(&layout.repo);
    std::fs::rename(&layout.next, &layout.repo).map_err(io("rename", &layout.next))?;
    Ok(true)
}

/// Publishes `files` as one new repository state.
pub fn publish(tool: &RepoTool, layout: &Layout, files: &[PathBuf]) -> Result<(), PublishError> {
    remove_all(&layout.incoming).map_err(io("remove", &layout.incoming))?;
    std::fs::create_dir_all(&layout.incoming).map_err(io("create", &layout.incoming))?;
    for f in files {
        let name = f.file_name().ok_or_else(|| PublishError::State {
            path: f.display().to_string(),
            message: "not a file".into(),
        })?;
        let to = layout.incoming.join(name);
        if std::fs::hard_link(f, &to).is_err() {
            std::fs::copy(f, &to).map_err(io("copy", f))?;
        }
    }
    remove_all(&layout.next).map_err(io("remove", &layout.next))?;
    clone_for_publish(&layout.repo, &layout.next)
        .map_err(io("copy repository to", &layout.next))?;

    let cmd = tool
        .cmd()
        .arg("publish")
        .arg("--in")
        .arg(&layout.next)
        .arg("--new")
        .arg(&layout.incoming)
        .arg("--out")
        .arg(&layout.next)
        .arg("--sign-key")
        .arg(&tool.sign_key)
        .arg("--timestamp")
        .arg(now_rfc3339());
    let result = tool
        .run(cmd)
        .map_err(PublishError::Publish)
        .and_then(|_| check(tool, layout, files));
    if let Err(e) = result {
        let _ = remove_all(&layout.next);
        let _ = remove_all(&layout.incoming);
        return Err(e);
    }
    exchange(&layout.repo, &layout.next).map_err(io("swap in", &layout.next))?;
    remove_all(&layout.next).map_err(io("remove", &layout.next))?;
    remove_all(&layout.incoming).map_err(io("remove", &layout.incoming))?;
    Ok(())
}

/// The new state must contain every file we gave it and pass the same
/// metadata checks a consumer runs.
fn check(tool: &RepoTool, layout: &Layout, files: &[PathBuf]) -> Result<(), PublishError> {
    let archive = Archive::load(&layout.next).map_err(|e| PublishError::Missing(e.to_string()))?;
    for f in files {
        let name = f
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let Some((n, v, a)) = split_file_name(&name) else {
            return Err(PublishError::Missing(format!(
                "{name} has no package file name"
            )));
        };
        if !archive.contains(&n, &v, &a) {
            return Err(PublishError::Missing(format!(
                "the archive index does not list {n} {v} {a}"
            )));
        }
    }
    if tool.verify {
        let cmd = tool
            .cmd()
            .arg("verify")
            .arg("--repo")
            .arg(&layout.next)
            .arg("--mode")
            .arg("metadata");
        tool.run(cmd).map_err(PublishError::Verify)?;
    }
    Ok(())
}
