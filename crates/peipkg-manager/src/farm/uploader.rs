//! The uploader: brings the remote up to the latest published state, and
//! keeps retrying (with doubling waits) until it has. It runs beside the
//! publisher, never in its way: a failed upload does not hold back builds
//! or publishes, and the next successful upload carries all of them.

use std::time::Duration;

use anyhow::Result;

use super::handles::Handles;
use crate::config::UploadBackend;
use crate::log::{n, s};
use crate::pipeline::tree::{link_tree, remove_all};
use crate::store;
use crate::upload::{retry_delay, Rclone};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UploadOutcome {
    /// Nothing to upload (up to date, or no backend).
    Nothing,
    /// Waiting for the retry time.
    NotYet {
        at: i64,
    },
    Uploaded,
    /// The message, and whether it is a configuration error (retrying
    /// before the config changes cannot help).
    Failed(String, bool),
}

/// The uploader's parts: it reads the live repository (under its lock)
/// and the upload state, and never writes the repository.
pub(crate) struct Uploader {
    pub(super) h: Handles,
}

impl Uploader {
    pub(crate) fn run(&self) {
        while !self.h.shutdown.is_stopping() {
            let seen = self.h.wakes.uploader.seen();
            let wait = match self.upload_step(false) {
                Ok(UploadOutcome::NotYet { at }) => {
                    Duration::from_secs((at - store::now()).clamp(1, 60) as u64)
                }
                Ok(UploadOutcome::Failed(..)) => Duration::from_secs(1),
                Ok(_) => Duration::from_secs(60),
                Err(e) => {
                    self.h
                        .log
                        .error("uploader error", &[("err", s(format!("{e:#}")))]);
                    Duration::from_secs(30)
                }
            };
            self.h.wakes.uploader.wait(seen, wait);
        }
    }

    /// At start, with an rclone remote and nothing waiting to upload: if
    /// the remote's descriptor and indexes differ from the live state (a
    /// manager killed between a switch and its upload), schedule an upload.
    pub(super) fn reconcile_remote(&self) -> Result<()> {
        let st = self.h.queue.store().upload_status()?;
        let cfg = self.h.settings.cfg();
        let UploadBackend::Rclone { remote } = &cfg.upload.backend else {
            return Ok(());
        };
        if st.pending() || !self.h.repo.layout().repo.join("repo.json").exists() {
            return Ok(());
        }
        let _g = self.h.repo.lock();
        if self.rclone(remote).matches(&self.h.repo.layout().repo)? {
            return Ok(());
        }
        let generation = self.h.queue.store().bump_generation()?;
        self.h.log.warn(
            "remote differs from the live state; uploading it",
            &[("remote", s(remote)), ("generation", n(generation))],
        );
        self.h.wakes.uploader.notify();
        Ok(())
    }

    fn rclone(&self, remote: &str) -> Rclone {
        let cfg = self.h.settings.cfg();
        Rclone {
            program: cfg.upload.rclone.clone(),
            config: cfg.upload.rclone_config.clone(),
            remote: remote.to_string(),
            timeout: cfg.upload.timeout,
            log: self.h.dirs.logs().join("upload.log"),
            cache_control: cfg.upload.cache_control,
        }
    }

    /// One upload attempt if one is due (`force` ignores the retry time).
    pub(crate) fn upload_step(&self, force: bool) -> Result<UploadOutcome> {
        let st = self.h.queue.store().upload_status()?;
        if !st.pending() {
            return Ok(UploadOutcome::Nothing);
        }
        let cfg = self.h.settings.cfg();
        let UploadBackend::Rclone { remote } = &cfg.upload.backend else {
            // backend = "none": the local state is the end of the line.
            self.h
                .queue
                .store()
                .record_upload_success(st.published_generation, store::now())?;
            return Ok(UploadOutcome::Nothing);
        };
        let now = store::now();
        if let Some(at) = st.next_attempt_at {
            if !force && at > now {
                return Ok(UploadOutcome::NotYet { at });
            }
        }
        let generation = st.published_generation;
        let snapshot = self.h.dirs.root().join("upload");
        {
            let _g = self.h.repo.lock();
            remove_all(&snapshot)?;
            link_tree(&self.h.repo.layout().repo, &snapshot)?;
        }
        // peipkg-repo's work directory is never part of a state.
        remove_all(&snapshot.join(".peipkg-repo-work"))?;
        let rclone = self.rclone(remote);
        let result = rclone.upload(&snapshot, Some(self.h.shutdown.cancel()));
        let _ = remove_all(&snapshot);
        match result {
            Ok(()) => {
                self.h
                    .queue
                    .store()
                    .record_upload_success(generation, store::now())?;
                self.h.log.info(
                    "upload complete",
                    &[("remote", s(remote)), ("generation", n(generation))],
                );
                self.h.report.note(|r| r.upload = Some(Ok(())));
                Ok(UploadOutcome::Uploaded)
            }
            Err(e) => {
                let err = format!("{e} (see {})", rclone.log.display());
                let failures = st.failures + 1;
                let delay = retry_delay(failures, cfg.upload.retry_min, cfg.upload.retry_max);
                let next = store::now() + delay.as_secs() as i64;
                self.h
                    .queue
                    .store()
                    .record_upload_failure(&err, store::now(), next)?;
                self.h.log.error(
                    "upload failed",
                    &[
                        ("remote", s(remote)),
                        ("err", s(&err)),
                        ("failures", n(failures)),
                        ("next_retry_after", s(peipkg_cli::format_duration(delay))),
                    ],
                );
                self.h.report.note(|r| r.upload = Some(Err(err.clone())));
                Ok(UploadOutcome::Failed(err, e.is_configuration()))
            }
        }
    }
}
