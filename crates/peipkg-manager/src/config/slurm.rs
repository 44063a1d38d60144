//! `[build].executor` and `[slurm]` (ours): where builds run.
//!
//! With `executor = "slurm"` every build is one Slurm batch job; the
//! `[slurm]` table says how to submit it and where the nodes find what
//! they need. The farm host keeps every key (see `crate::cluster`).

use std::path::PathBuf;
use std::time::Duration;

use peipkg_recipe::strict::{Reporter, Section};

/// `[build].executor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExecutorKind {
    /// Child processes on this machine (the default, the reference's way).
    #[default]
    Local,
    /// One Slurm batch job per build.
    Slurm,
}

impl ExecutorKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutorKind::Local => "local",
            ExecutorKind::Slurm => "slurm",
        }
    }
}

/// `[slurm]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmConfig {
    /// `--partition`; none = the cluster's default partition.
    pub partition: Option<String>,
    /// `--account`; none = the submitting user's default.
    pub account: Option<String>,
    /// More `sbatch` arguments, passed as they are (e.g. `--mem=8G`).
    pub sbatch_args: Vec<String>,
    /// A directory every build node and the farm host mount at this same
    /// path: job descriptions go in, staged trees come back.
    pub work_dir: PathBuf,
    /// The programs as the nodes find them (names on the node's PATH, or
    /// paths): the node side of a job, the builder, git.
    pub node_program: String,
    pub node_peipkg_build: String,
    pub node_git: String,
    /// How often job states are polled.
    pub poll_interval: Duration,
    /// The Slurm client programs on the farm host (names or paths).
    pub sbatch: String,
    pub squeue: String,
    pub scontrol: String,
    pub scancel: String,
}

pub fn read_executor(r: &mut Reporter<'_>, s: &mut Section<'_>) -> Option<ExecutorKind> {
    match s.string(r, "executor").as_deref() {
        None | Some("local") => Some(ExecutorKind::Local),
        Some("slurm") => Some(ExecutorKind::Slurm),
        Some(other) => {
            r.push(
                s.key_line("executor"),
                format!("[build].executor {other:?} is not one of \"local\", \"slurm\""),
            );
            None
        }
    }
}

/// Reads `[slurm]`; `wanted` says `[build].executor = "slurm"`, which then
/// requires the table.
pub fn read_slurm(
    r: &mut Reporter<'_>,
    sec: Option<Section<'_>>,
    wanted: bool,
) -> Option<Option<SlurmConfig>> {
    let Some(mut s) = sec else {
        if wanted {
            r.push(
                None,
                "[build].executor = \"slurm\" needs a [slurm] table with work_dir (a directory every node mounts)",
            );
            return None;
        }
        return Some(None);
    };
    let mut ok = true;
    let mut cfg = SlurmConfig {
        partition: s.string(r, "partition").filter(|v| !v.is_empty()),
        account: s.string(r, "account").filter(|v| !v.is_empty()),
        sbatch_args: s.string_array(r, "sbatch_args").unwrap_or_default(),
        work_dir: PathBuf::new(),
        node_program: "peipkg-node".into(),
        node_peipkg_build: "peipkg-build".into(),
        node_git: "git".into(),
        poll_interval: Duration::from_secs(10),
        sbatch: "sbatch".into(),
        squeue: "squeue".into(),
        scontrol: "scontrol".into(),
        scancel: "scancel".into(),
    };
    match s.string(r, "work_dir") {
        Some(d) if d.starts_with('/') => cfg.work_dir = PathBuf::from(d),
        Some(d) => {
            r.push(
                s.key_line("work_dir"),
                format!("[slurm].work_dir {d:?} must be an absolute path (the nodes mount it at the same path)"),
            );
            ok = false;
        }
        None => {
            r.push(
                s.line,
                "[slurm].work_dir is required: a directory every build node and this host mount at the same path",
            );
            ok = false;
        }
    }
    if let Some(d) = s.duration(r, "poll_interval", Duration::from_millis(100)) {
        cfg.poll_interval = d;
    }
    for (key, slot) in [
        ("node_program", &mut cfg.node_program),
        ("node_peipkg_build", &mut cfg.node_peipkg_build),
        ("node_git", &mut cfg.node_git),
        ("sbatch", &mut cfg.sbatch),
        ("squeue", &mut cfg.squeue),
        ("scontrol", &mut cfg.scontrol),
        ("scancel", &mut cfg.scancel),
    ] {
        if let Some(v) = s.string(r, key) {
            if v.is_empty() {
                r.push(s.key_line(key), format!("[slurm].{key} must not be empty"));
                ok = false;
            } else {
                *slot = v;
            }
        }
    }
    s.finish(r);
    ok.then_some(Some(cfg))
}
