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
    /// rclone's config file (`--config`), when the farm's config names one.
    pub config: Option<PathBuf>,
    pub remote: String,
    pub timeout: Duration,
    pub log: PathBuf,
    pub cache_control: bool,
}

/// `Cache-Control` for package files, and for everything else.
pub const IMMUTABLE: &str = "Cache-Control: public, max-age=31536000, immutable";
pub const SHORT: &str = "Cache-Control: public, max-age=60";

/// A failed pass. `cause` is rclone's own explanation (its last `ERROR`
/// or `CRITICAL` line), so the summary says why and not only the exit
/// status.
#[derive(Debug, thiserror::Error)]
#[error("rclone upload ({pass}): {}{}", source.reason(), cause.as_deref().map(|c| format!(": {c}")).unwrap_or_default())]
pub struct UploadError {
    pub pass: &'static str,
    pub source: RunError,
    pub cause: Option<String>,
}

impl UploadError {
    /// True when retrying cannot help until someone edits a config: the
    /// remote is not defined, or rclone's config file is missing.
    pub fn is_configuration(&self) -> bool {
        self.cause.as_deref().is_some_and(is_configuration_cause)
    }
}

/// rclone messages that mean the remote itself is misconfigured.
pub fn is_configuration_cause(cause: &str) -> bool {
    [
        "didn't find section in config file",
        "config file not found",
        "unknown backend",
        "couldn't find type field",
    ]
    .iter()
    .any(|m| cause.contains(m))
}

/// rclone's explanation in `text` (what one invocation wrote): the last
/// `CRITICAL` or `ERROR` line, else the last line that is not a `NOTICE`
/// (rclone prints `Failed to create file system ...` without a level), without the
/// `2024/01/02 03:04:05 ` time prefix.
pub fn cause_line(text: &str) -> Option<String> {
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let chatter =
        |l: &&&str| l.contains("NOTICE:") || l.contains(" INFO ") || l.contains(" DEBUG ");
    let pick = lines
        .iter()
        .rev()
        .find(|l| l.contains("CRITICAL") || l.contains("ERROR"))
        .or_else(|| lines.iter().rev().find(|l| !chatter(l)))
        .or(lines.last())?;
    Some(strip_time(pick).to_string())
}

fn strip_time(line: &str) -> &str {
    let b = line.as_bytes();
    // `YYYY/MM/DD HH:MM:SS ` is 20 bytes.
    if b.len() > 20
        && b[4] == b'/'
        && b[7] == b'/'
        && b[13] == b':'
        && b[..4].iter().all(u8::is_ascii_digit)
    {
        line[20..].trim_start()
    } else {
        line
    }
}

/// What was appended to `log` since it was `from` bytes long.
fn log_since(log: &Path, from: u64) -> String {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(log) else {
        return String::new();
    };
    if f.seek(SeekFrom::Start(from)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(1 << 20).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

fn log_len(log: &Path) -> u64 {
    std::fs::metadata(log).map(|m| m.len()).unwrap_or(0)
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
    /// `rclone [--config FILE]` with this upload's timeout.
    pub fn base(&self, timeout: Duration) -> Cmd {
        let cmd = Cmd::new(&self.program, timeout);
        match &self.config {
            Some(c) => cmd.arg("--config").arg(c),
            None => cmd,
        }
    }

    /// Runs one rclone command whose output goes to the upload log, and
    /// on failure picks rclone's cause line out of what it wrote.
    fn run_logged(
        &self,
        pass: &'static str,
        cmd: &Cmd,
        cancel: Option<&Cancel>,
    ) -> Result<(), UploadError> {
        note(&self.log, &cmd.display());
        let from = log_len(&self.log);
        process::run(cmd, cancel).map(|_| ()).map_err(|source| {
            let cause = match &source {
                RunError::Failed { .. } => cause_line(&log_since(&self.log, from)),
                _ => None,
            };
            UploadError {
                pass,
                source,
                cause,
            }
        })
    }

    fn copy(&self, from: &Path, to: &str, filters: &[&str], header: &str) -> Cmd {
        let mut cmd = self
            .base(self.timeout)
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
            self.run_logged(pass, &cmd, cancel)?;
        }
        // What clients read first must now be on the remote exactly as we
        // have it (compared by hash where the remote has one).
        let check = self.check_cmd(snapshot);
        self.run_logged("verify", &check, cancel)
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
        self.base(self.timeout)
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
    fn cause_is_rclones_last_error_line_without_its_time() {
        let log = "2024/01/02 03:04:05 NOTICE: something\n\
                   2024/01/02 03:04:05 CRITICAL: Failed to create file system for \"nosuch:x\": didn't find section in config file\n";
        let c = cause_line(log).unwrap();
        assert_eq!(
            c,
            "CRITICAL: Failed to create file system for \"nosuch:x\": didn't find section in config file"
        );
        assert!(is_configuration_cause(&c));
        assert_eq!(cause_line("\n\n"), None);
        let unlevelled = "2026/12/06 02:25:05 NOTICE: Config file \"/x\" not found - using defaults\n\
                          2026/12/06 02:25:05 Failed to create file system for \"nosuch:\": didn't find section in config file\n\
                          2026/12/06 02:25:05 NOTICE: trailing chatter\n";
        assert!(cause_line(unlevelled)
            .unwrap()
            .starts_with("Failed to create file system"));
        assert_eq!(cause_line("plain words\n").as_deref(), Some("plain words"));
    }

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
