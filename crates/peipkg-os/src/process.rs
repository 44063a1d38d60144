//! Child processes that are stopped as a whole: the one supervisor both the
//! build (its script) and the manager (git, peipkg-build, peipkg-repo,
//! rclone) run children under.
//!
//! Each child leads its own process group, so a deadline, a cancel or the
//! child's own exit can stop everything it started (a compiler, a
//! background job), not just the child. Signalling a group by id is only
//! safe while the id cannot have been reused, and the rule that makes it so
//! is one: the leader is never reaped until its group has been killed. Its
//! exit is observed without reaping (`waitid(WNOWAIT)`, woken by a pidfd
//! where the kernel has them), and while it is an unreaped zombie no new
//! process or group can take its id. Processes that are not our children
//! (a sweep after a crash) are pinned by a pidfd before they are checked
//! and signalled ([`signal_if`]).

use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdout, Command, ExitStatus};
use std::time::{Duration, Instant};

use crate::limits::{self, Resource};

/// Longest sleep between two looks at a child's exit when the kernel has no
/// pidfds (Linux before 5.3).
const FALLBACK_POLL: Duration = Duration::from_millis(5);

/// What the child does between fork and exec. Any of it makes the standard
/// library fork() the parent instead of using posix_spawn() (vfork), and a
/// fork copies the page tables of the whole parent, a cost that grows with
/// the parent's size: so ask for these only when needed.
#[derive(Debug, Default)]
pub struct ChildSetup<'a> {
    /// Sent to the child when this process dies (`PR_SET_PDEATHSIG`); the
    /// child does not start at all if this process died before that took
    /// effect.
    pub parent_death_signal: Option<i32>,
    /// A `cgroup.procs` file opened for writing: the child joins that
    /// cgroup before it runs anything.
    pub join_cgroup: Option<BorrowedFd<'a>>,
    /// Limits set in the child; a value of 0 means none.
    pub rlimits: Vec<(Resource, u64)>,
}

impl ChildSetup<'_> {
    fn is_empty(&self) -> bool {
        self.parent_death_signal.is_none()
            && self.join_cgroup.is_none()
            && self.rlimits.iter().all(|&(_, v)| v == 0)
    }
}

/// How a group that is asked to stop is stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopWith {
    /// SIGKILL at once.
    Kill,
    /// SIGTERM, then SIGKILL after this grace period.
    TermThenKill(Duration),
}

/// How a supervised child ended.
#[derive(Debug)]
pub struct Ended<E> {
    pub status: ExitStatus,
    /// Why it was stopped, if it was (what the `stop` check returned).
    pub stopped: Option<E>,
}

/// A child that leads its own process group, with a pidfd for waiting.
/// Dropped before it was supervised to the end, it kills its group and
/// reaps the child.
#[derive(Debug)]
pub struct Group {
    child: Child,
    pidfd: Option<OwnedFd>,
    reaped: bool,
}

impl Group {
    /// Starts `cmd` as the leader of a new process group, after `setup`.
    pub fn spawn(cmd: &mut Command, setup: ChildSetup<'_>) -> io::Result<Group> {
        cmd.process_group(0);
        if !setup.is_empty() {
            let parent = std::process::id();
            let death_signal = setup.parent_death_signal;
            let cgroup = setup.join_cgroup.map(|fd| fd.as_raw_fd());
            let rlimits = setup.rlimits;
            let hook = move || -> io::Result<()> {
                if let Some(signal) = death_signal {
                    // SAFETY: prctl and getppid are async-signal-safe and
                    // touch no memory of the parent.
                    unsafe {
                        if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                            return Err(io::Error::last_os_error());
                        }
                        // The parent may have died before the prctl took
                        // effect.
                        if libc::getppid() as u32 != parent {
                            return Err(io::Error::other("the parent exited"));
                        }
                    }
                }
                if let Some(fd) = cgroup {
                    // "0" names the writing process itself.
                    // SAFETY: write is async-signal-safe; the buffer is a
                    // static one-byte string; `fd` is open (see below).
                    if unsafe { libc::write(fd, b"0".as_ptr().cast(), 1) } != 1 {
                        return Err(io::Error::last_os_error());
                    }
                }
                for &(resource, value) in &rlimits {
                    if value != 0 {
                        limits::set(resource, value)?;
                    }
                }
                Ok(())
            };
            // SAFETY: the hook runs between fork and exec and makes only
            // async-signal-safe calls (prctl, getppid, write, setrlimit); it
            // reads captured values and allocates nothing. The cgroup
            // descriptor is borrowed for the lifetime of `setup`, which
            // outlives this call, so it is open in the child.
            unsafe {
                cmd.pre_exec(hook);
            }
        }
        let child = cmd.spawn()?;
        let pidfd = pidfd_open(child.id()).ok();
        Ok(Group {
            child,
            pidfd,
            reaped: false,
        })
    }

    /// The leader's pid, which is also the group's id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The read end of the child's stdout, when it was piped.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// The read end of the child's stderr, when it was piped.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// Sends `signal` to every process of the group. Until the group is
    /// reaped its id is ours, so this never reaches a stranger; a group
    /// with no process left is not an error.
    pub fn signal(&self, signal: i32) {
        if !self.reaped {
            // SAFETY: kill(2) has no memory-safety preconditions; a
            // negative pid names the group.
            unsafe {
                libc::kill(-(self.child.id() as libc::pid_t), signal);
            }
        }
    }

    /// Waits until the leader exits, asking `stop` at least every `tick`
    /// whether to stop the group (a deadline passed, a cancel, a signal);
    /// once it says why, the group is stopped `with` that and the answer is
    /// kept. When the leader has exited, whatever is left of its group is
    /// killed and the leader is reaped.
    pub fn supervise<E>(
        &mut self,
        tick: Duration,
        with: StopWith,
        mut stop: impl FnMut() -> Option<E>,
    ) -> io::Result<Ended<E>> {
        let mut stopped = None;
        let mut kill_at: Option<Instant> = None;
        loop {
            match self.has_exited() {
                Ok(true) => break,
                Ok(false) => {}
                Err(e) => {
                    self.kill_and_reap();
                    return Err(e);
                }
            }
            if stopped.is_none() {
                stopped = stop();
                if stopped.is_some() {
                    match with {
                        StopWith::Kill => self.signal(libc::SIGKILL),
                        StopWith::TermThenKill(grace) => {
                            self.signal(libc::SIGTERM);
                            kill_at = Some(Instant::now() + grace);
                        }
                    }
                }
            } else if kill_at.is_some_and(|t| Instant::now() >= t) {
                self.signal(libc::SIGKILL);
                kill_at = None;
            }
            self.wait_for_exit(tick);
        }
        // Grandchildren may still hold pipes open or run on in the
        // background (a detached `git gc --auto`, a script's `&` job): no
        // process of the group outlives its leader.
        self.signal(libc::SIGKILL);
        let status = self.child.wait()?;
        self.reaped = true;
        Ok(Ended { status, stopped })
    }

    /// Whether the leader has exited, leaving it unreaped.
    fn has_exited(&self) -> io::Result<bool> {
        loop {
            // SAFETY: an all-zero siginfo_t is a valid value for waitid to
            // fill; it writes only into `info`, which outlives the call.
            let (rc, info) = unsafe {
                let mut info: libc::siginfo_t = std::mem::zeroed();
                let rc = libc::waitid(
                    libc::P_PID,
                    self.child.id() as libc::id_t,
                    &mut info,
                    libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
                );
                (rc, info)
            };
            if rc == -1 {
                let err = io::Error::last_os_error();
                if err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err);
            }
            // SAFETY: si_pid is valid to read in a siginfo_t filled by
            // waitid; it stays 0 when no child has changed state.
            return Ok(unsafe { info.si_pid() } != 0);
        }
    }

    /// Returns when the leader exits or after `max`, whichever is first
    /// (early on a signal; callers check again).
    fn wait_for_exit(&self, max: Duration) {
        match &self.pidfd {
            Some(fd) => {
                let mut p = libc::pollfd {
                    fd: fd.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                let ms = i32::try_from(max.as_millis()).unwrap_or(i32::MAX);
                // SAFETY: one valid pollfd, for the duration of the call.
                unsafe {
                    libc::poll(&mut p, 1, ms);
                }
            }
            None => std::thread::sleep(max.min(FALLBACK_POLL)),
        }
    }

    fn kill_and_reap(&mut self) {
        self.signal(libc::SIGKILL);
        let _ = self.child.wait();
        self.reaped = true;
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill_and_reap();
        }
    }
}

fn pidfd_open(pid: u32) -> io::Result<OwnedFd> {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor
    // or -1; it touches no memory of ours.
    let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid as libc::pid_t, 0) };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = i32::try_from(fd).map_err(io::Error::other)?;
    // SAFETY: the kernel just returned this descriptor to us, and nothing
    // else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Sends `signal` to the process `pid` (not necessarily our child) if
/// `is_target` says it is the one meant, asked after the process was
/// pinned by a pidfd: if it exited and its pid was reused in between, the
/// signal goes nowhere rather than to the newcomer. Without pidfds (Linux
/// before 5.3) the check and a plain kill(2) follow each other. Returns
/// whether the signal was sent.
pub fn signal_if(pid: i32, signal: i32, is_target: impl FnOnce() -> bool) -> bool {
    let Ok(pid_u) = u32::try_from(pid) else {
        return false;
    };
    match pidfd_open(pid_u) {
        Ok(fd) => {
            if !is_target() {
                return false;
            }
            // SAFETY: pidfd_send_signal with a descriptor we own, a null
            // siginfo (the kernel fills it as kill(2) would) and no flags.
            let rc = unsafe {
                libc::syscall(
                    libc::SYS_pidfd_send_signal,
                    fd.as_raw_fd(),
                    signal,
                    std::ptr::null::<libc::siginfo_t>(),
                    0,
                )
            };
            rc == 0
        }
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            is_target() && kill(pid, signal).is_ok()
        }
        Err(_) => false,
    }
}

/// Sends `signal` to the process `pid`: for a child we have not reaped, or
/// a pid whose owner told us it (the manager's state lock). Elsewhere use
/// [`signal_if`].
pub fn kill(pid: i32, signal: i32) -> io::Result<()> {
    // SAFETY: kill(2) has no memory-safety preconditions.
    if unsafe { libc::kill(pid, signal) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Whether a process `pid` exists (also one we may not signal).
pub fn exists(pid: i32) -> bool {
    match kill(pid, 0) {
        Ok(()) => true,
        Err(e) => e.raw_os_error() == Some(libc::EPERM),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .map(|s| {
                let state = s.rsplit(')').next().unwrap_or("").trim_start();
                !state.starts_with('Z') && !state.starts_with('X')
            })
            .unwrap_or(false)
    }

    fn wait_gone(pid: u32) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while alive(pid) {
            assert!(Instant::now() < deadline, "{pid} outlived its group");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_group_is_killed_when_its_leader_exits() {
        let d = tempfile::tempdir().unwrap();
        let pidfile = d.path().join("bg.pid");
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!("sleep 30 & echo $! > {}", pidfile.display()))
            .stdin(Stdio::null());
        let mut g = Group::spawn(&mut c, ChildSetup::default()).unwrap();
        let end = g
            .supervise(Duration::from_millis(50), StopWith::Kill, || None::<()>)
            .unwrap();
        assert!(end.status.success() && end.stopped.is_none());
        let bg: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        wait_gone(bg);
    }

    #[test]
    fn a_stopped_group_gets_sigterm_then_sigkill() {
        let mut c = Command::new("sh");
        // Ignores SIGTERM: only the SIGKILL after the grace ends it.
        c.args(["-c", "trap '' TERM; sleep 30 & wait; sleep 30"]);
        let mut g = Group::spawn(&mut c, ChildSetup::default()).unwrap();
        let t = Instant::now();
        let end = g
            .supervise(
                Duration::from_millis(20),
                StopWith::TermThenKill(Duration::from_millis(200)),
                || (t.elapsed() >= Duration::from_millis(100)).then_some("deadline"),
            )
            .unwrap();
        assert_eq!(end.stopped, Some("deadline"));
        assert!(t.elapsed() >= Duration::from_millis(300));
        assert!(t.elapsed() < Duration::from_secs(5));
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(end.status.signal(), Some(libc::SIGKILL));
    }

    #[test]
    fn the_child_setup_applies_before_exec() {
        let mut c = Command::new("sh");
        c.args([
            "-c",
            "grep -q 'Max processes *4000 *4000 ' /proc/self/limits",
        ]);
        let setup = ChildSetup {
            parent_death_signal: Some(libc::SIGTERM),
            join_cgroup: None,
            rlimits: vec![(Resource::FileSize, 0), (Resource::Processes, 4000)],
        };
        let mut g = Group::spawn(&mut c, setup).unwrap();
        let end = g
            .supervise(Duration::from_millis(50), StopWith::Kill, || None::<()>)
            .unwrap();
        assert!(end.status.success(), "{:?}", end.status);
    }

    #[test]
    fn a_dropped_group_is_killed() {
        let mut c = Command::new("sleep");
        c.arg("30");
        let g = Group::spawn(&mut c, ChildSetup::default()).unwrap();
        let pid = g.id();
        drop(g);
        assert!(!alive(pid));
    }

    #[test]
    fn signal_if_asks_before_it_signals() {
        let mut child = Command::new("sleep").arg("30").spawn().unwrap();
        let pid = child.id() as i32;
        assert!(!signal_if(pid, libc::SIGKILL, || false));
        assert!(exists(pid));
        assert!(signal_if(pid, libc::SIGKILL, || true));
        child.wait().unwrap();
    }
}
