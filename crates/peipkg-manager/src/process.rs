//! Running child processes: never through a shell, always with a deadline.
//!
//! Every external program the farm drives (git, peipkg-build, peipkg-repo,
//! rclone) goes through [`run`]. Each child gets its own process group so a
//! timeout or a forced shutdown stops the whole tree (a build script's
//! compiler included), not just the direct child, and so a Ctrl-C at the
//! terminal reaches the daemon, which decides, rather than every child.
//! The reference had no timeouts at all: one hung clone stalled the farm.

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use peipkg_os::process::{signal_if, ChildSetup, Group, StopWith};

/// Most output we keep from a captured stream; the rest is dropped.
const CAPTURE_LIMIT: usize = 64 << 20;
/// How long a child has between SIGTERM and SIGKILL.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// A flag that asks running children to stop (forced shutdown).
#[derive(Clone, Default, Debug)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Self {
        Cancel::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst)
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Where a child's stdout or stderr goes.
#[derive(Debug, Clone)]
pub enum Sink {
    Null,
    /// Appended to this file (a build log).
    File(PathBuf),
    /// Kept in memory and returned.
    Capture,
}

#[derive(Debug, Clone)]
pub struct Cmd {
    pub program: OsString,
    pub args: Vec<OsString>,
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Duration,
    pub stdout: Sink,
    pub stderr: Sink,
}

impl Cmd {
    pub fn new(program: impl AsRef<OsStr>, timeout: Duration) -> Self {
        Cmd {
            program: program.as_ref().to_os_string(),
            args: Vec::new(),
            env: Vec::new(),
            cwd: None,
            timeout,
            stdout: Sink::Null,
            stderr: Sink::Capture,
        }
    }
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.args.push(a.as_ref().to_os_string());
        self
    }
    pub fn args<I, S>(mut self, it: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(it.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Self {
        self.env
            .push((k.as_ref().to_os_string(), v.as_ref().to_os_string()));
        self
    }
    pub fn cwd(mut self, dir: &Path) -> Self {
        self.cwd = Some(dir.to_path_buf());
        self
    }
    pub fn stdout(mut self, s: Sink) -> Self {
        self.stdout = s;
        self
    }
    pub fn stderr(mut self, s: Sink) -> Self {
        self.stderr = s;
        self
    }
    /// The command line as an operator would type it, for logs.
    pub fn display(&self) -> String {
        let mut out = shell_word(&self.program.to_string_lossy());
        for a in &self.args {
            out.push(' ');
            out.push_str(&shell_word(&a.to_string_lossy()));
        }
        out
    }
}

fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:@+,%^".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

#[derive(Debug)]
pub struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("{program}: cannot start: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("{program}: cannot open output file {path}: {source}")]
    Output {
        program: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{command}: timed out after {}", peipkg_cli::format_duration(*.after))]
    TimedOut { command: String, after: Duration },
    #[error("{command}: cancelled (shutting down)")]
    Cancelled { command: String },
    #[error("{command}: {status}{}", detail(.stderr))]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error("{command}: waiting for it failed: {source}")]
    Wait {
        command: String,
        source: std::io::Error,
    },
}

impl RunError {
    /// The message without the command name, for callers whose own
    /// message already names the command.
    pub fn reason(&self) -> String {
        match self {
            RunError::Spawn { source, .. } => format!("cannot start: {source}"),
            RunError::Output { path, source, .. } => {
                format!("cannot open output file {}: {source}", path.display())
            }
            RunError::TimedOut { after, .. } => {
                format!("timed out after {}", peipkg_cli::format_duration(*after))
            }
            RunError::Cancelled { .. } => "cancelled (shutting down)".into(),
            RunError::Failed { status, stderr, .. } => format!("{status}{}", detail(stderr)),
            RunError::Wait { source, .. } => format!("waiting for it failed: {source}"),
        }
    }
}

fn detail(stderr: &str) -> String {
    if stderr.is_empty() {
        String::new()
    } else {
        format!(": {stderr}")
    }
}

/// Describes an exit status the way Go's `os/exec` does (`exit status 1`,
/// `signal: killed`), which operators grep for.
pub fn describe_status(status: &ExitStatus) -> String {
    if let Some(code) = status.code() {
        format!("exit status {code}")
    } else if let Some(sig) = status.signal() {
        let name = match sig {
            libc::SIGKILL => "killed".to_string(),
            libc::SIGTERM => "terminated".to_string(),
            libc::SIGSEGV => "segmentation fault".to_string(),
            libc::SIGABRT => "aborted".to_string(),
            libc::SIGINT => "interrupt".to_string(),
            n => format!("signal {n}"),
        };
        format!("signal: {name}")
    } else {
        "unknown exit status".into()
    }
}

/// The last few lines of a child's stderr, for an error message.
pub fn tail(bytes: &[u8], lines: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let all: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let start = all.len().saturating_sub(lines);
    all[start..].join(" | ")
}

fn open_sink(program: &str, sink: &Sink) -> Result<(Stdio, bool), RunError> {
    match sink {
        Sink::Null => Ok((Stdio::null(), false)),
        Sink::Capture => Ok((Stdio::piped(), true)),
        Sink::File(path) => {
            let f = File::options()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|source| RunError::Output {
                    program: program.to_string(),
                    path: path.clone(),
                    source,
                })?;
            Ok((Stdio::from(f), false))
        }
    }
}

fn reader<R: Read + Send + 'static>(mut r: R) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut out = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match r.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if out.len() < CAPTURE_LIMIT {
                        let take = n.min(CAPTURE_LIMIT - out.len());
                        out.extend_from_slice(&buf[..take]);
                    }
                }
            }
        }
        out
    })
}

/// Runs a command to completion. A non-zero exit is an error carrying the
/// tail of stderr (when captured).
pub fn run(cmd: &Cmd, cancel: Option<&Cancel>) -> Result<Finished, RunError> {
    let fin = run_status(cmd, cancel)?;
    if fin.status.success() {
        Ok(fin)
    } else {
        Err(RunError::Failed {
            command: short_command(cmd),
            status: describe_status(&fin.status),
            stderr: tail(&fin.stderr, 3),
        })
    }
}

/// The program and its first argument (the subcommand), for messages.
fn short_command(cmd: &Cmd) -> String {
    let prog = Path::new(&cmd.program)
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| cmd.program.to_string_lossy().into_owned());
    match cmd.args.first() {
        Some(a) if !a.to_string_lossy().starts_with('-') => {
            format!("{prog} {}", a.to_string_lossy())
        }
        _ => prog,
    }
}

/// Like [`run`], but any exit status is returned rather than an error.
pub fn run_status(cmd: &Cmd, cancel: Option<&Cancel>) -> Result<Finished, RunError> {
    let program = cmd.program.to_string_lossy().into_owned();
    let (out, cap_out) = open_sink(&program, &cmd.stdout)?;
    let (err, cap_err) = open_sink(&program, &cmd.stderr)?;
    let mut c = Command::new(&cmd.program);
    c.args(&cmd.args)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    for (k, v) in &cmd.env {
        c.env(k, v);
    }
    if let Some(d) = &cmd.cwd {
        c.current_dir(d);
    }
    // If the manager dies without a chance to stop its children (SIGKILL,
    // OOM), they must not run on as orphans: an orphaned `peipkg-repo
    // publish` would still be writing `repo.next` while the restarted
    // manager cleans it up. A farm has a guardian process for that (see
    // [`record_groups_in`]); without one, the child asks for SIGTERM at its
    // parent's death itself. That costs a fork() instead of posix_spawn()
    // (see [`ChildSetup`]), a cost that grows with the farm: so the farm,
    // which spawns thousands of children, does without it.
    let setup = ChildSetup {
        parent_death_signal: (!GUARDED.load(Ordering::SeqCst)).then_some(libc::SIGTERM),
        ..ChildSetup::default()
    };
    let mut child = Group::spawn(&mut c, setup).map_err(|source| RunError::Spawn {
        program: program.clone(),
        source,
    })?;
    let _recorded = GroupRecord::new(child.id());
    crate::failpoint::hit_spawn(&cmd.display());
    let out_reader = if cap_out {
        child.take_stdout().map(reader)
    } else {
        None
    };
    let err_reader = if cap_err {
        child.take_stderr().map(reader)
    } else {
        None
    };
    let started = Instant::now();
    let ended = child.supervise(
        Duration::from_millis(100),
        StopWith::TermThenKill(KILL_GRACE),
        || {
            if started.elapsed() >= cmd.timeout {
                Some(RunError::TimedOut {
                    command: short_command(cmd),
                    after: cmd.timeout,
                })
            } else if cancel.is_some_and(Cancel::is_cancelled) {
                Some(RunError::Cancelled {
                    command: short_command(cmd),
                })
            } else {
                None
            }
        },
    );
    let ended = ended.map_err(|source| RunError::Wait {
        command: short_command(cmd),
        source,
    })?;
    let stdout = out_reader
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    let stderr = err_reader
        .map(|h| h.join().unwrap_or_default())
        .unwrap_or_default();
    if let Some(e) = ended.stopped {
        return Err(e);
    }
    Ok(Finished {
        status: ended.status,
        stdout,
        stderr,
    })
}

/// Where the process group of every running child is recorded (set once by
/// the farm at start: `<state_dir>/children`).
///
/// Each child leads its own process group, and every member of it started
/// after the leader; so a file per group, naming the leader's start time,
/// lets a sweep stop every process left in those groups (and nothing
/// older: a process in a group of that id that started before the recorded
/// leader is not ours). Two sweeps use the records: the guardian's, the
/// moment the manager dies, and the next manager's at start.
static GROUPS: OnceLock<PathBuf> = OnceLock::new();

/// Whether a guardian watches this process (children need no
/// `PR_SET_PDEATHSIG`, so they can be started with posix_spawn).
static GUARDED: AtomicBool = AtomicBool::new(false);

/// The write end of the guardian's stdin, held (never written) until this
/// process dies: then the guardian reads end-of-file.
static GUARD_PIPE: OnceLock<std::process::ChildStdin> = OnceLock::new();

/// The hidden subcommand that runs [`guard_main`].
pub const GUARD_SUBCOMMAND: &str = "__guard-children";

/// Starts recording children's process groups in `dir`, and starts the
/// guardian: a small process (this program, re-executed) that waits for
/// this one to die and then stops every recorded group it left, SIGTERM
/// first, SIGKILL after a grace period. It replaces `PR_SET_PDEATHSIG` in
/// each child, which forced fork() for every spawn (see [`run_status`]), and
/// it also reaches the children's children, which the signal did not. If
/// the guardian cannot start, children fall back to the signal.
pub fn record_groups_in(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let _ = GROUPS.set(dir.to_path_buf());
    if GUARD_PIPE.get().is_none() {
        if let Some(stdin) = start_guardian(dir) {
            let _ = GUARD_PIPE.set(stdin);
            GUARDED.store(true, Ordering::SeqCst);
        }
    }
    Ok(())
}

fn start_guardian(dir: &Path) -> Option<std::process::ChildStdin> {
    let exe = std::env::current_exe().ok()?;
    // Only `peipkg-manager` knows the subcommand (not a test harness or
    // another binary linking this library); elsewhere children keep the hook.
    if exe.file_name()? != "peipkg-manager" {
        return None;
    }
    let mut child = Command::new(exe)
        .arg(GUARD_SUBCOMMAND)
        .arg(std::process::id().to_string())
        // As the working directory, not an argument: the guardian's command
        // line names no farm path (tests look for processes by path).
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // A Ctrl-C at the terminal is for the manager to handle, not the
        // guardian.
        .process_group(0)
        .spawn()
        .ok()?;
    let stdin = child.stdin.take()?;
    // Reaped by nobody while we live; on our death init adopts it.
    std::mem::forget(child);
    Some(stdin)
}

/// The guardian: `__guard-children <manager pid>`, in the records'
/// directory. Blocks on stdin
/// until the manager is gone (its end of the pipe closes with it), then
/// stops the groups the manager recorded and had not waited for. A manager
/// that exits normally has waited for all of them: nothing to do.
pub fn guard_main(args: &[String]) -> i32 {
    let Some(owner) = args.first() else {
        eprintln!("usage: peipkg-manager {GUARD_SUBCOMMAND} PID (in the records' directory)");
        return 2;
    };
    let mut buf = [0u8; 64];
    let mut stdin = std::io::stdin();
    // Nothing is ever written: this returns at end-of-file or an error,
    // both meaning the manager is gone.
    while matches!(stdin.read(&mut buf), Ok(n) if n > 0) {}
    let groups = read_groups(Path::new("."), Some(owner));
    if groups.is_empty() {
        return 0;
    }
    let deadline = Instant::now() + KILL_GRACE;
    while signal_groups(&groups, libc::SIGTERM) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    for _ in 0..2 {
        signal_groups(&groups, libc::SIGKILL);
    }
    for (_, _, path) in groups {
        let _ = std::fs::remove_file(path);
    }
    0
}
/// The record of one running child's group; removed when it is waited for.
struct GroupRecord(Option<PathBuf>);

impl GroupRecord {
    fn new(pid: u32) -> GroupRecord {
        let Some(dir) = GROUPS.get() else {
            return GroupRecord(None);
        };
        let Some((_, start)) = proc_stat(pid as i32) else {
            return GroupRecord(None);
        };
        let path = dir.join(pid.to_string());
        // Not fsynced: after a power loss there are no left-over processes.
        // The start time, then the manager's pid (whose guardian may sweep
        // this record).
        match std::fs::write(&path, format!("{start} {}", std::process::id())) {
            Ok(()) => GroupRecord(Some(path)),
            Err(_) => GroupRecord(None),
        }
    }
}

impl Drop for GroupRecord {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// A process's group and start time (clock ticks after boot), from
/// `/proc/<pid>/stat`.
fn proc_stat(pid: i32) -> Option<(i32, u64)> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &text[text.rfind(')')? + 1..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    Some((fields.get(2)?.parse().ok()?, fields.get(19)?.parse().ok()?))
}

/// Whether a process has exited and waits to be reaped (no signal reaches
/// it, so a sweep does not wait for it).
fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|t| {
            t.rfind(')')
                .map(|i| t[i + 1..].trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// At start: kills every process still in a group a previous manager
/// recorded in `dir` and had not waited for (it was killed), then forgets
/// the records. Returns how many processes were found.
pub fn stop_leftover_groups(dir: &Path) -> usize {
    let groups = read_groups(dir, None);
    if groups.is_empty() {
        return 0;
    }
    // Twice: a process may fork while the first sweep runs.
    let found = signal_groups(&groups, libc::SIGKILL) + signal_groups(&groups, libc::SIGKILL);
    for (_, _, path) in groups {
        let _ = std::fs::remove_file(path);
    }
    found
}

/// The group records in `dir` (of the manager `owner` only, if given) as
/// (group, leader start time, record file). Unreadable records are removed.
fn read_groups(dir: &Path, owner: Option<&str>) -> Vec<(i32, u64, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for e in entries.flatten() {
        let path = e.path();
        let pgid = e.file_name().to_string_lossy().parse::<i32>().ok();
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let mut words = text.split_whitespace();
        let start = words.next().and_then(|s| s.parse::<u64>().ok());
        if owner.is_some_and(|o| words.next() != Some(o)) {
            continue;
        }
        match (pgid, start) {
            (Some(g), Some(t)) if g > 1 => groups.push((g, t, path)),
            _ => {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
    groups
}

/// Sends `sig` to every live process in the recorded groups that started
/// no earlier than the group's leader; returns how many there were.
fn signal_groups(groups: &[(i32, u64, PathBuf)], sig: i32) -> usize {
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return 0;
    };
    let mut found = 0;
    for p in procs.flatten() {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Some((pgrp, start)) = proc_stat(pid) else {
            continue;
        };
        let ours = |pgrp: i32, start: u64| groups.iter().any(|(g, t, _)| *g == pgrp && start >= *t);
        if ours(pgrp, start) && pid != std::process::id() as i32 && !is_zombie(pid) {
            // Asked again once the process is pinned: it may have exited
            // and its pid been reused since the listing.
            let still = || proc_stat(pid).is_some_and(|(g, t)| ours(g, t));
            if signal_if(pid, sig, still) {
                found += 1;
            }
        }
    }
    found
}

/// Finds a program the way the shell would: a path is used as is, a bare
/// name is looked up on PATH.
pub fn find_program(name: &str) -> Option<PathBuf> {
    peipkg_os::which::which(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_output_and_reports_failures_with_stderr() {
        let ok = run(
            &Cmd::new("sh", Duration::from_secs(5))
                .args(["-c", "echo out; echo err >&2"])
                .stdout(Sink::Capture),
            None,
        )
        .unwrap();
        assert_eq!(ok.stdout, b"out\n");
        assert_eq!(ok.stderr, b"err\n");
        let e = run(
            &Cmd::new("sh", Duration::from_secs(5)).args(["-c", "echo boom >&2; exit 3"]),
            None,
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "sh: exit status 3: boom");
    }

    #[test]
    fn a_hung_child_and_its_grandchildren_are_stopped_at_the_deadline() {
        let d = tempfile::tempdir().unwrap();
        let pidfile = d.path().join("grandchild.pid");
        let script = format!(
            "sh -c 'echo $$ > {}; exec sleep 30' & sleep 30",
            pidfile.display()
        );
        let t = Instant::now();
        let e = run(
            &Cmd::new("sh", Duration::from_millis(300)).args(["-c", &script]),
            None,
        )
        .unwrap_err();
        assert!(matches!(e, RunError::TimedOut { .. }), "{e}");
        assert!(e.to_string().contains("timed out after 300ms"), "{e}");
        assert!(t.elapsed() < Duration::from_secs(4));
        // The grandchild is gone too (or a zombie waiting to be reaped).
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        let stat = format!("/proc/{}/stat", pid.trim());
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let alive = std::fs::read_to_string(&stat)
                .map(|s| {
                    let state = s.rsplit(')').next().unwrap_or("").trim_start();
                    !state.starts_with('Z') && !state.starts_with('X')
                })
                .unwrap_or(false);
            if !alive {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the grandchild outlived the timeout"
            );
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// A manager killed while its child's group still had members: the
    /// next start finds the record and stops every process of the group
    /// (here a grandchild the child left behind), and forgets the record.
    #[test]
    fn leftover_groups_of_a_killed_manager_are_stopped_at_start() {
        let d = tempfile::tempdir().unwrap();
        let records = d.path().join("children");
        std::fs::create_dir_all(&records).unwrap();
        let pidfile = d.path().join("grandchild.pid");
        let mut child = Command::new("sh")
            .args([
                "-c",
                &format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
            ])
            .process_group(0)
            .spawn()
            .unwrap();
        let (_, start) = proc_stat(child.id() as i32).unwrap();
        std::fs::write(records.join(child.id().to_string()), start.to_string()).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !pidfile.exists() || std::fs::read_to_string(&pidfile).unwrap().trim().is_empty() {
            assert!(Instant::now() < deadline, "the grandchild did not start");
            thread::sleep(Duration::from_millis(10));
        }
        let grandchild: i32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(stop_leftover_groups(&records) >= 2);
        child.wait().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alive = std::fs::read_to_string(format!("/proc/{grandchild}/stat"))
                .map(|s| {
                    !s.rsplit(')')
                        .next()
                        .unwrap_or("")
                        .trim_start()
                        .starts_with('Z')
                })
                .unwrap_or(false);
            if !alive {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the grandchild outlived the sweep"
            );
            thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(std::fs::read_dir(&records).unwrap().count(), 0);
        // A record whose group is gone, or that is not ours, is only removed.
        std::fs::write(records.join("999999"), "1").unwrap();
        std::fs::write(records.join("junk"), "x").unwrap();
        assert_eq!(stop_leftover_groups(&records), 0);
        assert_eq!(std::fs::read_dir(&records).unwrap().count(), 0);
    }

    #[test]
    fn cancel_stops_a_running_child() {
        let cancel = Cancel::new();
        let c2 = cancel.clone();
        thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            c2.cancel();
        });
        let e = run(
            &Cmd::new("sleep", Duration::from_secs(30)).arg("20"),
            Some(&cancel),
        )
        .unwrap_err();
        assert!(matches!(e, RunError::Cancelled { .. }), "{e}");
    }

    #[test]
    fn output_to_a_file_appends() {
        let d = tempfile::tempdir().unwrap();
        let log = d.path().join("log");
        std::fs::write(&log, "header\n").unwrap();
        run(
            &Cmd::new("sh", Duration::from_secs(5))
                .args(["-c", "echo a; echo b >&2"])
                .stdout(Sink::File(log.clone()))
                .stderr(Sink::File(log.clone())),
            None,
        )
        .unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "header\na\nb\n");
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let e = run(&Cmd::new("/nonexistent/prog", Duration::from_secs(1)), None).unwrap_err();
        assert!(matches!(e, RunError::Spawn { .. }));
        assert!(find_program("sh").is_some());
        assert!(find_program("definitely-not-a-program-xyz").is_none());
    }

    #[test]
    fn display_quotes_what_a_shell_would_split() {
        let c = Cmd::new("git", Duration::from_secs(1)).args(["clone", "a b", "it's"]);
        assert_eq!(c.display(), r#"git clone 'a b' 'it'\''s'"#);
    }
}
