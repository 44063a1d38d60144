//! A build worker: takes the oldest queued build, re-checks it against the
//! current roster, describes it to the executor, polls the job, and
//! fetches its artifacts into `built/<id>/` for the publisher. The job is
//! released (its scratch removed) on every path but a detach, which leaves
//! a cluster job running for the next start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::activity::{Activity, InFlight};
use super::handles::Handles;
use super::pool::Pool;
use crate::executor::{
    ArtifactRef, BackendJob, BuildJob, Built, Executor, Grant, JobError, JobHandle, JobStatus,
    SourceRef,
};
use crate::log::{n, s};
use crate::pipeline::archive::Archive;
use crate::pipeline::tree::remove_all;
use crate::store::{self, BuildRow};
use crate::tag_version::compose;

const REMOVED: &str = "recipe removed from roster";
const MIN_FORBIDS: &str = "current recipe min_version";

/// How soon a wait between polls notices a shutdown.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

pub(super) enum Step {
    /// Took and finished (or dropped) one build.
    Worked,
    /// The queue is empty.
    Idle,
}

/// A build worker's parts. Cheap to clone: the pool starts one per index.
#[derive(Clone)]
pub(crate) struct Worker {
    pub(super) h: Handles,
    pub(super) activity: Arc<Activity>,
    pub(super) pool: Arc<Pool>,
}

impl Worker {
    /// Runs a worker until the farm stops (daemon) or, with `until_empty`,
    /// until the queue is empty and `polls_done` says no more will come.
    /// A daemon worker has an `index` in the pool and also leaves when a
    /// reload lowers `[build].workers` below it.
    pub(crate) fn run(
        &self,
        index: Option<usize>,
        until_empty: Option<&std::sync::atomic::AtomicBool>,
    ) {
        loop {
            match index {
                Some(i) if self.should_leave(i) => return,
                None if self.h.shutdown.is_stopping() => return,
                _ => {}
            }
            let seen = self.h.wakes.workers.seen();
            match self.work_one() {
                Ok(Step::Worked) => continue,
                Ok(Step::Idle) => {
                    if let Some(done) = until_empty {
                        if done.load(std::sync::atomic::Ordering::SeqCst) {
                            // Re-check: a poll may have queued between.
                            if matches!(self.work_one(), Ok(Step::Idle)) {
                                return;
                            }
                            continue;
                        }
                    }
                }
                Err(e) => {
                    self.h
                        .log
                        .error("build worker error", &[("err", s(format!("{e:#}")))]);
                }
            }
            self.h.wakes.workers.wait(seen, Duration::from_secs(2));
        }
    }

    /// Whether worker `index` should leave now (and, if so, it is removed
    /// from the pool in the same step): the farm stops, or a reload
    /// lowered `[build].workers` below it.
    fn should_leave(&self, index: usize) -> bool {
        self.pool.leave_if(index, || {
            self.h.shutdown.is_stopping() || index >= self.h.settings.cfg().build.workers
        })
    }

    pub(super) fn work_one(&self) -> Result<Step> {
        let claimed = self.h.queue.store().claim_next(store::now())?;
        let Some(b) = claimed else {
            return Ok(Step::Idle);
        };
        if let Some(why) = self.still_wanted(&b)? {
            // A cluster job of a build from before a restart goes too.
            let kept = self.h.queue.store().job_of(b.id)?;
            if let Some(kept) = kept {
                let executor = self.h.settings.executor();
                if let Some(handle) = executor.handle_of(b.id, &kept) {
                    executor.cancel(&handle);
                    executor.release(&handle);
                }
            }
            {
                let st = self.h.queue.store();
                st.mark_cancelled(b.id, &why, store::now())?;
                // A version that is no longer wanted needs no retries.
                st.clear_failure(&b.recipe, &b.version)?;
            }
            // The reference's messages where the reason is one it had.
            let msg = if why == REMOVED {
                "trigger dropped (recipe removed from roster)"
            } else if why.starts_with(MIN_FORBIDS) {
                "trigger dropped (current recipe min_version forbids)"
            } else {
                "trigger dropped"
            };
            self.h.log.debug(
                msg,
                &[
                    ("recipe", s(&b.recipe)),
                    ("tag", s(&b.tag)),
                    ("version", s(&b.version)),
                    ("reason", s(&why)),
                ],
            );
            return Ok(Step::Worked);
        }
        self.run_claimed(b)?;
        Ok(Step::Worked)
    }

    /// Re-validates a queued build against the roster as it is now; the
    /// reference built with a stale snapshot. `Some(reason)` drops it.
    fn still_wanted(&self, b: &BuildRow) -> Result<Option<String>> {
        let roster = self.h.settings.roster();
        let Some(recipe) = roster.get(&b.recipe) else {
            return Ok(Some(REMOVED.into()));
        };
        let Some(up) = &recipe.upstream else {
            return Ok(Some("recipe no longer has [upstream]".into()));
        };
        let Some(captured) = up.pattern.capture(&b.tag) else {
            return Ok(Some(
                "tag no longer matches the recipe's tag_pattern".into(),
            ));
        };
        match compose(&captured, up.peios_revision) {
            Ok(v) if v.to_string() == b.version => {
                if let Some((min, minv)) = &up.min_version {
                    if !crate::tag_version::at_least(&v, minv) {
                        return Ok(Some(format!("{MIN_FORBIDS} {min} forbids it")));
                    }
                }
            }
            Ok(v) => {
                return Ok(Some(format!(
                    "the recipe now gives version {v} for this tag"
                )))
            }
            Err(e) => return Ok(Some(e)),
        }
        if let Ok(a) = Archive::load_cached(&self.h.repo.layout().repo) {
            if !a.published_names(&recipe.packages, &b.version).is_empty() {
                return Ok(Some("already published".into()));
            }
        }
        Ok(None)
    }

    /// The build as a description: what to build and which keys it is
    /// granted by name; the executor resolves the rest on its side.
    fn job_for(&self, b: &BuildRow) -> Option<BuildJob> {
        let roster = self.h.settings.roster();
        let recipe = roster.get(&b.recipe)?;
        let up = recipe.upstream.as_ref()?;
        let cfg = self.h.settings.cfg();
        let grant = cfg
            .grant_for(&b.recipe)
            .map(|g| Grant {
                inject_pubkey: g.inject_pubkey.clone(),
                sign: g.sign.clone(),
                network: g.network,
            })
            .unwrap_or_default();
        Some(BuildJob {
            id: b.id,
            recipe: b.recipe.clone(),
            packages: recipe.packages.clone(),
            version: b.version.clone(),
            tag: b.tag.clone(),
            source: SourceRef {
                git: up.git.clone(),
                commit: b.tag_commit.clone(),
                submodules: up.submodules,
            },
            grant,
        })
    }

    fn run_claimed(&self, b: BuildRow) -> Result<()> {
        let log_path = crate::executor::build_log(&self.h.dirs.logs(), b.id);
        // A cluster job from before a restart is re-attached to, not
        // submitted again, and its log continues.
        let kept = self.h.queue.store().job_of(b.id)?;
        if kept.is_none() {
            let _ = remove_all(&log_path);
        }
        self.h
            .queue
            .store()
            .set_log_path(b.id, &log_path.display().to_string())?;
        crate::pipeline::fetch::note(
            &log_path,
            &format!(
                "# build {} of {} {} (tag {}, source {}) at {}",
                b.id,
                b.recipe,
                b.version,
                b.tag,
                b.source,
                store::rfc3339(store::now())
            ),
        );
        // Fail closed on trusted binaries before anything is fetched.
        let refusal = {
            let cfg = self.h.settings.cfg();
            let roster = self.h.settings.roster();
            roster
                .get(&b.recipe)
                .and_then(|r| crate::sign_grant::refusal(r, cfg.grant_for(&b.recipe)))
        };
        if let Some(err) = refusal {
            self.fail_build(&b, &err, &log_path)?;
            return Ok(());
        }
        let Some(job) = self.job_for(&b) else {
            let err = "the recipe's grant names a signing key that is not usable".to_string();
            self.fail_build(&b, &err, &log_path)?;
            return Ok(());
        };
        self.h.log.info(
            "starting build",
            &[
                ("recipe", s(&b.recipe)),
                ("tag", s(&b.tag)),
                ("version", s(&b.version)),
                ("source", s(&b.source)),
                ("id", n(b.id)),
            ],
        );
        self.activity.build_started(InFlight {
            id: b.id,
            recipe: b.recipe.clone(),
            version: b.version.clone(),
            tag: b.tag.clone(),
            started_at: store::now(),
        });
        // The executor in force now stays this build's to the end.
        let executor = self.h.settings.executor();
        let handle = match kept.as_ref().and_then(|k| executor.attach(&job, k)) {
            Some(h) => Ok(h),
            None => executor.submit(&job),
        };
        let result = match &handle {
            Ok(h) => self.wait(executor.as_ref(), h, kept),
            Err(e) => Err(e.clone()),
        };
        // Warnings are their own events, never part of a failure message.
        for w in crate::pipeline::build::build_warnings(&log_path) {
            self.h.log.warn(
                "build warning",
                &[
                    ("recipe", s(&b.recipe)),
                    ("version", s(&b.version)),
                    ("warning", s(w)),
                ],
            );
        }
        // A detached job stays where it is for the next start.
        let detached = matches!(result, Err(JobError::Detached(_)));
        let outcome = match result {
            Ok(mut r) => match self.keep_outputs(&b, executor.as_ref(), &r.artifacts) {
                Ok(names) => {
                    crate::failpoint::hit("kept");
                    r.stages.mark("move_outputs");
                    Ok((names, r))
                }
                Err(e) => {
                    // The reference's message; unlike the reference, the
                    // failure is recorded (below) and backs off.
                    self.h.log.error(
                        "stage outputs failed",
                        &[
                            ("recipe", s(&b.recipe)),
                            ("version", s(&b.version)),
                            ("err", s(format!("{e:#}"))),
                        ],
                    );
                    let _ = remove_all(&self.h.dirs.built(b.id));
                    Err(e.context("keep the build's outputs"))
                }
            },
            Err(e) => Err(e.into()),
        };
        if let (Ok(h), false) = (&handle, detached) {
            executor.release(h);
        }
        self.activity.build_ended(b.id);
        match outcome {
            Ok((names, mut r)) => {
                r.stages.mark("remove_work");
                self.h.queue.store().mark_built(
                    b.id,
                    &names,
                    &r.timestamp,
                    &r.commit,
                    store::now(),
                )?;
                r.stages.mark("sqlite");
                crate::failpoint::hit("built");
                r.stages
                    .log(&self.h.log, "build", vec![("recipe", s(&b.recipe))]);
                crate::pipeline::fetch::note(&log_path, &format!("# built: {}", names.join(" ")));
                self.h.log.info(
                    "build complete; waiting to publish",
                    &[
                        ("recipe", s(&b.recipe)),
                        ("version", s(&b.version)),
                        ("outputs", n(names.len())),
                        ("commit", s(&r.commit)),
                    ],
                );
                self.h.wakes.publisher.notify();
            }
            Err(e) => {
                let cancelled = e
                    .downcast_ref::<JobError>()
                    .is_some_and(JobError::is_cancelled);
                if cancelled {
                    let _ = remove_all(&self.h.dirs.built(b.id));
                    self.h.queue.store().requeue(b.id)?;
                    self.h.log.info(
                        "build interrupted by shutdown; re-queued",
                        &[("recipe", s(&b.recipe)), ("version", s(&b.version))],
                    );
                } else {
                    self.fail_build(&b, &format!("{e:#}"), &log_path)?;
                }
            }
        }
        Ok(())
    }

    /// Polls the job until it ends. A shutdown that must stop running
    /// work now detaches a job that survives restarts and cancels any
    /// other. Each change of its engine job is recorded, so that a next
    /// start can re-attach.
    fn wait(
        &self,
        executor: &dyn Executor,
        h: &JobHandle,
        mut recorded: Option<BackendJob>,
    ) -> std::result::Result<Built, JobError> {
        let record = |recorded: &mut Option<BackendJob>| {
            let Some(j) = executor.observed(h) else {
                return;
            };
            if recorded.as_ref() == Some(&j) {
                return;
            }
            if let Err(e) = self
                .h
                .queue
                .store()
                .record_job(h.build_id, &j, store::now())
            {
                self.h
                    .log
                    .error("record cluster job failed", &[("err", s(e))]);
            }
            *recorded = Some(j);
        };
        let cancel = self.h.shutdown.cancel();
        let mut cancelled = false;
        record(&mut recorded);
        loop {
            let status = executor.poll(h);
            record(&mut recorded);
            match status {
                JobStatus::Succeeded(built) => return Ok(built),
                JobStatus::Failed(e) => return Err(e),
                JobStatus::Queued | JobStatus::Running => {}
            }
            let until = Instant::now() + executor.poll_interval();
            loop {
                if !cancelled && cancel.is_cancelled() {
                    if executor.detach(h) {
                        return Err(JobError::Detached(format!(
                            "{} job {}",
                            h.backend, h.job_id
                        )));
                    }
                    executor.cancel(h);
                    cancelled = true;
                    break;
                }
                let left = until.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    break;
                }
                std::thread::sleep(left.min(CANCEL_CHECK));
            }
        }
    }

    /// Fetches the artifacts into `built/<id>/`, where they wait (across
    /// restarts) for the publisher.
    fn keep_outputs(
        &self,
        b: &BuildRow,
        executor: &dyn Executor,
        artifacts: &[ArtifactRef],
    ) -> Result<Vec<String>> {
        let dir = self.h.dirs.built(b.id);
        remove_all(&dir)?;
        std::fs::create_dir_all(&dir)?;
        let mut names = Vec::new();
        for a in artifacts {
            executor.fetch(a, &dir)?;
            names.push(a.name.clone());
        }
        Ok(names)
    }

    fn fail_build(&self, b: &BuildRow, err: &str, log_path: &std::path::Path) -> Result<()> {
        let now = store::now();
        let f = {
            let st = self.h.queue.store();
            st.mark_failed(b.id, err, now)?;
            st.record_failure(&b.recipe, &b.version, &b.tag, err, now)?
        };
        crate::pipeline::fetch::note(log_path, &format!("# FAILED: {err}"));
        let wait = crate::store::backoff_after(f.failures);
        self.h.log.error(
            "build failed",
            &[
                ("recipe", s(&b.recipe)),
                ("version", s(&b.version)),
                ("err", s(err)),
                ("next_retry_after", s(peipkg_cli::format_duration(wait))),
                ("failures", n(f.failures)),
                ("log", s(log_path.display())),
            ],
        );
        self.h
            .report
            .note(|r| r.build_failures.push((b.key(), err.to_string())));
        // The retry timer may now be earlier than the scheduler thinks.
        self.h.wakes.scheduler.notify();
        Ok(())
    }
}
