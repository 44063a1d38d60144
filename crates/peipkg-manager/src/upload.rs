//! Uploading the repository state with `rclone`, in an order that never
//! lets a client see an index naming a package that is not there yet:
//! first the packages, then everything else except the indexes and the
//! descriptor (keys, sidecars, the browse site), then `index/`, then
//! `repo.json` and its signature last. Objects are copied, never deleted:
//! a repository keeps every published version, and the remote may hold
//! files we did not put there.
//!
//! Each pass sets `Cache-Control` as the hosting guide recommends:
//! packages never change once published (a year, immutable); everything
//! else changes with every publish (a minute).
//!
//! The upload runs from a hard-linked snapshot of the live state, so a
//! publish that swaps in a new state mid-upload cannot mix two states.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::pipeline::fetch::note;
use crate::process::{self, Cancel, Cmd, RunError, Sink};

#[derive(Debug, Clone)]
pub struct Rclone {
    pub program: String,
    pub remote: String,
    pub timeout: Duration,
    pub log: PathBuf,
    pub cache_control: bool,
}

/// `Cache-Control` for package files, and for everything else.
pub const IMMUTABLE: &str = "Cache-Control: public, max-age=31536000, immutable";
pub const SHORT: &str = "Cache-Control: public, max-age=60";

#[derive(Debug, thiserror::Error)]
#[error("rclone upload ({pass}): {}", source.reason())]
pub struct UploadError {
    pub pass: &'static str,
    pub source: RunError,
}

/// `remote` joined with a sub-path (`r2:bucket` + `index`).
pub fn remote_join(remote: &str, sub: &str) -> String {
    if remote.ends_with(':') || remote.ends_with('/') {
        format!("{remote}{sub}")
    } else {
        format!("{remote}/{sub}")
    }
}

impl Rclone {
    fn copy(&self, from: &Path, to: &str, filters: &[&str], header: &str) -> Cmd {
        let mut cmd = Cmd::new(&self.program, self.timeout)
            .arg("copy")
            .arg(from)
            .arg(to)
            .args(filters)
            // Our own retry loop handles failures; rclone's would only
            // multiply the time a dead remote takes to report.
            .args(["--retries", "1", "--low-level-retries", "3"]);
        if self.cache_control {
            cmd = cmd.arg("--header-upload").arg(header);
        }
        cmd.stdout(Sink::File(self.log.clone()))
            .stderr(Sink::File(self.log.clone()))
    }

    /// Uploads `snapshot` in four ordered passes.
    pub fn upload(&self, snapshot: &Path, cancel: Option<&Cancel>) -> Result<(), UploadError> {
        let passes: [(&'static str, Cmd); 4] = [
            (
                "packages",
                self.copy(
                    snapshot,
                    &self.remote,
                    &["--include", "*.peipkg"],
                    IMMUTABLE,
                ),
            ),
            (
                "objects",
                self.copy(
                    snapshot,
                    &self.remote,
                    &[
                        "--exclude",
                        "*.peipkg",
                        "--exclude",
                        "/repo.json",
                        "--exclude",
                        "/repo.json.sig",
                        "--exclude",
                        "/index/**",
                    ],
                    SHORT,
                ),
            ),
            (
                "indexes",
                self.copy(
                    &snapshot.join("index"),
                    &remote_join(&self.remote, "index"),
                    &[],
                    SHORT,
                ),
            ),
            (
                "descriptor",
                self.copy(
                    snapshot,
                    &self.remote,
                    &["--include", "/repo.json", "--include", "/repo.json.sig"],
                    SHORT,
                ),
            ),
        ];
        note(
            &self.log,
            &format!("# upload {}", crate::pipeline::publish::now_rfc3339()),
        );
        for (pass, cmd) in passes {
            note(&self.log, &cmd.display());
            process::run(&cmd, cancel).map_err(|source| UploadError { pass, source })?;
        }
        // What clients read first must now be on the remote exactly as we
        // have it (compared by hash where the remote has one).
        let check = self.check_cmd(snapshot);
        note(&self.log, &check.display());
        process::run(&check, cancel).map_err(|source| UploadError {
            pass: "verify",
            source,
        })?;
        Ok(())
    }

    /// Whether the remote's descriptor and indexes are exactly `state`'s
    /// (`rclone check --one-way` on them). At start this tells whether a
    /// killed manager left the remote behind the live state.
    pub fn matches(&self, state: &Path) -> Result<bool, RunError> {
        let check = self.check_cmd(state);
        note(&self.log, &check.display());
        Ok(process::run_status(&check, None)?.status.success())
    }

    fn check_cmd(&self, state: &Path) -> Cmd {
        Cmd::new(&self.program, self.timeout)
            .args(["check", "--one-way"])
            .arg(state)
            .arg(&self.remote)
            .args([
                "--include",
                "/repo.json",
                "--include",
                "/repo.json.sig",
                "--include",
                "/index/**",
            ])
            .stdout(Sink::File(self.log.clone()))
            .stderr(Sink::File(self.log.clone()))
    }
}

/// The wait before upload attempt `failures + 1`: doubling from `min`,
/// capped at `max`.
pub fn retry_delay(failures: i64, min: Duration, max: Duration) -> Duration {
    let shift = (failures.max(1) - 1).min(20) as u32;
    min.saturating_mul(1 << shift).min(max)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_paths_join_like_rclone_expects() {
        assert_eq!(remote_join("r2:bucket", "index"), "r2:bucket/index");
        assert_eq!(remote_join("local:", "index"), "local:index");
        assert_eq!(remote_join("/srv/www/", "index"), "/srv/www/index");
    }

    #[test]
    fn retry_delay_doubles_and_caps() {
        let min = Duration::from_secs(30);
        let max = Duration::from_secs(600);
        let d: Vec<u64> = (1..=7)
            .map(|n| retry_delay(n, min, max).as_secs())
            .collect();
        assert_eq!(d, vec![30, 60, 120, 240, 480, 600, 600]);
    }
}
