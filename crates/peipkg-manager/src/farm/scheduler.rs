//! The poll scheduler: every watched recipe is polled at start, then at its
//! interval plus a random spread (so a farm with many recipes does not hit
//! one host with all of them at once), with a bound on how many polls run
//! together. It also starts retries when a failure's backoff ends, rather
//! than waiting for a poll to stumble on them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::Farm;
use crate::log::{n, s};
use crate::roster::load_roster;
use crate::store::{self, NewBuild};

/// `interval` stretched by a random 0..=`percent`%.
pub fn with_jitter(interval: Duration, percent: u32, seed: u64) -> Duration {
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

struct Slot {
    due: Instant,
    digest: String,
}

impl Farm {
    pub fn scheduler_loop(self: &Arc<Self>) {
        let mut slots: BTreeMap<String, Slot> = BTreeMap::new();
        let active = Arc::new(AtomicUsize::new(0));
        let (done_tx, done_rx) = mpsc::channel::<String>();
        while !self.is_stopping() {
            let seen = self.wake_scheduler.seen();
            let roster = self.roster();
            let now = Instant::now();
            // New or changed recipes are polled now; removed ones dropped.
            slots.retain(|id, _| roster.get(id).is_some_and(|r| r.upstream.is_some()));
            for r in roster.watched() {
                let changed = slots.get(&r.id).is_none_or(|sl| sl.digest != r.digest);
                if changed {
                    slots.insert(
                        r.id.clone(),
                        Slot {
                            due: now,
                            digest: r.digest.clone(),
                        },
                    );
                }
            }
            // Finished polls set their next time.
            while let Ok(id) = done_rx.try_recv() {
                if let (Some(slot), Some(r)) = (slots.get_mut(&id), roster.get(&id)) {
                    let every = r.poll_interval(self.cfg.default_interval);
                    slot.due =
                        Instant::now() + with_jitter(every, self.cfg.git.jitter_percent, seed(&id));
                }
            }
            // Webhook requests jump the queue.
            let asked: Vec<String> = self
                .poll_now
                .lock()
                .map(|mut p| std::mem::take(&mut *p).into_iter().collect())
                .unwrap_or_default();
            for id in asked {
                if let Some(slot) = slots.get_mut(&id) {
                    slot.due = now;
                }
            }
            let mut due: Vec<(&String, &mut Slot)> =
                slots.iter_mut().filter(|(_, sl)| sl.due <= now).collect();
            due.sort_by_key(|(_, sl)| sl.due);
            for (id, slot) in due {
                if active.load(Ordering::SeqCst) >= self.cfg.git.poll_concurrency {
                    break;
                }
                let busy = self.polling.lock().map(|p| p.contains(id)).unwrap_or(true);
                if busy {
                    continue;
                }
                let Some(recipe) = roster.get(id).cloned() else {
                    continue;
                };
                // Far away until the poll reports back.
                slot.due = now + Duration::from_secs(365 * 24 * 3600);
                if let Ok(mut p) = self.polling.lock() {
                    p.insert(id.clone());
                }
                active.fetch_add(1, Ordering::SeqCst);
                let farm = Arc::clone(self);
                let active = Arc::clone(&active);
                let tx = done_tx.clone();
                std::thread::spawn(move || {
                    let _ = farm.poll_recipe(&recipe, "poll");
                    if let Ok(mut p) = farm.polling.lock() {
                        p.remove(&recipe.id);
                    }
                    active.fetch_sub(1, Ordering::SeqCst);
                    let _ = tx.send(recipe.id.clone());
                    farm.wake_scheduler.notify();
                });
            }
            self.start_due_retries();
            let next_poll = slots
                .values()
                .map(|sl| sl.due.saturating_duration_since(Instant::now()))
                .min()
                .unwrap_or(Duration::from_secs(60));
            let next_retry = self
                .store()
                .next_retry_at()
                .ok()
                .flatten()
                .map(|t| Duration::from_secs((t - store::now()).max(0) as u64))
                .unwrap_or(Duration::from_secs(60));
            let wait = next_poll
                .min(next_retry)
                .clamp(Duration::from_millis(50), Duration::from_secs(60));
            self.wake_scheduler.wait(seen, wait);
        }
    }

    /// Queues a retry for every failure whose window has ended.
    pub fn start_due_retries(&self) {
        let due = match self.store().due_retries(store::now()) {
            Ok(d) => d,
            Err(e) => {
                self.log.error("read failures failed", &[("err", s(e))]);
                return;
            }
        };
        let roster = self.roster();
        for f in due {
            let Some(recipe) = roster.get(&f.recipe).filter(|r| r.upstream.is_some()) else {
                if !roster.broken.contains_key(&f.recipe) {
                    let _ = self.store().clear_failure(&f.recipe, &f.version);
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
            if let Ok(Some(id)) = self.store().enqueue(&nb, store::now()) {
                self.log.info(
                    "retrying failed build",
                    &[
                        ("recipe", s(&f.recipe)),
                        ("version", s(&f.version)),
                        ("failures", n(f.failures)),
                        ("id", n(id)),
                    ],
                );
                self.wake_workers.notify();
            }
        }
    }

    /// SIGHUP: re-read the recipes; a directory that cannot be read keeps
    /// the roster we have.
    pub fn reload(&self) {
        match load_roster(&self.cfg.recipes_dir) {
            Ok(r) => {
                super::startup::log_roster(&self.log, &r);
                let count = r.recipes.len();
                self.set_roster(r);
                self.log.info(
                    "recipes reloaded",
                    &[
                        ("count", n(count)),
                        ("dir", s(self.cfg.recipes_dir.display())),
                    ],
                );
                self.wake_scheduler.notify();
            }
            Err(e) => self.log.error(
                "reload: load roster failed; continuing with existing recipes",
                &[("err", s(e))],
            ),
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
