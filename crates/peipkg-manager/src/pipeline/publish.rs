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
use crate::pipeline::stages::Stages;
use crate::pipeline::tree::{clone_for_publish, exchange, remove_all};
use crate::process::{self, Cmd, RunError, Sink};

#[derive(Debug, thiserror::Error)]
pub(crate) enum PublishError {
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
pub(crate) struct Layout {
    pub(crate) repo: PathBuf,
    pub(crate) next: PathBuf,
    pub(crate) swap: PathBuf,
    pub(crate) incoming: PathBuf,
}

impl Layout {
    pub(crate) fn new(state_dir: &Path) -> Layout {
        Layout {
            repo: state_dir.join("repo"),
            next: state_dir.join("repo.next"),
            swap: state_dir.join("repo.swap"),
            incoming: state_dir.join("publish"),
        }
    }

    /// Start-up recovery from a publish that was interrupted.
    pub(crate) fn recover(&self) -> Result<(), PublishError> {
        if !self.repo.exists() && self.swap.join("repo.json").exists() {
            // Interrupted between the two fallback renames: the old state
            // is complete; put it back (the unpublished builds will be
            // published again).
            std::fs::rename(&self.swap, &self.repo).map_err(io("restore", &self.swap))?;
        }
        remove_all(&self.swap).map_err(io("remove", &self.swap))?;
        // A publisher left over from a manager that was killed may still be
        // writing `repo.next`; it holds peipkg-repo's lock (an flock on the
        // state directory) until it exits, so wait for that first.
        let _held = wait_for_writer(&self.next, ORPHAN_WAIT)?;
        remove_all(&self.next).map_err(io("remove", &self.next))?;
        remove_all(&self.incoming).map_err(io("remove", &self.incoming))?;
        Ok(())
    }
}

/// How long start-up waits for a left-over publisher to finish. Orphans
/// get SIGTERM when their manager dies (see `process`), so this is a
/// backstop, not the usual path.
const ORPHAN_WAIT: Duration = Duration::from_secs(60);

/// Takes the exclusive flock peipkg-repo's writers hold on a state
/// directory, waiting up to `wait`. `Ok(None)` when `dir` does not exist.
fn wait_for_writer(dir: &Path, wait: Duration) -> Result<Option<std::fs::File>, PublishError> {
    let file = match std::fs::File::open(dir) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io("open", dir)(e)),
    };
    let deadline = std::time::Instant::now() + wait;
    if peipkg_os::flock_until(&file, true, deadline).map_err(io("lock", dir))? {
        return Ok(Some(file));
    }
    Err(PublishError::State {
        path: dir.display().to_string(),
        message: format!(
            "another process still holds its publish lock after {} s (a peipkg-repo left running by a previous manager?); stop it, then start again",
            wait.as_secs()
        ),
    })
}

/// How the manager runs `peipkg-repo`.
#[derive(Debug, Clone)]
pub(crate) struct RepoTool {
    pub(crate) program: PathBuf,
    pub(crate) sign_key: PathBuf,
    pub(crate) timeout: Duration,
    pub(crate) verify: bool,
    /// Where `peipkg-repo`'s output goes.
    pub(crate) log: PathBuf,
    /// The program switches a state atomically by itself (its hidden
    /// `capabilities` subcommand says `atomic-publish`): publish in place.
    pub(crate) in_place: bool,
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

/// Asks `program` (hidden `capabilities` subcommand of our `peipkg-repo`)
/// whether it publishes atomically by itself. Any other program, or any
/// failure, means no: the manager then keeps its own copy-and-swap.
pub(crate) fn atomic_publisher(program: &Path) -> bool {
    let cmd = Cmd::new(program, Duration::from_secs(10))
        .arg("capabilities")
        .stdout(Sink::Capture)
        .stderr(Sink::Null);
    match process::run(&cmd, None) {
        Ok(out) => String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == "atomic-publish"),
        Err(_) => false,
    }
}

/// Brings a live state that a killed in-place publish left half-switched
/// back to a complete one (`peipkg-repo recover`), at start, before
/// anything reads or uploads it.
pub(crate) fn recover_in_place(tool: &RepoTool, layout: &Layout) -> Result<(), PublishError> {
    if !tool.in_place || !layout.repo.join("repo.json").exists() {
        return Ok(());
    }
    // A publisher left by a killed manager may still hold the lock.
    let _held = wait_for_writer(&layout.repo, ORPHAN_WAIT)?;
    drop(_held);
    let cmd = tool.cmd().arg("recover").arg("--repo").arg(&layout.repo);
    tool.run(cmd).map_err(PublishError::Publish)
}

pub(crate) fn now_rfc3339() -> String {
    crate::store::rfc3339(crate::store::now())
}

/// Creates the repository on first run. Returns whether it did.
pub(crate) fn ensure_repo(
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

/// Publishes `files` as one new repository state; `stages` gets the time
/// of each step.
///
/// With a `peipkg-repo` that switches its state atomically by itself
/// ([`RepoTool::in_place`]) it publishes straight into the live state: a
/// publish then costs what the two index documents cost, whatever the
/// size of the state. Otherwise into `repo.next`, a copy of the live state
/// swapped in afterwards.
pub(crate) fn publish(
    tool: &RepoTool,
    layout: &Layout,
    files: &[PathBuf],
    stages: &mut Stages,
) -> Result<(), PublishError> {
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
    stages.mark("incoming");
    let target = if tool.in_place {
        &layout.repo
    } else {
        remove_all(&layout.next).map_err(io("remove", &layout.next))?;
        clone_for_publish(&layout.repo, &layout.next)
            .map_err(io("copy repository to", &layout.next))?;
        stages.mark("prepare_next");
        &layout.next
    };

    let cmd = tool
        .cmd()
        .arg("publish")
        .arg("--in")
        .arg(target)
        .arg("--new")
        .arg(&layout.incoming)
        .arg("--out")
        .arg(target)
        .arg("--sign-key")
        .arg(&tool.sign_key)
        .arg("--timestamp")
        .arg(now_rfc3339());
    let result = tool.run(cmd).map_err(PublishError::Publish).and_then(|_| {
        stages.mark("peipkg_repo");
        check(tool, target, files, stages)
    });
    if let Err(e) = result {
        if !tool.in_place {
            let _ = remove_all(&layout.next);
        }
        let _ = remove_all(&layout.incoming);
        return Err(e);
    }
    if !tool.in_place {
        exchange(&layout.repo, &layout.next).map_err(io("swap in", &layout.next))?;
        stages.mark("swap");
        remove_all(&layout.next).map_err(io("remove", &layout.next))?;
    }
    remove_all(&layout.incoming).map_err(io("remove", &layout.incoming))?;
    stages.mark("cleanup");
    Ok(())
}

/// The new state must contain every file we gave it and pass the same
/// metadata checks a consumer runs.
fn check(
    tool: &RepoTool,
    state: &Path,
    files: &[PathBuf],
    stages: &mut Stages,
) -> Result<(), PublishError> {
    let archive = Archive::load(state).map_err(|e| PublishError::Missing(e.to_string()))?;
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
    stages.mark("check_archive");
    if tool.verify {
        let cmd = tool
            .cmd()
            .arg("verify")
            .arg("--repo")
            .arg(state)
            .arg("--mode")
            .arg("metadata");
        tool.run(cmd).map_err(PublishError::Verify)?;
        stages.mark("verify");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A publisher left running by a killed manager is still writing
    /// `repo.next` when the next manager starts: recovery waits for its
    /// lock instead of racing it (which failed with "Directory not empty").
    #[test]
    fn recovery_waits_for_a_left_over_publisher() {
        let t = tempfile::tempdir().unwrap();
        let layout = Layout::new(t.path());
        std::fs::create_dir_all(layout.next.join("index")).unwrap();
        let dir = std::fs::File::open(&layout.next).unwrap();
        assert!(peipkg_os::flock_until(&dir, true, std::time::Instant::now()).unwrap());
        let next = layout.next.clone();
        let writer = std::thread::spawn(move || {
            for i in 0..10 {
                std::fs::write(next.join(format!("index/{i}.json")), b"{}").unwrap();
                std::thread::sleep(Duration::from_millis(30));
            }
            drop(dir);
        });
        let started = std::time::Instant::now();
        layout.recover().unwrap();
        assert!(started.elapsed() >= Duration::from_millis(250));
        assert!(!layout.next.exists());
        writer.join().unwrap();
    }

    #[test]
    fn recovery_gives_up_naming_the_directory() {
        let t = tempfile::tempdir().unwrap();
        let next = t.path().join("repo.next");
        std::fs::create_dir_all(&next).unwrap();
        let dir = std::fs::File::open(&next).unwrap();
        assert!(peipkg_os::flock_until(&dir, true, std::time::Instant::now()).unwrap());
        // A second open file description conflicts with the first.
        let err = wait_for_writer(&next, Duration::from_millis(150))
            .unwrap_err()
            .to_string();
        assert!(err.contains("repo.next"), "{err}");
        assert!(err.contains("still holds its publish lock"), "{err}");
        assert!(next.exists());
    }
}
