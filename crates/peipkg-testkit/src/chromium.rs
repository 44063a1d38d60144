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

/// The opt-out: with `PEIPKG_SKIP_CHROMIUM=1` a missing browser skips the
/// page tests instead of failing them.
pub const SKIP_VAR: &str = "PEIPKG_SKIP_CHROMIUM";

/// The file (under the target's `tmp/`) where skipped tests are recorded;
/// `scripts/test.sh` prints it in the suite's summary, so a skip is never
/// swallowed by the test harness's capture.
pub const SKIPPED_FILE: &str = "skipped-tests.txt";

/// The browser for test `test`, or `None` when it is missing and the
/// opt-out is set (the skip is then recorded in
/// `<target_tmp>/skipped-tests.txt`). A missing browser without the
/// opt-out fails the test. `target_tmp` is the test's
/// `env!("CARGO_TARGET_TMPDIR")`.
pub fn require(test: &str, target_tmp: &Path) -> Option<PathBuf> {
    match decide(test, find(), std::env::var_os(SKIP_VAR), target_tmp) {
        Ok(found) => found,
        Err(msg) => panic!("{msg}"),
    }
}

/// [`require`] with its inputs explicit, so the rule can be tested.
pub fn decide(
    test: &str,
    found: Option<PathBuf>,
    skip: Option<std::ffi::OsString>,
    target_tmp: &Path,
) -> Result<Option<PathBuf>, String> {
    if found.is_some() {
        return Ok(found);
    }
    if skip.as_deref() != Some(std::ffi::OsStr::new("1")) {
        return Err(format!(
            "{test}: chromium not found (install it: apt-get install -y chromium, or set \
             PEIPKG_CHROMIUM to the browser); to skip the headless-browser tests instead, \
             set {SKIP_VAR}=1"
        ));
    }
    let line = format!("{test}: skipped, chromium not found ({SKIP_VAR}=1)\n");
    eprint!("SKIPPED {line}");
    let _ = std::fs::create_dir_all(target_tmp);
    use std::io::Write;
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target_tmp.join(SKIPPED_FILE))
        .and_then(|mut f| f.write_all(line.as_bytes()));
    Ok(None)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_browser_fails_unless_the_opt_out_is_set() {
        let t = std::env::temp_dir().join(format!("peipkg-testkit-{}", std::process::id()));
        let err = decide("page_test", None, None, &t).unwrap_err();
        assert!(err.contains("PEIPKG_SKIP_CHROMIUM=1"), "{err}");
        assert!(decide("page_test", None, Some("0".into()), &t).is_err());
        assert_eq!(decide("page_test", None, Some("1".into()), &t), Ok(None));
        let recorded = std::fs::read_to_string(t.join(SKIPPED_FILE)).unwrap();
        assert_eq!(
            recorded,
            "page_test: skipped, chromium not found (PEIPKG_SKIP_CHROMIUM=1)\n"
        );
        let found = Some(PathBuf::from("/usr/bin/chromium"));
        assert_eq!(decide("page_test", found.clone(), None, &t), Ok(found));
        let _ = std::fs::remove_dir_all(&t);
    }
}
