//! The live repository on disk: where its states are kept, and the lock
//! held while it is replaced (a publish) or read as a whole (an upload's
//! snapshot, a comparison with the remote).

use std::sync::{Mutex, MutexGuard};

use crate::pipeline::publish::Layout;

pub(crate) struct LiveRepo {
    layout: Layout,
    lock: Mutex<()>,
}

impl LiveRepo {
    pub(super) fn new(layout: Layout) -> LiveRepo {
        LiveRepo {
            layout,
            lock: Mutex::new(()),
        }
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Held while the live repository is replaced or snapshotted.
    pub(super) fn lock(&self) -> MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }
}
