//! What happened during one `--once` sweep, for its summary and exit code.
//!
//! Only a sweep keeps a report: a daemon running for months must not grow
//! a list per poll, so [`Report::note`] does nothing until
//! [`Report::collect`] turns it on.

use std::fmt::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};

/// The report's shared holder; the steps note into it.
#[derive(Default)]
pub(crate) struct Report {
    run: Mutex<RunReport>,
    collect: AtomicBool,
}

impl Report {
    /// Starts keeping the report (a `--once` sweep).
    pub(crate) fn collect(&self) {
        self.collect.store(true, Ordering::SeqCst);
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, RunReport> {
        self.run.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records into the sweep report, if one is kept.
    pub(super) fn note(&self, f: impl FnOnce(&mut RunReport)) {
        if self.collect.load(Ordering::SeqCst) {
            f(&mut self.lock());
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct RunReport {
    pub(crate) broken_recipes: Vec<(String, String)>,
    pub(crate) poll_failures: Vec<(String, String)>,
    pub(crate) build_failures: Vec<(String, String)>,
    pub(crate) publish_failures: Vec<(String, String)>,
    /// Versions skipped because they are still in a failure's backoff.
    pub(crate) in_backoff: Vec<(String, String)>,
    pub(crate) published: Vec<String>,
    pub(crate) upload: Option<Result<(), String>>,
}

impl RunReport {
    pub(crate) fn ok(&self) -> bool {
        self.broken_recipes.is_empty()
            && self.poll_failures.is_empty()
            && self.build_failures.is_empty()
            && self.publish_failures.is_empty()
            && self.in_backoff.is_empty()
            && !matches!(self.upload, Some(Err(_)))
    }

    pub(crate) fn summary(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "published: {}", self.published.len());
        for p in &self.published {
            let _ = writeln!(out, "  {p}");
        }
        let sections = [
            ("broken recipes", &self.broken_recipes),
            ("failed polls", &self.poll_failures),
            ("failed builds", &self.build_failures),
            ("failed publishes", &self.publish_failures),
            ("waiting for retry (backoff)", &self.in_backoff),
        ];
        for (title, list) in sections {
            if !list.is_empty() {
                let _ = writeln!(out, "{title}: {}", list.len());
                for (k, v) in list {
                    let _ = writeln!(out, "  {k}: {v}");
                }
            }
        }
        match &self.upload {
            None => {}
            Some(Ok(())) => {
                let _ = writeln!(out, "upload: ok");
            }
            Some(Err(e)) => {
                let _ = writeln!(out, "upload: FAILED: {e}");
            }
        }
        let _ = write!(out, "result: {}", if self.ok() { "ok" } else { "FAILED" });
        out
    }
}
