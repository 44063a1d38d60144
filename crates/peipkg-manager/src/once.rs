//! `--once`: one sweep for cron and CI. Initialise the repository if it is
//! missing, poll every recipe, build, publish and upload everything new,
//! and say (with the exit code) whether all of it worked. The reference
//! exited 0 even when every build failed.

use std::collections::BTreeSet;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use crate::farm::{Farm, RunReport, UploadOutcome};
use crate::log::s;
use crate::roster::Recipe;

pub(crate) fn run_once(farm: &Arc<Farm>) -> RunReport {
    farm.report().collect();
    if let Err(e) = farm.prepare() {
        farm.log()
            .error("manager exited with error", &[("err", s(format!("{e:#}")))]);
        let mut r = farm.report().lock().clone();
        r.publish_failures
            .push(("repository".into(), format!("{e:#}")));
        return r;
    }
    {
        let roster = farm.settings().roster();
        let mut rep = farm.report().lock();
        for (id, p) in &roster.broken {
            rep.broken_recipes.push((id.clone(), p.to_string()));
        }
    }
    // Failures whose window ended are due again; the poll finds most of
    // them, this catches tags that were since deleted upstream.
    farm.scheduler().start_due_retries();

    let cfg = farm.settings().cfg();
    let polls_done = AtomicBool::new(false);
    let workers_done = AtomicBool::new(false);
    let roster = farm.settings().roster();
    let (recipes, paused) = sweep_list(farm, &roster);
    if !paused.is_empty() {
        farm.log().info(
            "paused recipes not polled",
            &[("recipes", s(paused.join(",")))],
        );
    }
    let next = AtomicUsize::new(0);
    let (worker, publisher, poller) = (farm.worker(), farm.publisher(), farm.poller());
    let shutdown = farm.shutdown();
    std::thread::scope(|sc| {
        let workers: Vec<_> = (0..cfg.build.workers)
            .map(|_| sc.spawn(|| worker.run(None, Some(&polls_done))))
            .collect();
        let publisher = sc.spawn(|| publisher.run(&workers_done));
        let pollers: Vec<_> = (0..cfg.git.poll_concurrency.min(recipes.len().max(1)))
            .map(|_| {
                sc.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(r) = recipes.get(i) else { break };
                    if shutdown.is_stopping() {
                        break;
                    }
                    let _ = poller.poll_recipe(r, "poll");
                })
            })
            .collect();
        for p in pollers {
            let _ = p.join();
        }
        polls_done.store(true, Ordering::SeqCst);
        farm.wakes().workers.notify();
        for w in workers {
            let _ = w.join();
        }
        workers_done.store(true, Ordering::SeqCst);
        farm.wakes().publisher.notify();
        let _ = publisher.join();
    });

    let attempts = cfg.upload.once_attempts;
    let uploader = farm.uploader();
    for attempt in 1..=attempts {
        match uploader.upload_step(true) {
            // A remote rclone does not know will not appear by waiting.
            Ok(UploadOutcome::Failed(_, configuration)) if configuration => break,
            Ok(UploadOutcome::Failed(..)) if attempt < attempts && !shutdown.is_stopping() => {
                let delay = crate::upload::retry_delay(
                    attempt as i64,
                    cfg.upload.retry_min,
                    cfg.upload.retry_max,
                );
                std::thread::sleep(delay);
            }
            Ok(_) => break,
            Err(e) => {
                farm.report().lock().upload = Some(Err(format!("{e:#}")));
                break;
            }
        }
    }
    // Builds still queued mean the sweep was interrupted.
    let left = farm.queue().store().queued().map(|q| q.len()).unwrap_or(0);
    let mut report = farm.report().lock().clone();
    if left > 0 {
        report.build_failures.push((
            "queue".into(),
            format!("{left} build(s) left queued (interrupted)"),
        ));
    }
    report
}

/// The recipes a sweep polls: every watched one, plus those an operator
/// asked for (the only way a recipe without `[watch]` is polled), minus
/// paused ones (their requests stay pending).
fn sweep_list<'r>(
    farm: &Farm,
    roster: &'r crate::roster::Roster,
) -> (Vec<&'r Recipe>, Vec<String>) {
    let mut st = farm.queue().store();
    let paused: BTreeSet<String> = st
        .paused()
        .map(|p| p.into_iter().map(|p| p.recipe).collect())
        .unwrap_or_default();
    let asked: Vec<String> = st
        .pending_poll_requests()
        .unwrap_or_default()
        .into_iter()
        .filter(|id| !paused.contains(id))
        .collect();
    // Borrowed: a copy of every recipe was megabytes at 5,000 recipes.
    let mut list: Vec<&Recipe> = roster
        .watched()
        .filter(|r| !paused.contains(&r.id))
        .collect();
    for id in &asked {
        match roster.get(id) {
            Some(r) if r.upstream.is_some() => {
                if !list.iter().any(|x| &x.id == id) {
                    list.push(r);
                }
            }
            _ => farm.log().warn(
                "poll requested for a recipe that has no [upstream]; ignored",
                &[("recipe", s(id))],
            ),
        }
    }
    // Taken only now that the sweep will act on them.
    if !asked.is_empty() {
        if let Ok(all) = st.take_poll_requests() {
            for id in all.into_iter().filter(|id| paused.contains(id)) {
                let _ = st.request_poll(&id, crate::store::now());
            }
        }
    }
    let skipped: Vec<String> = roster
        .watched()
        .filter(|r| paused.contains(&r.id))
        .map(|r| r.id.clone())
        .collect();
    (list, skipped)
}
