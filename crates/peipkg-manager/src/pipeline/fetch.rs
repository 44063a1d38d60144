//! Fetching the source of one tag: a shallow clone, submodules when the
//! recipe asks, the tag commit's committer time (the build timestamp, so a
//! rebuild of the same tag is byte-identical), then every `.git` removed.

use std::io::Write;
use std::path::Path;

use crate::config::GitConfig;
use crate::pipeline::tree::{remove_all, strip_git};
use crate::process::{self, Cancel, RunError, Sink};
use crate::watch::git::git_cmd;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fetched {
    /// The commit the tag pointed to when it was cloned.
    pub(crate) commit: String,
    /// Its committer time, RFC 3339 UTC with `Z`.
    pub(crate) timestamp: String,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum FetchError {
    #[error("git clone --branch {tag} {url}: {}", source.reason())]
    Clone {
        tag: String,
        url: String,
        source: RunError,
    },
    #[error("fetch submodules at {tag} in {url}: {}", source.reason())]
    Submodules {
        tag: String,
        url: String,
        source: RunError,
    },
    #[error("read commit at {tag} in {url}: {reason}")]
    Commit {
        tag: String,
        url: String,
        reason: String,
    },
    #[error("prepare source directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// The URL handed to `git clone`: a plain absolute path becomes a
/// `file://` URL, because git ignores `--depth` for a plain-path clone and
/// warns about it in every build log.
pub(crate) fn clone_url(url: &str) -> String {
    if url.starts_with('/') {
        let mut out = String::from("file://");
        for c in url.chars() {
            match c {
                // The characters a URL path cannot carry as they are.
                '%' | ' ' | '#' | '?' => out.push_str(&format!("%{:02X}", c as u32)),
                c => out.push(c),
            }
        }
        out
    } else {
        url.to_string()
    }
}

/// Clones `tag` of `url` into `dest` (which must not exist). Git's own
/// output goes to `log`.
pub(crate) fn fetch(
    git: &GitConfig,
    url: &str,
    tag: &str,
    submodules: bool,
    dest: &Path,
    log: &Path,
    cancel: Option<&Cancel>,
) -> Result<Fetched, FetchError> {
    let io = |source| FetchError::Io {
        path: dest.display().to_string(),
        source,
    };
    remove_all(dest).map_err(io)?;
    let logf = Sink::File(log.to_path_buf());
    let clone_url = clone_url(url);
    let mut clone = git_cmd(&git.program, git.clone_timeout);
    if git.allow_file_submodules {
        clone = clone.args(["-c", "protocol.file.allow=always"]);
    }
    let clone = clone
        .args(["-c", "advice.detachedHead=false"])
        // `--template=`: no hook samples, `description` or `info/exclude`
        // (19 files and directories instead of 38 for a one-file tag). A
        // cold pass makes and deletes thousands of clones, and on ext4 the
        // cost of finding a free inode grows with the recently deleted ones
        // (see docs/BENCHMARKS.md, "spawn cost"); nothing reads them.
        .args([
            "clone",
            "--template=",
            "--depth",
            "1",
            "--single-branch",
            "--no-tags",
        ])
        .arg(format!("--branch={tag}"))
        .arg("--")
        .arg(&clone_url)
        .arg(dest)
        .stdout(logf.clone())
        .stderr(logf.clone());
    note(log, &clone.display());
    process::run(&clone, cancel).map_err(|source| FetchError::Clone {
        tag: tag.into(),
        url: url.into(),
        source,
    })?;
    if submodules {
        let mut sub = git_cmd(&git.program, git.clone_timeout).arg("-C").arg(dest);
        if git.allow_file_submodules {
            sub = sub.args(["-c", "protocol.file.allow=always"]);
        }
        let sub = sub
            .args([
                "submodule",
                "update",
                "--init",
                "--recursive",
                "--depth",
                "1",
            ])
            .stdout(logf.clone())
            .stderr(logf.clone());
        note(log, &sub.display());
        process::run(&sub, cancel).map_err(|source| FetchError::Submodules {
            tag: tag.into(),
            url: url.into(),
            source,
        })?;
    }
    let commit_err = |reason: String| FetchError::Commit {
        tag: tag.into(),
        url: url.into(),
        reason,
    };
    let show = git_cmd(&git.program, git.ls_remote_timeout)
        .arg("-C")
        .arg(dest)
        .args(["log", "-1", "--format=%H %ct", "HEAD"])
        .stdout(Sink::Capture);
    let out = process::run(&show, cancel).map_err(|e| commit_err(e.to_string()))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (commit, secs) = text
        .trim()
        .split_once(' ')
        .ok_or_else(|| commit_err(format!("unexpected git log output {:?}", text.trim())))?;
    let secs: i64 = secs
        .parse()
        .map_err(|_| commit_err(format!("commit time {secs:?} is not a number")))?;
    let timestamp = crate::store::rfc3339(secs);
    strip_git(dest).map_err(io)?;
    note(
        log,
        &format!("# source at commit {commit}, committed {timestamp}; .git removed"),
    );
    Ok(Fetched {
        commit: commit.to_string(),
        timestamp,
    })
}

/// Writes a line into a build log. A log that cannot be written must not
/// fail the build, so errors are ignored here.
pub(crate) fn note(log: &Path, line: &str) {
    if let Ok(mut f) = std::fs::File::options().create(true).append(true).open(log) {
        let _ = writeln!(f, "{line}");
    }
}
