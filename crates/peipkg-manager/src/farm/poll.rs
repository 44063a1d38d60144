//! One poll of one recipe: list the upstream's tags, judge them, and queue
//! each new version that is not published, queued or backing off.
//!
//! The scheduler (daemon) and the sweep (`--once`) both poll through a
//! [`Poller`]; it holds only what a poll reads and where it queues.

use anyhow::Result;

use super::handles::Handles;
use crate::log::{n, s};
use crate::pipeline::archive::Archive;
use crate::roster::Recipe;
use crate::store::{self, NewBuild};
use crate::watch::candidates::{judge_all, Verdict};
use crate::watch::ls_remote::{ls_remote, RemoteTag};

/// What a poll found, for logs, `explain` and tests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PollSummary {
    pub(super) tags_seen: usize,
    pub(super) candidates: usize,
    pub(super) below_min: usize,
    pub(super) invalid: usize,
    pub(super) queued: usize,
}

/// Why a candidate was or was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decision {
    Queued(i64),
    Published,
    AlreadyQueued,
    Backoff { until: i64 },
}

/// Polls recipes and queues what they find.
#[derive(Clone)]
pub(crate) struct Poller {
    pub(super) h: Handles,
}

impl Poller {
    pub(crate) fn poll_recipe(&self, recipe: &Recipe, source: &str) -> Result<PollSummary, String> {
        let Some(up) = &recipe.upstream else {
            return Ok(PollSummary::default());
        };
        self.h.log.info(
            "polling upstream",
            &[("recipe", s(&recipe.id)), ("git", s(&up.git))],
        );
        let tags = match ls_remote(&self.h.settings.cfg().git, &up.git) {
            Ok(t) => t,
            Err(e) => {
                let err = e.to_string();
                self.h.log.warn(
                    "ls-remote failed",
                    &[("recipe", s(&recipe.id)), ("err", s(&err))],
                );
                let _ = self.h.queue.store().record_poll(
                    &recipe.id,
                    false,
                    Some(&err),
                    0,
                    0,
                    store::now(),
                );
                self.h
                    .report
                    .note(|r| r.poll_failures.push((recipe.id.clone(), err.clone())));
                return Err(err);
            }
        };
        let archive = match Archive::load_cached(&self.h.repo.layout().repo) {
            Ok(a) => a,
            Err(e) => {
                self.h.log.warn(
                    "dedup check failed; proceeding with build",
                    &[("err", s(e))],
                );
                Default::default()
            }
        };
        let mut sum = PollSummary {
            tags_seen: tags.len(),
            ..Default::default()
        };
        for j in judge_all(up, &tags) {
            match j.verdict {
                Verdict::NoMatch => {}
                Verdict::BelowMin { .. } => sum.below_min += 1,
                Verdict::Invalid { captured, reason } => {
                    sum.invalid += 1;
                    self.h.log.warn(
                        "tag gives an invalid version; skipped",
                        &[
                            ("recipe", s(&recipe.id)),
                            ("tag", s(&j.tag.name)),
                            ("captured", s(&captured)),
                            ("err", s(&reason)),
                        ],
                    );
                }
                Verdict::Candidate { version } => {
                    sum.candidates += 1;
                    match self.consider(recipe, &j.tag, &version.to_string(), source, &archive) {
                        Ok(Decision::Queued(_)) => sum.queued += 1,
                        Ok(_) => {}
                        Err(e) => self.h.log.error(
                            "queue build failed",
                            &[("recipe", s(&recipe.id)), ("err", s(e))],
                        ),
                    }
                }
            }
        }
        let _ = self.h.queue.store().record_poll(
            &recipe.id,
            true,
            None,
            sum.tags_seen,
            sum.candidates,
            store::now(),
        );
        self.h.log.info(
            "poll complete",
            &[
                ("recipe", s(&recipe.id)),
                ("tags_seen", n(sum.tags_seen)),
                ("matches_emitted", n(sum.candidates)),
                ("skipped_below_min_version", n(sum.below_min)),
                ("queued", n(sum.queued)),
            ],
        );
        crate::failpoint::hit("polled");
        if sum.queued > 0 {
            self.h.wakes.workers.notify();
        }
        Ok(sum)
    }

    /// Decides about one candidate version.
    fn consider(
        &self,
        recipe: &Recipe,
        tag: &RemoteTag,
        version: &str,
        source: &str,
        archive: &Archive,
    ) -> Result<Decision> {
        let now = store::now();
        let published = archive.published_names(&recipe.packages, version);
        if !published.is_empty() {
            if published.len() < recipe.packages.len() {
                self.h.log.warn(
                    "version partly published; not rebuilding (bump peios_revision to publish the rest)",
                    &[
                        ("recipe", s(&recipe.id)),
                        ("version", s(version)),
                        ("published", s(published.join(","))),
                    ],
                );
            }
            let st = self.h.queue.store();
            if let Some(old) = st.published_commit(&recipe.id, &tag.name)? {
                if old != tag.commit
                    && st.record_moved_tag(
                        &recipe.id,
                        &tag.name,
                        version,
                        &old,
                        &tag.commit,
                        now,
                    )?
                {
                    self.h.log.warn(
                        "published tag moved; not rebuilding",
                        &[
                            ("recipe", s(&recipe.id)),
                            ("tag", s(&tag.name)),
                            ("version", s(version)),
                            ("published_commit", s(&old)),
                            ("current_commit", s(&tag.commit)),
                        ],
                    );
                }
            }
            self.h.log.debug(
                "trigger skipped (already published)",
                &[
                    ("recipe", s(&recipe.id)),
                    ("version", s(version)),
                    ("source", s(source)),
                ],
            );
            return Ok(Decision::Published);
        }
        let mut st = self.h.queue.store();
        if st.active_build(&recipe.id, version)?.is_some() {
            self.h.log.debug(
                "trigger skipped (already queued)",
                &[
                    ("recipe", s(&recipe.id)),
                    ("version", s(version)),
                    ("source", s(source)),
                ],
            );
            return Ok(Decision::AlreadyQueued);
        }
        if let Some(f) = st.in_backoff(&recipe.id, version, now)? {
            self.h.log.debug(
                "trigger skipped (in failure backoff window)",
                &[
                    ("recipe", s(&recipe.id)),
                    ("version", s(version)),
                    ("source", s(source)),
                    ("next_retry", s(store::rfc3339(f.next_retry_at))),
                ],
            );
            drop(st);
            self.h.report.note(|r| {
                r.in_backoff.push((
                    f.key(),
                    format!(
                        "{} failure(s), next retry {}: {}",
                        f.failures,
                        store::rfc3339(f.next_retry_at),
                        f.last_error
                    ),
                ))
            });
            return Ok(Decision::Backoff {
                until: f.next_retry_at,
            });
        }
        let nb = NewBuild {
            recipe: recipe.id.clone(),
            version: version.to_string(),
            tag: tag.name.clone(),
            git: recipe
                .upstream
                .as_ref()
                .map(|u| u.git.clone())
                .unwrap_or_default(),
            tag_commit: tag.commit.clone(),
            source: source.to_string(),
        };
        match st.enqueue(&nb, now)? {
            Some(id) => {
                drop(st);
                self.h.log.info(
                    "build queued",
                    &[
                        ("recipe", s(&recipe.id)),
                        ("tag", s(&tag.name)),
                        ("version", s(version)),
                        ("source", s(source)),
                        ("id", n(id)),
                    ],
                );
                Ok(Decision::Queued(id))
            }
            None => Ok(Decision::AlreadyQueued),
        }
    }
}
