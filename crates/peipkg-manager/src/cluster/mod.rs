//! Builds as jobs on a cluster engine (`[build].executor = "slurm"`).
//!
//! The split (docs/SCALE-OUT.md has the whole contract): a build node gets
//! a job directory on storage it shares with the farm host, holding a
//! description of the job ([`contract::JobDescription`]: the recipe, the
//! tag, the source, the public values it may inject; never a key) and a
//! copy of the recipe directory. It runs `peipkg-node run DIR`, which
//! clones the tag and runs `peipkg-build stage` (the build script only),
//! and leaves the staged tree and a [`contract::JobResult`] there. The farm
//! host polls the engine for the job's state; when the job is done, it
//! runs `peipkg-build seal` with its own snapshot of the recipe and its
//! keys: the staged tree is copied without following links and then
//! `[[sign]]`ed, checked, packed and signed exactly as a local build would,
//! so the packages are byte-identical and nothing is signed that this host
//! did not check.

pub(crate) mod contract;
pub(crate) mod engine;
pub(crate) mod executor;
pub mod node;

pub(crate) use executor::SlurmExecutor;

use crate::config::{Config, ExecutorKind};

/// What `check` reports about the cluster side of this host: missing
/// client programs, a shared work directory that is not there.
pub(crate) fn check_host(cfg: &Config) -> Vec<String> {
    let mut problems = Vec::new();
    for (what, name, key) in host_programs(cfg) {
        if crate::process::find_program(&name).is_none() {
            problems.push(format!(
                "{what} not found: {name:?} is not an executable on PATH (set {key}); \
                 [build].executor = \"slurm\" submits and tracks builds with it"
            ));
        }
    }
    if let (ExecutorKind::Slurm, Some(s)) = (&cfg.build.executor, &cfg.slurm) {
        if !s.work_dir.is_dir() {
            problems.push(format!(
                "[slurm].work_dir {}: not a directory (create it on storage every build node mounts at this path)",
                s.work_dir.display()
            ));
        }
    }
    problems
}

/// The cluster client programs this host needs for the configured
/// executor: (what, name, config key).
pub(crate) fn host_programs(cfg: &Config) -> Vec<(&'static str, String, &'static str)> {
    match (&cfg.build.executor, &cfg.slurm) {
        (ExecutorKind::Slurm, Some(s)) => vec![
            ("sbatch", s.sbatch.clone(), "[slurm].sbatch"),
            ("squeue", s.squeue.clone(), "[slurm].squeue"),
            ("scontrol", s.scontrol.clone(), "[slurm].scontrol"),
            ("scancel", s.scancel.clone(), "[slurm].scancel"),
        ],
        _ => Vec::new(),
    }
}
