//! Daemon mode: scheduler, workers, publisher, uploader and HTTP server,
//! until SIGTERM/SIGINT.
//!
//! Shutdown drains: no new builds start, running builds may finish (up to
//! `[build].drain_timeout`, after which they are stopped and re-queued for
//! the next start), finished builds are published, and the process exits
//! 0. A second signal stops running builds at once. The reference
//! SIGKILLed whatever was running, including a publish writing the
//! repository in place.
//!
//! The signal handlers are installed by the caller before anything else
//! happens (config load, repository init), so a SIGHUP or SIGTERM that
//! arrives during start-up is acted on once the farm runs; the reference
//! died of a SIGHUP received before its handler existed.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;
use peipkg_os::signals::{Signals, SIGHUP, SIGUSR1};

use crate::farm::Farm;
use crate::log::s;
use crate::notify::notify;

pub(crate) fn run_daemon(farm: &Arc<Farm>, mut signals: Signals) -> Result<()> {
    farm.prepare()?;
    let handle = signals.handle();

    let http = crate::http::start(farm)?;

    let workers_done = Arc::new(AtomicBool::new(false));
    farm.ensure_workers();
    let publisher = {
        let p = farm.publisher();
        let done = Arc::clone(&workers_done);
        std::thread::spawn(move || p.run(&done))
    };
    let uploader = {
        let u = farm.uploader();
        std::thread::spawn(move || u.run())
    };
    let scheduler = {
        let s = farm.scheduler();
        std::thread::spawn(move || s.run())
    };

    let signal_thread = {
        let f = Arc::clone(farm);
        std::thread::spawn(move || {
            for sig in signals.forever() {
                match sig {
                    SIGUSR1 => {
                        // An operator command changed the database.
                        f.wakes().scheduler.notify();
                        f.wakes().workers.notify();
                    }
                    SIGHUP if f.shutdown().is_stopping() => {}
                    SIGHUP => {
                        // The reference's message, kept for operators'
                        // alerts; the config is reloaded too.
                        f.log().info(
                            "received SIGHUP; reloading recipes",
                            &[("config", crate::log::b(true))],
                        );
                        f.reload();
                    }
                    _ if f.shutdown().is_stopping() => {
                        f.log()
                            .warn("second stop signal; stopping running builds now", &[]);
                        f.shutdown().cancel_now();
                    }
                    _ => begin_shutdown(&f),
                }
            }
        })
    };
    notify(&format!(
        "READY=1\nSTATUS=watching {} recipes",
        farm.settings().roster().watched().count()
    ));

    farm.join_workers();
    workers_done.store(true, Ordering::SeqCst);
    farm.wakes().publisher.notify();
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

fn begin_shutdown(f: &Farm) {
    notify("STOPPING=1");
    let running = f.activity().running_count();
    let drain = f.settings().cfg().build.drain_timeout;
    f.log().info(
        "shutting down: draining running builds",
        &[
            ("running", crate::log::n(running)),
            ("drain_timeout", s(peipkg_cli::format_duration(drain))),
        ],
    );
    let shutdown = Arc::clone(f.shutdown());
    shutdown.stop();
    let activity = Arc::clone(f.activity());
    let log = f.log().clone();
    std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + drain;
        while std::time::Instant::now() < deadline {
            if activity.running_count() == 0 {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if activity.running_count() > 0 {
            log.warn(
                "drain timeout reached; stopping running builds (they will be re-queued)",
                &[],
            );
            shutdown.cancel_now();
        }
    });
}
