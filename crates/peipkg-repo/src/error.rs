//! The library's error type.
//!
//! Every failure names the file it concerns and the rule that was broken, so
//! an operator reading one line of a farm log knows what to fix. The
//! variants separate what a caller may want to treat differently: I/O (the
//! machine), a bad input file (the operator's data), a refused operation (a
//! rule of the spec or of this tool), and a busy lock (try again).

use std::io;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    /// A file-system operation failed.
    #[error("{action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A file exists but its content is unusable.
    #[error("{}: {reason}", path.display())]
    BadFile { path: PathBuf, reason: String },
    /// The operation breaks a rule (duplicate package, stale timestamp,
    /// unknown key...). Nothing was written.
    #[error("{0}")]
    Refused(String),
    /// Another process holds the state's lock.
    #[error("{0}")]
    Locked(String),
}

pub type Result<T, E = RepoError> = std::result::Result<T, E>;

impl RepoError {
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> RepoError {
        RepoError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn bad_file(path: &Path, reason: impl Into<String>) -> RepoError {
        RepoError::BadFile {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    pub fn refused(reason: impl Into<String>) -> RepoError {
        RepoError::Refused(reason.into())
    }
}

/// Attach an action and a path to an `io::Result`.
pub trait IoContext<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|e| RepoError::io(action, path, e))
    }
}
