//! Crash safety: kill `publish` with SIGKILL at random instants and check,
//! right after each kill, that the state is exactly the old one or exactly
//! the new one and that `verify` passes on it; then that the next publish
//! cleans up whatever the killed one left.
//!
//! `PEIPKG_CRASH_TRIALS` sets the number of trials per scenario (default
//! 25 here; the benchmark harness in docs/BENCHMARKS.md runs 300).
//! `PEIPKG_CRASH_SEED` replays a run.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use peipkg_testkit::packages::noise;

const SIGNED: [&str; 6] = [
    "repo.json",
    "repo.json.sig",
    "index/active.json",
    "index/active.json.sig",
    "index/archive.json",
    "index/archive.json.sig",
];

fn signed_docs(root: &Path) -> BTreeMap<&'static str, Vec<u8>> {
    SIGNED
        .iter()
        .map(|r| (*r, fs::read(root.join(r)).unwrap_or_default()))
        .collect()
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// Files under `p/` that the archive does not reference.
fn orphans(root: &Path) -> Vec<String> {
    let archive = fs::read_to_string(root.join("index/archive.json")).unwrap();
    snapshot(&root.join("p"))
        .into_keys()
        .filter(|k| !k.ends_with('/'))
        .filter(|k| !archive.contains(&format!("\"/p/{k}\"")))
        .collect()
}

fn leftovers(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if root.join(".peipkg-repo-work").exists() {
        out.push(root.join(".peipkg-repo-work"));
    }
    let name = root.file_name().unwrap().to_string_lossy().to_string();
    for e in fs::read_dir(root.parent().unwrap()).unwrap().flatten() {
        if e.file_name()
            .to_string_lossy()
            .starts_with(&format!(".{name}.peipkg-repo"))
        {
            out.push(e.path());
        }
    }
    out
}

struct Scenario {
    base: PathBuf,
    args: Vec<String>,
    old: BTreeMap<&'static str, Vec<u8>>,
    new: BTreeMap<&'static str, Vec<u8>>,
    duration: Duration,
    rebuild: bool,
    empty: PathBuf,
}

/// Prepare a base state and the publish to kill; run it once uncut to
/// learn the new state's bytes and how long it takes.
fn scenario(t: &Path, rebuild: bool) -> Scenario {
    let key = test_key();
    let base = init_repo(t);
    let first = t.join("first");
    for i in 0..12 {
        pkg(
            &first,
            &format!("base{i:02}"),
            "1.0-1",
            "noarch",
            Some(&key),
        );
    }
    assert_eq!(publish(&base, &first, "2026-05-07T01:00:00Z", &[]).0, 0);
    let new = t.join("new");
    for i in 0..6 {
        let m = manifest(&format!("big{i}"), "2.0-1", "noarch", BUILT);
        package_with(&new, &m, Some(&key), &noise(3 << 20, i + 1));
    }
    for i in 0..4 {
        signed(&new, &format!("base{i:02}"), "1.1-1", "noarch");
    }
    let mut args: Vec<String> = vec!["publish".into(), "--in".into(), "STATE".into()];
    if rebuild {
        // Everything ever published, re-ingested through a whole-tree swap.
        for f in fs::read_dir(&first).unwrap().flatten() {
            if f.file_name().to_string_lossy().ends_with(".peipkg") {
                fs::copy(f.path(), new.join(f.file_name())).unwrap();
            }
        }
        args.extend([
            "--rebuild".into(),
            "--all-packages-dir".into(),
            p(&new).into(),
        ]);
    } else {
        args.extend(["--new".into(), p(&new).into()]);
    }
    args.extend([
        "--sign-key".into(),
        p(&test_key_path()).into(),
        "--timestamp".into(),
        "2026-05-07T02:00:00Z".into(),
        "--out".into(),
        "STATE".into(),
    ]);
    let probe = t.join("probe");
    copy_tree(&base, &probe);
    let start = Instant::now();
    let status = Command::new(env!("CARGO_BIN_EXE_peipkg-repo"))
        .args(with_state(&args, &probe))
        .status()
        .unwrap();
    let duration = start.elapsed();
    assert!(status.success());
    let empty = t.join("empty");
    fs::create_dir(&empty).unwrap();
    Scenario {
        old: signed_docs(&base),
        new: signed_docs(&probe),
        base,
        args,
        duration,
        rebuild,
        empty,
    }
}

fn with_state(args: &[String], state: &Path) -> Vec<String> {
    args.iter()
        .map(|a| {
            if a == "STATE" {
                p(state).to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

fn trials(default: usize) -> usize {
    std::env::var("PEIPKG_CRASH_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn run_trials(s: &Scenario, t: &Path, n: usize, seed: u64) -> (usize, usize, usize) {
    let mut rng = Rng(seed);
    let (mut olds, mut news, mut mid) = (0, 0, 0);
    let window = s.duration.as_micros() as u64 * 12 / 10 + 1;
    for trial in 0..n {
        let state = t.join(format!("trial-{trial}"));
        copy_tree(&s.base, &state);
        // Half the kills anywhere, half in the last third, where the
        // switch and its fsyncs are.
        let micros = if trial % 2 == 0 {
            rng.next() % window
        } else {
            window * 2 / 3 + rng.next() % (window / 3 + 1)
        };
        let delay = Duration::from_micros(micros);
        let mut child = Command::new(env!("CARGO_BIN_EXE_peipkg-repo"))
            .args(with_state(&s.args, &state))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();

        // Right after the kill: exactly old or exactly new, and verify passes.
        let docs = signed_docs(&state);
        let is_old = docs == s.old;
        let is_new = docs == s.new;
        assert!(
            is_old || is_new,
            "trial {trial} (seed {seed}, killed after {delay:?}): the signed documents are neither the old nor the new state"
        );
        if is_old {
            olds += 1;
        } else {
            news += 1;
        }
        // Killed between the journal and the end of the switch.
        if state.join(".peipkg-repo-work/journal.json").exists()
            || leftovers(&state).iter().any(|l| !l.starts_with(&state))
        {
            mid += 1;
        }
        let (code, out, err) = run(&["verify", "--repo", p(&state)]);
        assert_eq!(code, 0, "trial {trial} (seed {seed}, {delay:?}): verify failed right after the kill:\n{out}{err}");

        // The next publish recovers: finishes or undoes, then leaves nothing behind.
        if is_old {
            let (code, _, err) = run(&with_state(&s.args, &state)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>());
            assert_eq!(
                code, 0,
                "trial {trial}: re-running the publish after a rollback failed: {err}"
            );
            assert_eq!(
                signed_docs(&state),
                s.new,
                "trial {trial}: not the new state after recovery"
            );
        } else if !s.rebuild {
            let (code, _, _) = run(&with_state(&s.args, &state)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>());
            assert_eq!(
                code, 1,
                "trial {trial}: re-publishing committed packages must be refused"
            );
            assert_eq!(
                signed_docs(&state),
                s.new,
                "trial {trial}: recovery changed the new state"
            );
        } else {
            let (code, _, err) = publish(&state, &s.empty, "2026-05-07T03:00:00Z", &[]);
            assert_eq!(
                code, 0,
                "trial {trial}: publish after a committed rebuild failed: {err}"
            );
        }
        assert!(
            leftovers(&state).is_empty(),
            "trial {trial}: leftovers {:?}",
            leftovers(&state)
        );
        assert!(
            orphans(&state).is_empty(),
            "trial {trial}: orphan package files {:?}",
            orphans(&state)
        );
        assert_eq!(ok(&["verify", "--repo", p(&state)]), "OK\n");
        fs::remove_dir_all(&state).unwrap();
    }
    (olds, news, mid)
}

fn seed() -> u64 {
    std::env::var("PEIPKG_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

#[test]
fn killed_in_place_publish_leaves_old_or_new_state() {
    let t = tempfile::tempdir().unwrap();
    let s = scenario(t.path(), false);
    let seed = seed();
    let n = trials(25);
    let (olds, news, mid) = run_trials(&s, t.path(), n, seed);
    eprintln!("in-place publish: {n} kills (seed {seed}, uncut run {:?}): {olds} old, {news} new, {mid} inside the switch", s.duration);
    assert_eq!(olds + news, n);
}

#[test]
fn killed_rebuild_leaves_old_or_new_state() {
    let t = tempfile::tempdir().unwrap();
    let s = scenario(t.path(), true);
    let seed = seed();
    let n = trials(12);
    let (olds, news, mid) = run_trials(&s, t.path(), n, seed);
    eprintln!("rebuild: {n} kills (seed {seed}, uncut run {:?}): {olds} old, {news} new, {mid} with a build left beside", s.duration);
}
