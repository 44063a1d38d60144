//! A package's bytes must not depend on how many cores the build ran on
//! (PSD-009 reproducibility; the writer picks min(cores, 2) zstd workers).
//!
//! Builds the same package with the library writer `peipkg-build` uses,
//! once pinned to one core with `taskset -c 0` and once on every core the
//! test may use, and compares the bytes. Skipped (with a message) where
//! `taskset` is missing or the machine has a single core, since the two
//! runs would then not differ in anything.

use std::path::Path;
use std::process::Command;

const BENCH: &str = env!("CARGO_BIN_EXE_bench-build");

fn taskset_works() -> bool {
    Command::new("taskset")
        .args(["-c", "0", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// Runs `worker pack`, optionally under `taskset -c 0`; returns the
/// package bytes and the core count the writer saw.
fn pack(level: &str, tree: &Path, out: &Path, one_core: bool) -> (Vec<u8>, usize) {
    let mut cmd = if one_core {
        let mut c = Command::new("taskset");
        c.args(["-c", "0", BENCH]);
        c
    } else {
        Command::new(BENCH)
    };
    let o = cmd
        .args(["worker", "pack", level])
        .arg(tree)
        .arg(out)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "pack at level {level} (one core: {one_core}) failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8_lossy(&o.stdout);
    let cores = stdout
        .lines()
        .find_map(|l| l.strip_prefix("cores="))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no cores= line in {stdout:?}"));
    (std::fs::read(out).unwrap(), cores)
}

fn tree(dir: &Path, bytes: u64, files: u64) {
    let o = Command::new(BENCH)
        .args(["worker", "tree", "w2"])
        .arg(bytes.to_string())
        .arg(files.to_string())
        .arg("3")
        .arg(dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn package_bytes_do_not_depend_on_cores() {
    if !taskset_works() {
        eprintln!("SKIPPED: taskset is missing or cannot pin to CPU 0");
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 {
        eprintln!("SKIPPED: only one core, nothing to compare");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    // Several zstd jobs (2 MiB each), so the two workers really share the
    // frame when two cores are available; and a tiny tree at the default
    // level, the common case.
    let cases = [
        ("1", 7u64 << 20, 40u64),
        ("3", 7 << 20, 40),
        ("default", 300 << 10, 20),
    ];
    for (i, (level, bytes, files)) in cases.iter().enumerate() {
        let src = tmp.path().join(format!("tree{i}"));
        std::fs::create_dir(&src).unwrap();
        tree(&src, *bytes, *files);
        let (one, seen_one) = pack(
            level,
            &src,
            &tmp.path().join(format!("one{i}.peipkg")),
            true,
        );
        let (all, seen_all) = pack(
            level,
            &src,
            &tmp.path().join(format!("all{i}.peipkg")),
            false,
        );
        assert_eq!(
            seen_one, 1,
            "taskset -c 0 did not limit the writer to one core"
        );
        assert!(
            seen_all >= 2,
            "expected at least 2 cores without taskset, saw {seen_all}"
        );
        assert!(
            one.len() > 1000,
            "level {level}: suspiciously small package"
        );
        assert!(
            one == all,
            "level {level}: package differs between 1 core ({} bytes) and {seen_all} cores ({} bytes)",
            one.len(),
            all.len()
        );
    }
}
