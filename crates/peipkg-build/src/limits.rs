//! Resource limits that stop a runaway build script: processes, file size
//! and address space.
//!
//! File size and address space are plain `setrlimit` values set in the
//! child before it starts the script (or bubblewrap), so every process of
//! the build inherits them. The process limit is harder: `RLIMIT_NPROC` is
//! not enforced for root (the kernel exempts uid 0), and the farm often runs
//! as root. So the process limit is a pids cgroup (v1 `pids` hierarchy or
//! the v2 unified one) made for this one build; the child joins it before
//! exec. The cgroup also gives a last sweep: when the script ends, every
//! process still in it is killed, sandboxed or not. Where no pids cgroup can
//! be made (not root, read-only `/sys/fs/cgroup`), `RLIMIT_NPROC` is the
//! fallback, and as root that is reported once as not enforceable.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use peipkg_os::limits::Resource;
use peipkg_os::process::ChildSetup;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Default `--limit-processes`.
pub const DEFAULT_PROCESSES: u64 = 4096;
/// Default `--limit-file-size` (16 GiB).
pub const DEFAULT_FILE_SIZE: u64 = 16 << 30;
/// Default `--limit-address-space` (32 GiB).
pub const DEFAULT_ADDRESS_SPACE: u64 = 32 << 30;

/// The limits of one build; 0 means no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub processes: u64,
    pub file_size: u64,
    pub address_space: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            processes: DEFAULT_PROCESSES,
            file_size: DEFAULT_FILE_SIZE,
            address_space: DEFAULT_ADDRESS_SPACE,
        }
    }
}

/// A limit value that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("--{flag} {value:?}: expected a whole number of bytes with an optional K, M, G or T suffix (powers of 1024), e.g. 16G; 0 means no limit")]
pub struct SizeError {
    pub flag: String,
    pub value: String,
}

/// Parses a byte size: `123`, `64K`, `512M`, `16G`, `1T` (binary multiples).
pub fn parse_size(flag: &str, value: &str) -> Result<u64, SizeError> {
    let err = || SizeError {
        flag: flag.to_string(),
        value: value.to_string(),
    };
    let (digits, shift) = match value.as_bytes().last() {
        Some(b'K' | b'k') => (&value[..value.len() - 1], 10),
        Some(b'M' | b'm') => (&value[..value.len() - 1], 20),
        Some(b'G' | b'g') => (&value[..value.len() - 1], 30),
        Some(b'T' | b't') => (&value[..value.len() - 1], 40),
        _ => (value, 0),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(err());
    }
    let n: u64 = digits.parse().map_err(|_| err())?;
    n.checked_mul(1u64 << shift).ok_or_else(err)
}

/// A pids cgroup made for one build, removed (after killing whatever is
/// left in it) when dropped.
#[derive(Debug)]
pub struct PidsCgroup {
    dir: PathBuf,
    /// `cgroup.procs`, opened before the fork so the child only writes.
    procs: OwnedFd,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Why no pids cgroup could be made.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CgroupUnavailable(pub String);

impl PidsCgroup {
    /// Makes a fresh pids cgroup limited to `max` tasks.
    pub fn create(max: u64) -> Result<PidsCgroup, CgroupUnavailable> {
        let root = pids_hierarchy()
            .ok_or_else(|| CgroupUnavailable("no pids cgroup controller is mounted".to_string()))?;
        remove_stale(&root);
        let dir = root.join(format!(
            "peipkg-build-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir(&dir)
            .map_err(|e| CgroupUnavailable(format!("create {}: {e}", dir.display())))?;
        let cg = (|| {
            std::fs::write(dir.join("pids.max"), max.to_string())
                .map_err(|e| format!("write {}/pids.max: {e}", dir.display()))?;
            let procs = std::fs::OpenOptions::new()
                .write(true)
                .open(dir.join("cgroup.procs"))
                .map_err(|e| format!("open {}/cgroup.procs: {e}", dir.display()))?;
            Ok::<_, String>(OwnedFd::from(procs))
        })();
        match cg {
            Ok(procs) => Ok(PidsCgroup { dir, procs }),
            Err(reason) => {
                let _ = std::fs::remove_dir(&dir);
                Err(CgroupUnavailable(reason))
            }
        }
    }

    /// `cgroup.procs`, for a child to join the cgroup ([`child_setup`]).
    pub fn procs_fd(&self) -> BorrowedFd<'_> {
        self.procs.as_fd()
    }

    /// Whether a fork was refused because the limit was reached.
    pub fn limit_was_hit(&self) -> bool {
        std::fs::read_to_string(self.dir.join("pids.events"))
            .ok()
            .and_then(|text| {
                text.lines()
                    .find_map(|l| l.strip_prefix("max "))
                    .and_then(|n| n.trim().parse::<u64>().ok())
            })
            .is_some_and(|n| n > 0)
    }

    /// Kills every process still in the cgroup and waits until it is empty.
    pub fn kill_all(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let pids = std::fs::read_to_string(self.dir.join("cgroup.procs")).unwrap_or_default();
            let mut any = false;
            for pid in pids.lines().filter_map(|l| l.trim().parse::<i32>().ok()) {
                any = true;
                let _ = peipkg_os::process::kill(pid, libc::SIGKILL);
            }
            if !any || Instant::now() >= deadline {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for PidsCgroup {
    fn drop(&mut self) {
        self.kill_all();
        // Killed tasks leave the cgroup asynchronously; rmdir is EBUSY
        // until they have.
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::remove_dir(&self.dir).is_err() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// Removes the empty cgroups of peipkg-build processes that are gone (one
/// killed by SIGKILL cannot remove its own).
fn remove_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix("peipkg-build-"))
            .and_then(|rest| rest.split('-').next())
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if !peipkg_os::process::exists(pid) {
            // Fails (harmlessly) while tasks remain in it.
            let _ = std::fs::remove_dir(e.path());
        }
    }
}

/// The directory where a new pids cgroup can be made: the root of the v1
/// `pids` hierarchy, or of the v2 hierarchy when it offers `pids` to its
/// children.
fn pids_hierarchy() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let mut v2 = None;
    for line in mountinfo.lines() {
        // ... mount-point ... - fstype source super-options
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mount_point = left.split(' ').nth(4).map(unescape_mountinfo);
        let mut right = right.split(' ');
        let fstype = right.next().unwrap_or("");
        let options = right.nth(1).unwrap_or("");
        match (fstype, mount_point) {
            ("cgroup", Some(mp)) if options.split(',').any(|o| o == "pids") => {
                return Some(PathBuf::from(mp));
            }
            ("cgroup2", Some(mp)) if v2.is_none() => v2 = Some(PathBuf::from(mp)),
            _ => {}
        }
    }
    let v2 = v2?;
    let offered = |file: &str| {
        std::fs::read_to_string(v2.join(file))
            .is_ok_and(|t| t.split_whitespace().any(|c| c == "pids"))
    };
    if !offered("cgroup.controllers") {
        return None;
    }
    if !offered("cgroup.subtree_control") {
        std::fs::write(v2.join("cgroup.subtree_control"), "+pids").ok()?;
    }
    Some(v2)
}

fn unescape_mountinfo(s: &str) -> String {
    s.replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

/// What the script's child does before exec: joins the pids cgroup (if
/// any) and sets the rlimits, so every process of the build inherits them.
pub fn child_setup<'a>(limits: &Limits, process_limit: &'a ProcessLimit) -> ChildSetup<'a> {
    let mut rlimits = vec![
        (Resource::FileSize, limits.file_size),
        (Resource::AddressSpace, limits.address_space),
    ];
    if process_limit.uses_rlimit() {
        rlimits.push((Resource::Processes, limits.processes));
    }
    ChildSetup {
        parent_death_signal: None,
        join_cgroup: process_limit.procs_fd(),
        rlimits,
    }
}

/// How the process limit of a build is enforced.
#[derive(Debug)]
pub enum ProcessLimit {
    None,
    Cgroup(PidsCgroup),
    /// `RLIMIT_NPROC` (per user, and not enforced for root).
    Rlimit,
}

impl ProcessLimit {
    /// Sets up the process limit; the warning (if any) says why it is weaker
    /// than asked.
    pub fn set_up(limits: &Limits) -> (ProcessLimit, Option<String>) {
        if limits.processes == 0 {
            return (ProcessLimit::None, None);
        }
        match PidsCgroup::create(limits.processes) {
            Ok(cg) => (ProcessLimit::Cgroup(cg), None),
            Err(why) => {
                let root = peipkg_os::limits::is_root();
                let warning = root.then(|| {
                    format!(
                        "the process limit (--limit-processes {}) is not enforced: no pids cgroup ({why}), and RLIMIT_NPROC does not apply to root",
                        limits.processes
                    )
                });
                (ProcessLimit::Rlimit, warning)
            }
        }
    }

    pub fn procs_fd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            ProcessLimit::Cgroup(cg) => Some(cg.procs_fd()),
            _ => None,
        }
    }

    pub fn uses_rlimit(&self) -> bool {
        matches!(self, ProcessLimit::Rlimit)
    }

    pub fn limit_was_hit(&self) -> bool {
        match self {
            ProcessLimit::Cgroup(cg) => cg.limit_was_hit(),
            _ => false,
        }
    }

    pub fn kill_all(&self) {
        if let ProcessLimit::Cgroup(cg) = self {
            cg.kill_all();
        }
    }
}

/// One line on how the process limit would be enforced here (for
/// `sandbox-check`).
pub fn describe_process_limit() -> String {
    match PidsCgroup::create(DEFAULT_PROCESSES) {
        Ok(cg) => format!(
            "process limit: enforced by a pids cgroup under {}",
            cg.dir.parent().unwrap_or(Path::new("/")).display()
        ),
        Err(why) => format!("process limit: no pids cgroup ({why}); falls back to RLIMIT_NPROC"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("f", "0"), Ok(0));
        assert_eq!(parse_size("f", "123"), Ok(123));
        assert_eq!(parse_size("f", "64K"), Ok(64 << 10));
        assert_eq!(parse_size("f", "16G"), Ok(16 << 30));
        assert_eq!(parse_size("f", "1t"), Ok(1 << 40));
        for bad in ["", "G", "-1", "1.5G", "12X", "99999999999T"] {
            let err = parse_size("limit-file-size", bad).unwrap_err();
            assert!(err.to_string().contains("--limit-file-size"), "{err}");
        }
    }
}
