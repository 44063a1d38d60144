//! Daemon mode: scheduler, workers, publisher, uploader and HTTP server,
//! until SIGTERM/SIGINT.
//!
//! Shutdown drains: no new builds start, running builds may finish (up to
//! `[build].drain_timeout`, after which they are stopped and re-queued for
//! the next start), finished builds are published, and the process exits
//! 0. A second signal stops running builds at once. The reference
//! SIGKILLed whatever was running, including a publish writing the
//! repository in place.

use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::farm::Farm;
use crate::log::s;

pub fn run_daemon(farm: &Arc<Farm>) -> Result<()> {
    farm.ensure_repo()?;
    farm.requeue_interrupted()?;
    let mut signals = Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    let handle = signals.handle();

    let http = crate::http::start(farm)?;

    let workers_done = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..farm.cfg.build.workers)
        .map(|_| {
            let f = Arc::clone(farm);
            std::thread::spawn(move || f.worker_loop(None))
        })
        .collect();
    let publisher = {
        let f = Arc::clone(farm);
        let done = Arc::clone(&workers_done);
        std::thread::spawn(move || f.publisher_loop(&done))
    };
    let uploader = {
        let f = Arc::clone(farm);
        std::thread::spawn(move || f.uploader_loop())
    };
    let scheduler = {
        let f = Arc::clone(farm);
        std::thread::spawn(move || f.scheduler_loop())
    };

    let signal_thread = {
        let f = Arc::clone(farm);
        std::thread::spawn(move || {
            for sig in signals.forever() {
                match sig {
                    SIGHUP => {
                        f.log.info("received SIGHUP; reloading recipes", &[]);
                        f.reload();
                    }
                    _ if f.is_stopping() => {
                        f.log
                            .warn("second stop signal; stopping running builds now", &[]);
                        f.cancel.cancel();
                    }
                    _ => {
                        let running = f.running_count();
                        f.log.info(
                            "shutting down: draining running builds",
                            &[
                                ("running", crate::log::n(running)),
                                (
                                    "drain_timeout",
                                    s(peipkg_cli::format_duration(f.cfg.build.drain_timeout)),
                                ),
                            ],
                        );
                        f.stop();
                        let f2 = Arc::clone(&f);
                        std::thread::spawn(move || {
                            let deadline = std::time::Instant::now() + f2.cfg.build.drain_timeout;
                            while std::time::Instant::now() < deadline {
                                if f2.running_count() == 0 {
                                    return;
                                }
                                std::thread::sleep(Duration::from_millis(200));
                            }
                            if f2.running_count() > 0 {
                                f2.log.warn("drain timeout reached; stopping running builds (they will be re-queued)", &[]);
                                f2.cancel.cancel();
                            }
                        });
                    }
                }
            }
        })
    };

    for w in workers {
        let _ = w.join();
    }
    workers_done.store(true, Ordering::SeqCst);
    farm.wake_publisher.notify();
    let _ = publisher.join();
    let _ = uploader.join();
    let _ = scheduler.join();
    if let Some(h) = http {
        h.stop();
    }
    handle.close();
    let _ = signal_thread.join();
    Ok(())
}
