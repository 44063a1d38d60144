//! The directories under `state_dir` the farm writes. `state_dir` is one of
//! the keys a reload cannot change, so these are fixed at start and need
//! no config snapshot.

use std::path::{Path, PathBuf};

pub(crate) struct StateDirs {
    root: PathBuf,
}

impl StateDirs {
    pub(super) fn new(root: PathBuf) -> StateDirs {
        StateDirs { root }
    }

    pub(super) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn logs(&self) -> PathBuf {
        self.root.join("logs")
    }

    /// Where a build's outputs wait for the publisher.
    pub(super) fn built(&self, id: i64) -> PathBuf {
        self.root.join("built").join(id.to_string())
    }
}
