//! The handle on the database: the queue, the outcomes, the failures and
//! the upload state. It is the farm's source of truth; every part that
//! reads or changes what must survive a restart goes through it.

use std::sync::{Mutex, MutexGuard};

use anyhow::Result;

use crate::log::{s, Logger};
use crate::store::Store;

pub(crate) struct Queue {
    store: Mutex<Store>,
}

impl Queue {
    pub(super) fn new(store: Store) -> Queue {
        Queue {
            store: Mutex::new(store),
        }
    }

    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        // A panic while holding the lock must not take the farm down with
        // it: the database itself is transactional.
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// At start: builds that were running when the last process stopped
    /// go back to the queue.
    pub(super) fn requeue_interrupted(&self, log: &Logger) -> Result<()> {
        let again = self.store().requeue_interrupted()?;
        for b in again {
            log.info(
                "re-queued interrupted build",
                &[
                    ("recipe", s(&b.recipe)),
                    ("version", s(&b.version)),
                    ("id", crate::log::n(b.id)),
                ],
            );
        }
        Ok(())
    }
}
