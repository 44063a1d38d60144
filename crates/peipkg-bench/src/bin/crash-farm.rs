//! The crash matrix for the manager (issue #10 item 4), as a benchmark
//! program: SIGKILL `peipkg-manager --once` at every phase of a farm pass,
//! `--trials` times each, then a normal run, and check after it that
//!
//! - the normal run succeeds and the live state passes
//!   `peipkg-repo verify --mode metadata`;
//! - every released version of every recipe is published;
//! - the remote (a real rclone local remote) holds every file of the live
//!   state with the same bytes, and its descriptor is the live one;
//! - no directory is left over (`built/`, `work/`, `children/` empty; no
//!   `repo.next`, `publish`, `upload`, `.peipkg-repo-work`);
//! - no process whose command line names the farm is still running, after
//!   the killed run's successor started (which must stop them) and ended.
//!
//! ```text
//! cargo build --release -p peipkg-manager -p peipkg-build -p peipkg-repo -p peipkg-bench
//! target/release/crash-farm [--bin-dir target/release] [--workdir DIR]
//!     [--recipes 3] [--trials 25] [--phases polled,spawn:clone,...]
//! ```
//!
//! The kill comes from the manager's fault-injection hook
//! (`PEIPKG_MANAGER_FAILPOINT=<point>[@ms]`, see its `failpoint` module), so
//! every phase is hit for certain. Phases that run a child (`spawn:...`)
//! get a delay that varies with the trial (0 to 60 ms), so the kill lands at
//! different moments inside the child's work. The short version of this
//! matrix runs in CI (crates/peipkg-manager/tests/crash_matrix.rs).

use anyhow::{ensure, Result};
use peipkg_bench::cli;
use peipkg_bench::farm::{generate, git, Farm, FarmOpts};
use peipkg_cli::FlagSet;
use peipkg_testkit::procs::processes_naming;
use std::collections::BTreeMap;
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::Instant;

const PHASES: &[&str] = &[
    "polled",
    "spawn:clone",
    "spawn:peipkg-build",
    "kept",
    "built",
    "spawn:peipkg-repo publish",
    "switched",
    "spawn:copy",
];

struct Opts {
    farm: FarmOpts,
    recipes: usize,
    trials: usize,
    phases: Vec<String>,
}

fn parse_opts() -> Result<Opts> {
    let mut f = FlagSet::new("crash-farm", "[flags]");
    f.about("SIGKILL peipkg-manager --once at every phase of a farm pass, then check the farm recovers.");
    FarmOpts::flags(&mut f);
    cli::number_flag(&mut f, "recipes", "recipes in the farm", "3");
    cli::number_flag(&mut f, "trials", "kills per phase", "25");
    cli::list_flag(
        &mut f,
        "phases",
        "phases to kill in, comma-separated",
        &PHASES.join(","),
    );
    let m = cli::parse_args(&f);
    let farm = FarmOpts::from_matches(&m);
    let recipes = cli::value(&f, &m, "recipes");
    let trials = cli::value(&f, &m, "trials");
    let phases = cli::list(&f, &m, "phases");
    Ok(Opts {
        farm,
        recipes,
        trials,
        phases,
    })
}

fn files_under(root: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        let Ok(rd) = fs::read_dir(d) else { return };
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                walk(base, &e.path(), out);
            } else if let Ok(rel) = e.path().strip_prefix(base) {
                out.push(rel.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// Everything that must hold after the normal run; the list of problems.
fn problems(o: &Opts, farm: &Farm, remote: &Path, want: &[(String, String)]) -> Vec<String> {
    let mut bad = Vec::new();
    let state = farm.root.join("state");
    let repo = state.join("repo");
    match std::process::Command::new(o.farm.bin_dir.join("peipkg-repo"))
        .args(["verify", "--mode", "metadata", "--repo"])
        .arg(&repo)
        .output()
    {
        Ok(out) if out.status.success() => {}
        Ok(out) => bad.push(format!(
            "verify: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Err(e) => bad.push(format!("verify: {e}")),
    }
    let archive = fs::read_to_string(repo.join("index/archive.json")).unwrap_or_default();
    for (name, version) in want {
        let entry = format!("\"name\":\"{name}\"");
        let ok = archive
            .split('{')
            .any(|e| e.contains(&entry) && e.contains(&format!("\"version\":\"{version}\"")));
        if !ok {
            bad.push(format!("{name} {version} not published"));
        }
    }
    for f in files_under(&repo) {
        let local = fs::read(repo.join(&f)).ok();
        let theirs = fs::read(remote.join(&f)).ok();
        if theirs.is_none() {
            bad.push(format!("remote lacks {f}"));
        } else if local != theirs {
            bad.push(format!("remote {f} differs"));
        }
    }
    for leak in [
        "repo.next",
        "repo.swap",
        "publish",
        "upload",
        "repo/.peipkg-repo-work",
    ] {
        if state.join(leak).exists() {
            bad.push(format!("state/{leak} left over"));
        }
    }
    for dir in ["built", "work", "children"] {
        let n = fs::read_dir(state.join(dir))
            .map(|r| r.count())
            .unwrap_or(0);
        if n > 0 {
            bad.push(format!("state/{dir} holds {n} entries"));
        }
    }
    for p in processes_naming(&farm.root) {
        bad.push(format!("process left: {p}"));
    }
    bad
}

#[derive(Default)]
struct Tally {
    trials: usize,
    killed: usize,
    ok: usize,
    failures: Vec<String>,
    stopped_leftovers: usize,
    secs: f64,
}

fn main() -> Result<()> {
    let o = parse_opts()?;
    let spec = o.farm.spec(None);
    let root = o.farm.workdir.join("crash-farm");
    let farm = generate(&spec, &root, o.recipes, None)?;
    let remote = root.join("remote");
    farm.append_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"tlocal:{}\"\nretry_min = \"1s\"\nretry_max = \"2s\"\ntimeout = \"60s\"\n",
        remote.display()
    ))?;
    let env = [("RCLONE_CONFIG_TLOCAL_TYPE", "local")];
    let mut want: Vec<(String, String)> = (0..o.recipes)
        .map(|i| (format!("p{i}"), "1.0.0-1".to_string()))
        .collect();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut release = 0usize;
    for trial in 0..o.trials {
        for phase in &o.phases {
            release += 1;
            for i in 0..o.recipes {
                let up = root.join("up").join(format!("p{i}"));
                fs::write(up.join("data.txt"), format!("release {release}\n"))?;
                git(&up, &["commit", "-q", "-am", "release"])?;
                git(&up, &["tag", &format!("v1.{release}.0")])?;
                want.push((format!("p{i}"), format!("1.{release}.0-1")));
            }
            let point = if phase.starts_with("spawn:") {
                format!("{phase}@{}", (trial * 37) % 61)
            } else {
                phase.clone()
            };
            let started = Instant::now();
            let killed = farm
                .once_cmd()
                .envs(env)
                .env("PEIPKG_MANAGER_FAILPOINT", &point)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()?;
            let normal = farm
                .once_cmd()
                .envs(env)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .output()?;
            let log = String::from_utf8_lossy(&normal.stderr);
            let t = tally.entry(phase.clone()).or_default();
            t.trials += 1;
            t.secs += started.elapsed().as_secs_f64();
            if killed.code().is_none() {
                t.killed += 1;
            }
            if log.contains("stopped processes left by a previous manager") {
                t.stopped_leftovers += 1;
            }
            let mut bad = problems(&o, &farm, &remote, &want);
            if !normal.status.success() {
                bad.insert(0, format!("normal run failed: {}", normal.status));
            }
            if bad.is_empty() {
                t.ok += 1;
            } else {
                t.failures
                    .push(format!("trial {trial} ({point}): {}", bad.join("; ")));
            }
            eprint!(".");
        }
    }
    eprintln!();
    println!(
        "crash matrix: {} recipes, {} trials per phase, release binaries in {}",
        o.recipes,
        o.trials,
        o.farm.bin_dir.display()
    );
    println!("| phase | trials | killed there | whole after the next run | leftovers stopped at start | s per trial |");
    println!("|---|---|---|---|---|---|");
    let mut all_ok = true;
    for phase in &o.phases {
        let Some(t) = tally.get(phase) else { continue };
        println!(
            "| `{phase}` | {} | {} | {} | {} | {:.2} |",
            t.trials,
            t.killed,
            t.ok,
            t.stopped_leftovers,
            t.secs / t.trials as f64
        );
        for f in &t.failures {
            println!("  FAILED {f}");
            all_ok = false;
        }
    }
    ensure!(all_ok, "some trials left the farm broken (listed above)");
    Ok(())
}
