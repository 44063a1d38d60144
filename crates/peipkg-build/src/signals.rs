//! SIGINT/SIGTERM turned into a flag the build checks.
//!
//! With the default disposition a signal would kill peipkg-build on the
//! spot, leaving the staging directory (and the build script's process
//! group, which does not receive terminal signals because it runs in its own
//! group) behind. Instead the handler only records the signal; the script
//! runner polls it to kill the script's whole process group, and the build
//! checks it between steps, so every exit path runs the normal cleanup.

use std::sync::OnceLock;

use peipkg_os::signals::{Received, SIGINT, SIGTERM};

static RECEIVED: OnceLock<Option<Received>> = OnceLock::new();

/// Installs the handlers for SIGINT and SIGTERM (once per process). Where
/// they cannot be installed the signals keep their default action.
pub fn install() {
    RECEIVED.get_or_init(|| peipkg_os::signals::record(&[SIGINT, SIGTERM]).ok());
}

/// The signal received since start-up, if any.
pub fn pending() -> Option<i32> {
    RECEIVED.get()?.as_ref()?.pending()
}

pub use peipkg_os::signals::name;
