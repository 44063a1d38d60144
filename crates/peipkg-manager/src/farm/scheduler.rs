//! The poll scheduler: every watched recipe is polled at start, then at its
//! interval plus a random spread (so a farm with many recipes does not hit
//! one host with all of them at once), with a bound on how many polls run
//! together. It also starts retries when a failure's backoff ends, rather
//! than waiting for a poll to stumble on them.
//!
//! Only recipes with a `[watch]` table are on the schedule. A webhook or
//! an operator (`peipkg-manager poll RECIPE`) can ask for a poll of any
//! recipe with an `[upstream]`; that is how a recipe without `[watch]` is
//! built, as PSD-009 A.2 prescribes. Paused recipes are skipped until they
//! are resumed (and are then polled at once).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::activity::Activity;
use super::handles::Handles;
use super::poll::Poller;
use super::schedule::Schedule;
use crate::log::{n, s};
use crate::store::{self, NewBuild};

/// `interval` stretched by a random 0..=`percent`%.
fn with_jitter(interval: Duration, percent: u32, seed: u64) -> Duration {
    if percent == 0 {
        return interval;
    }
    // xorshift64*: plenty for spreading polls, no dependency needed.
    let mut x = seed | 1;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11; // 53 bits
    let frac = (r as f64) / ((1u64 << 53) as f64) * (percent as f64 / 100.0);
    interval.mul_f64(1.0 + frac)
}

fn seed(id: &str) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    id.bytes().fold(nanos ^ 0x9E37_79B9_7F4A_7C15, |h, b| {
        h.rotate_left(5) ^ b as u64
    })
}

/// A recipe polled on a schedule.
struct Slot {
    due: Instant,
    digest: crate::roster::Digest,
    /// The interval `due` was planned with; a reload that changes it
    /// re-plans from the last poll.
    every: Duration,
    /// When the last poll finished.
    last: Option<Instant>,
    /// A poll of it is running.
    busy: bool,
    /// What asked for the next poll (`poll`, `webhook`, `operator`).
    source: &'static str,
}

/// The longest the scheduler sleeps: operator requests arrive through the
/// database, and this is how soon they are seen.
const MAX_SLEEP: Duration = Duration::from_secs(2);
/// How often finished builds' old logs are looked for.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// The scheduler thread's parts: it polls (each poll on a thread of its
/// own, as a [`Poller`]), and reads (and tells `/status`) what is due.
pub(crate) struct Scheduler {
    pub(super) h: Handles,
    pub(super) schedule: Arc<Schedule>,
    pub(super) activity: Arc<Activity>,
}

impl Scheduler {
    pub(crate) fn run(&self) {
        let p = &self.h;
        let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
        // Polls asked for (by a webhook or an operator) of recipes that are
        // not on a schedule, with who asked.
        let mut oneoff: BTreeMap<String, &'static str> = BTreeMap::new();
        let active = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel::<String>();
        let mut last_prune: Option<Instant> = None;
        // The systemd watchdog is fed from this loop, so a scheduler that
        // hangs (a stuck database, a deadlock) gets the daemon restarted.
        let watchdog = crate::notify::watchdog_interval();
        let mut last_ping: Option<Instant> = None;
        while !p.shutdown.is_stopping() {
            if let Some(every) = watchdog {
                if last_ping.is_none_or(|t| t.elapsed() >= every / 3) {
                    crate::notify::notify("WATCHDOG=1");
                    last_ping = Some(Instant::now());
                }
            }
            let seen = p.wakes.scheduler.seen();
            let roster = p.settings.roster();
            let cfg = p.settings.cfg();
            let now = Instant::now();
            let paused: BTreeSet<String> = p
                .queue
                .store()
                .paused()
                .map(|p| p.into_iter().map(|p| p.recipe).collect())
                .unwrap_or_default();
            // New or changed recipes are polled now; removed ones dropped.
            // A lookup per slot: scanning the roster for each one made every
            // pass of this loop (one per finished poll) quadratic in the
            // number of recipes (about 3 minutes for a first pass over 5,000).
            slots.retain(|id, _| {
                roster
                    .get(id)
                    .is_some_and(|r| r.upstream.is_some() && r.watch.present)
            });
            for r in roster.watched() {
                let changed = slots.get(&r.id).is_none_or(|sl| sl.digest != r.digest);
                if changed {
                    let busy = slots.get(&r.id).is_some_and(|sl| sl.busy);
                    slots.insert(
                        r.id.clone(),
                        Slot {
                            due: now,
                            digest: r.digest,
                            every: r.poll_interval(cfg.default_interval),
                            last: None,
                            busy,
                            source: "poll",
                        },
                    );
                }
            }
            // Finished polls set their next time.
            while let Ok(id) = done_rx.try_recv() {
                if let Some(slot) = slots.get_mut(&id) {
                    slot.busy = false;
                    slot.last = Some(Instant::now());
                    slot.due =
                        Instant::now() + with_jitter(slot.every, cfg.git.jitter_percent, seed(&id));
                }
            }
            // A reload may have changed an interval: re-plan from the last
            // poll rather than waiting out the old one.
            for (id, slot) in slots.iter_mut() {
                let Some(r) = roster.get(id) else { continue };
                let every = r.poll_interval(cfg.default_interval);
                if slot.every != every {
                    slot.every = every;
                    if !slot.busy {
                        slot.due = slot
                            .last
                            .map(|l| l + with_jitter(every, cfg.git.jitter_percent, seed(id)))
                            .unwrap_or(now);
                    }
                }
            }
            // Webhook and operator requests jump the queue.
            let hooked: BTreeSet<String> = self.schedule.take_asked();
            let mut asked: Vec<(String, &'static str)> =
                hooked.into_iter().map(|id| (id, "webhook")).collect();
            match p.queue.store().take_poll_requests() {
                Ok(ids) => asked.extend(ids.into_iter().map(|id| (id, "operator"))),
                Err(e) => p.log.error("read poll requests failed", &[("err", s(e))]),
            }
            for (id, source) in asked {
                if let Some(slot) = slots.get_mut(&id) {
                    slot.due = now;
                    slot.source = source;
                } else if roster.get(&id).is_some_and(|r| r.upstream.is_some()) {
                    oneoff.insert(id, source);
                } else {
                    p.log.warn(
                        "poll requested for a recipe that has no [upstream]; ignored",
                        &[("recipe", s(&id)), ("source", s(source))],
                    );
                }
            }
            // Start what is due, oldest first, within the concurrency bound.
            let mut due: Vec<(String, Instant, &'static str)> = slots
                .iter()
                .filter(|(id, sl)| !sl.busy && sl.due <= now && !paused.contains(*id))
                .map(|(id, sl)| (id.clone(), sl.due, sl.source))
                .collect();
            due.sort_by_key(|(_, d, _)| *d);
            let extra: Vec<(String, Instant, &'static str)> = oneoff
                .iter()
                .filter(|(id, _)| !paused.contains(*id))
                .map(|(id, src)| (id.clone(), now, *src))
                .collect();
            for (id, _, source) in extra.into_iter().chain(due) {
                if active.load(Ordering::SeqCst) >= cfg.git.poll_concurrency {
                    break;
                }
                if self.activity.is_polling(&id) {
                    continue;
                }
                let Some(recipe) = roster.get(&id).cloned() else {
                    oneoff.remove(&id);
                    continue;
                };
                oneoff.remove(&id);
                if let Some(slot) = slots.get_mut(&id) {
                    slot.busy = true;
                    slot.source = "poll";
                }
                self.activity.poll_started(&id);
                active.fetch_add(1, Ordering::SeqCst);
                let poller = Poller { h: p.clone() };
                let activity = Arc::clone(&self.activity);
                let active = Arc::clone(&active);
                let tx = done_tx.clone();
                std::thread::spawn(move || {
                    let _ = poller.poll_recipe(&recipe, source);
                    activity.poll_ended(&recipe.id);
                    active.fetch_sub(1, Ordering::SeqCst);
                    let _ = tx.send(recipe.id.clone());
                    poller.h.wakes.scheduler.notify();
                });
            }
            self.publish_plan(&slots, &paused);
            self.start_due_retries();
            if last_prune.is_none_or(|t| t.elapsed() >= PRUNE_EVERY) {
                last_prune = Some(Instant::now());
                self.expire_logs();
            }
            let next_poll = slots
                .iter()
                .filter(|(id, sl)| !sl.busy && !paused.contains(*id))
                .map(|(_, sl)| sl.due.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(MAX_SLEEP);
            let next_retry = p
                .queue
                .store()
                .next_retry_at(store::now())
                .ok()
                .flatten()
                .map(|t| Duration::from_secs((t - store::now()).max(0) as u64))
                .unwrap_or(MAX_SLEEP);
            let wait = next_poll
                .min(next_retry)
                .clamp(Duration::from_millis(50), MAX_SLEEP);
            p.wakes.scheduler.wait(seen, wait);
        }
    }

    /// Publishes when each scheduled recipe is next polled, for `/status`.
    fn publish_plan(&self, slots: &BTreeMap<String, Slot>, paused: &BTreeSet<String>) {
        let now = Instant::now();
        let unix = store::now();
        let plan: BTreeMap<String, i64> = slots
            .iter()
            .filter(|(id, sl)| !sl.busy && !paused.contains(*id))
            .map(|(id, sl)| {
                let ahead = sl.due.saturating_duration_since(now).as_secs() as i64;
                (id.clone(), unix + ahead)
            })
            .collect();
        self.schedule.set_plan(plan);
    }

    /// Removes the log files of builds that finished longer ago than
    /// `[build].log_retention`.
    fn expire_logs(&self) {
        let p = &self.h;
        let keep = p.settings.cfg().build.log_retention;
        let before = store::now() - keep.as_secs() as i64;
        let logs = p.dirs.logs();
        match p.queue.store().expire_logs(before) {
            Ok(paths) => {
                let mut removed = 0;
                for p in &paths {
                    let p = std::path::Path::new(p);
                    // Only files the manager named, under its own logs.
                    if p.starts_with(&logs) && std::fs::remove_file(p).is_ok() {
                        removed += 1;
                    }
                }
                if removed > 0 {
                    p.log.info(
                        "old build logs removed",
                        &[
                            ("count", n(removed)),
                            ("older_than", s(peipkg_cli::format_duration(keep))),
                        ],
                    );
                }
            }
            Err(e) => p.log.error("expire build logs failed", &[("err", s(e))]),
        }
    }

    /// Queues a retry for every failure whose window has ended.
    pub(crate) fn start_due_retries(&self) {
        let p = &self.h;
        let due = match p.queue.store().due_retries(store::now()) {
            Ok(d) => d,
            Err(e) => {
                p.log.error("read failures failed", &[("err", s(e))]);
                return;
            }
        };
        let roster = p.settings.roster();
        for f in due {
            let Some(recipe) = roster.get(&f.recipe).filter(|r| r.upstream.is_some()) else {
                if !roster.broken.contains_key(&f.recipe) {
                    let _ = p.queue.store().clear_failure(&f.recipe, &f.version);
                }
                continue;
            };
            let git = recipe
                .upstream
                .as_ref()
                .map(|u| u.git.clone())
                .unwrap_or_default();
            let nb = NewBuild {
                recipe: f.recipe.clone(),
                version: f.version.clone(),
                tag: f.tag.clone(),
                git,
                tag_commit: String::new(),
                source: "retry".into(),
            };
            if let Ok(Some(id)) = p.queue.store().enqueue(&nb, store::now()) {
                p.log.info(
                    "retrying failed build",
                    &[
                        ("recipe", s(&f.recipe)),
                        ("version", s(&f.version)),
                        ("failures", n(f.failures)),
                        ("id", n(id)),
                    ],
                );
                p.wakes.workers.notify();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_stays_within_its_band_and_varies() {
        let base = Duration::from_secs(3600);
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200u64 {
            let d = with_jitter(base, 10, i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            assert!(d >= base && d <= base.mul_f64(1.1), "{d:?}");
            seen.insert(d.as_secs());
        }
        assert!(seen.len() > 50, "jitter barely varies: {}", seen.len());
        assert_eq!(with_jitter(base, 0, 42), base);
    }
}
