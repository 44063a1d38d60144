//! The single publisher: folds every finished build into the repository,
//! several at once when they are ready together.
//!
//! A publish that fails with a batch is retried one build at a time, so
//! one bad package cannot keep the others out. Files the archive already
//! lists are never handed to `peipkg-repo` again: that, and keeping
//! failed outputs in the publish directory, is how the reference wedged
//! every later publish after one failed upload.

use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// How long finished builds may wait for others to publish with them.
const GATHER_WINDOW: Duration = Duration::from_millis(1000);

use anyhow::{Context, Result};

use super::handles::Handles;
use crate::log::{n, s};
use crate::pipeline::archive::{split_file_name, Archive};
use crate::pipeline::publish::publish;
use crate::pipeline::publish::RepoTool;
use crate::pipeline::stages::Stages;
use crate::pipeline::tree::remove_all;
use crate::store::{self, BuildRow, BuildState};

/// The publisher's parts: the only writer of the live repository.
pub(crate) struct Publisher {
    pub(super) h: Handles,
}

impl Publisher {
    /// Runs until the farm stops and nothing is left to publish.
    pub(crate) fn run(&self, workers_done: &std::sync::atomic::AtomicBool) {
        let mut gathering: Option<Instant> = None;
        loop {
            let seen = self.h.wakes.publisher.seen();
            if let Some(wait) = self.gather_more(&mut gathering) {
                self.h.wakes.publisher.wait(seen, wait);
                continue;
            }
            gathering = None;
            match self.publish_ready() {
                Ok(true) => continue,
                Ok(false) => {
                    if workers_done.load(Ordering::SeqCst) {
                        // Last look: a worker may have finished just now.
                        if matches!(self.publish_ready(), Ok(false)) {
                            return;
                        }
                        continue;
                    }
                }
                Err(e) => self
                    .h
                    .log
                    .error("publisher error", &[("err", s(format!("{e:#}")))]),
            }
            self.h.wakes.publisher.wait(seen, Duration::from_secs(2));
        }
    }

    fn repo_tool(&self) -> RepoTool {
        self.h.settings.repo_tool(&self.h.dirs.logs())
    }

    /// Creates the repository if this is the first run (after finishing or
    /// undoing a switch a killed manager left half done).
    pub(super) fn ensure_repo(&self) -> Result<()> {
        let _g = self.h.repo.lock();
        let cfg = self.h.settings.cfg();
        let layout = self.h.repo.layout();
        crate::pipeline::publish::recover_in_place(&self.repo_tool(), layout)
            .context("recover the live repository state")?;
        let created = crate::pipeline::publish::ensure_repo(
            &self.repo_tool(),
            layout,
            &cfg.repo_name,
            &cfg.repo_description,
        )
        .context("initialise repo")?;
        if created {
            self.h.log.info(
                "repository initialised",
                &[
                    ("repo", s(layout.repo.display())),
                    ("name", s(&cfg.repo_name)),
                ],
            );
            // A fresh repository has never been uploaded.
            self.h.queue.store().bump_generation()?;
        }
        Ok(())
    }

    /// Whether to wait (and how long at most) for more builds before
    /// publishing. Every publish rewrites both index documents, whose size
    /// grows with the archive, and costs two `peipkg-repo` runs; publishing
    /// each build the moment it is ready made a cold pass over N recipes
    /// cost about N publishes. So while other builds are running or queued,
    /// finished ones wait up to [`GATHER_WINDOW`] (or until `batch_max` are
    /// ready) to go out together; a lone build (one new tag) goes at once.
    fn gather_more(&self, since: &mut Option<Instant>) -> Option<Duration> {
        let (built, busy) = {
            let st = self.h.queue.store();
            let built = st.count_in(BuildState::Built).ok()?;
            let busy =
                st.count_in(BuildState::Running).ok()? + st.count_in(BuildState::Queued).ok()?;
            (built, busy)
        };
        if built == 0 {
            *since = None;
            return None;
        }
        if busy == 0
            || built as usize >= self.h.settings.cfg().build.batch_max
            || self.h.shutdown.is_stopping()
        {
            return None;
        }
        let started = *since.get_or_insert_with(Instant::now);
        GATHER_WINDOW.checked_sub(started.elapsed())
    }

    /// Publishes what is built. Returns whether there was anything.
    fn publish_ready(&self) -> Result<bool> {
        let mut built = self.h.queue.store().builds_in(BuildState::Built)?;
        if built.is_empty() {
            return Ok(false);
        }
        built.truncate(self.h.settings.cfg().build.batch_max);
        self.publish_builds(built)?;
        Ok(true)
    }

    fn publish_builds(&self, built: Vec<BuildRow>) -> Result<()> {
        let mut stages = Stages::start();
        let archive = Archive::load_cached(&self.h.repo.layout().repo);
        let archive = match archive {
            Ok(a) => a,
            Err(e) => {
                // Without a readable archive nothing can be published
                // safely; fail the batch so it backs off.
                let err = format!("cannot read the repository's archive index: {e}");
                for b in &built {
                    self.fail_publish(b, &err)?;
                }
                return Ok(());
            }
        };
        let mut batch: Vec<(BuildRow, Vec<PathBuf>)> = Vec::new();
        let mut already = Vec::new();
        for b in built {
            let dir = self.h.dirs.built(b.id);
            let files: Vec<PathBuf> = b.outputs.iter().map(|f| dir.join(f)).collect();
            if let Some(missing) = files.iter().find(|f| !f.exists()) {
                // Outputs lost (removed by hand?): build again.
                self.h.log.warn(
                    "built outputs missing; re-queued",
                    &[
                        ("recipe", s(&b.recipe)),
                        ("version", s(&b.version)),
                        ("file", s(missing.display())),
                    ],
                );
                self.h
                    .queue
                    .store()
                    .mark_cancelled(b.id, "outputs missing", store::now())?;
                continue;
            }
            let fresh: Vec<PathBuf> = files
                .into_iter()
                .filter(|f| {
                    let name = f
                        .file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    match split_file_name(&name) {
                        Some((n, v, a)) => !archive.contains(&n, &v, &a),
                        None => true,
                    }
                })
                .collect();
            if fresh.is_empty() {
                already.push(b);
            } else {
                batch.push((b, fresh));
            }
        }
        if !already.is_empty() {
            // Already in the archive: a crash after the switch (the state
            // went live but was never recorded, so never uploaded either),
            // or an identical build published another way. Either way the
            // live state may be newer than the remote: upload it.
            self.finish_published_all(&already)?;
        }
        if batch.is_empty() {
            return Ok(());
        }
        stages.mark("select");
        let all: Vec<PathBuf> = batch.iter().flat_map(|(_, f)| f.clone()).collect();
        match self.publish_files(&all, &mut stages) {
            Ok(()) => {
                crate::failpoint::hit("switched");
                let rows: Vec<BuildRow> = batch.iter().map(|(b, _)| b.clone()).collect();
                self.finish_published_all(&rows)?;
                stages.mark("sqlite");
                stages.log(&self.h.log, "publish", vec![("builds", n(rows.len()))]);
            }
            Err(e) if batch.len() > 1 => {
                self.h.log.warn(
                    "batch publish failed; publishing one build at a time",
                    &[("builds", n(batch.len())), ("err", s(&e))],
                );
                for (b, files) in &batch {
                    match self.publish_files(files, &mut Stages::start()) {
                        Ok(()) => {
                            self.finish_published_all(std::slice::from_ref(b))?;
                        }
                        Err(e) => self.fail_publish(b, &e)?,
                    }
                }
                self.upload_if_changed(&archive)?;
            }
            Err(e) => {
                self.fail_publish(&batch[0].0, &e)?;
                self.upload_if_changed(&archive)?;
            }
        }
        Ok(())
    }

    /// A publish in place that failed after its switch (the check or
    /// verify that follows it) still changed the live state: the remote
    /// must follow it even though no build was recorded as published.
    fn upload_if_changed(&self, before: &std::sync::Arc<Archive>) -> Result<()> {
        let Ok(now) = Archive::load_cached(&self.h.repo.layout().repo) else {
            return Ok(());
        };
        if std::sync::Arc::ptr_eq(before, &now) || self.h.queue.store().upload_status()?.pending() {
            return Ok(());
        }
        let generation = self.h.queue.store().bump_generation()?;
        self.h.log.debug(
            "repository state changed by a failed publish",
            &[("generation", n(generation))],
        );
        self.h.wakes.uploader.notify();
        Ok(())
    }

    fn publish_files(&self, files: &[PathBuf], stages: &mut Stages) -> Result<(), String> {
        let _g = self.h.repo.lock();
        let tool = self.repo_tool();
        publish(&tool, self.h.repo.layout(), files, stages)
            .map_err(|e| format!("{e} (see {})", tool.log.display()))
    }

    /// Records builds as published and the new state as due for upload,
    /// all in one database transaction: one commit per publish (not four
    /// per build), and no instant where a build is published but the
    /// upload not scheduled.
    fn finish_published_all(&self, builds: &[BuildRow]) -> Result<()> {
        let now = store::now();
        let generation = self.h.queue.store().transaction(|st| {
            for b in builds {
                st.mark_published(b.id, now)?;
                st.clear_failure(&b.recipe, &b.version)?;
                let commit = b.built_commit.as_deref().unwrap_or(&b.tag_commit);
                st.record_published_tag(&b.recipe, &b.tag, &b.version, commit, now)?;
            }
            st.bump_generation()
        })?;
        self.h.log.debug(
            "repository state published",
            &[("generation", n(generation))],
        );
        self.h.wakes.uploader.notify();
        for b in builds {
            if let Err(e) = remove_all(&self.h.dirs.built(b.id)) {
                self.h
                    .log
                    .warn("clear staging dir failed", &[("err", s(e))]);
            }
            self.h.log.info(
                "build + publish complete",
                &[
                    ("recipe", s(&b.recipe)),
                    ("version", s(&b.version)),
                    ("outputs", n(b.outputs.len())),
                    (
                        "build_timestamp",
                        s(b.build_timestamp.as_deref().unwrap_or("")),
                    ),
                ],
            );
            self.h.report.note(|r| r.published.push(b.key()));
        }
        Ok(())
    }

    fn fail_publish(&self, b: &BuildRow, err: &str) -> Result<()> {
        let now = store::now();
        let f = {
            let st = self.h.queue.store();
            st.mark_failed(b.id, err, now)?;
            st.record_failure(&b.recipe, &b.version, &b.tag, err, now)?
        };
        // Never keep a rejected package around to poison the next publish.
        let _ = remove_all(&self.h.dirs.built(b.id));
        if let Some(log) = &b.log_path {
            crate::pipeline::fetch::note(
                std::path::Path::new(log),
                &format!("# PUBLISH FAILED: {err}"),
            );
        }
        self.h.log.error(
            "publish failed",
            &[
                ("recipe", s(&b.recipe)),
                ("version", s(&b.version)),
                ("err", s(err)),
                (
                    "next_retry_after",
                    s(peipkg_cli::format_duration(crate::store::backoff_after(
                        f.failures,
                    ))),
                ),
            ],
        );
        self.h
            .report
            .note(|r| r.publish_failures.push((b.key(), err.to_string())));
        self.h.wakes.scheduler.notify();
        Ok(())
    }
}
