//! The shutdown handle: the one flag every loop checks before taking new
//! work, and the cancel that stops running children.
//!
//! It is its own part so that a signal handler can hold it without holding
//! the farm: stopping needs nothing else.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use super::wake::Wakes;
use crate::process::Cancel;

pub(crate) struct Shutdown {
    /// Set on SIGTERM: take no new work, finish what runs.
    stopping: AtomicBool,
    /// Set when running children must be stopped now.
    cancel: Cancel,
    /// Woken on stop, so no loop sleeps through it.
    wakes: Arc<Wakes>,
}

impl Shutdown {
    pub(super) fn new(wakes: Arc<Wakes>) -> Shutdown {
        Shutdown {
            stopping: AtomicBool::new(false),
            cancel: Cancel::new(),
            wakes,
        }
    }

    pub(crate) fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Takes no new work from now on; what runs may finish.
    pub(crate) fn stop(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wakes.all();
    }

    /// Stops running children now (a second signal, or the drain timeout).
    pub(crate) fn cancel_now(&self) {
        self.cancel.cancel();
    }

    /// What running children watch.
    pub(super) fn cancel(&self) -> &Cancel {
        &self.cancel
    }
}
