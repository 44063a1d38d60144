//! Headless Chromium for page tests.
//!
//! The flags are the ones this machine needs: no sandbox (tests run as
//! root), and no background networking, component updates or sync, which
//! would otherwise try the closed network at every start.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The browser to use: `PEIPKG_CHROMIUM`, else the first of chromium,
/// chromium-browser or google-chrome on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("PEIPKG_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let path = std::env::var("PATH").unwrap_or_default();
    path.split(':')
        .flat_map(|dir| {
            ["chromium", "chromium-browser", "google-chrome"].map(|name| Path::new(dir).join(name))
        })
        .find(|c| c.is_file())
}

/// Runs headless Chromium on `url` with a fresh profile in `profile` and
/// the `extra` flags (`--dump-dom`, `--screenshot=...`), and returns its
/// stdout (the DOM, for `--dump-dom`). Panics after 90 seconds.
pub fn run(bin: &Path, profile: &Path, extra: &[&str], url: &str) -> String {
    let mut child = Command::new(bin)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().expect("wait for chromium").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish loading {url} within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().expect("chromium's stdout reader")
}
