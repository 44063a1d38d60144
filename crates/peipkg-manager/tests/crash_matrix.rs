//! The short crash matrix (issue #10 item 4): `peipkg-manager --once` is
//! SIGKILLed at each phase of a farm pass (through its fault-injection
//! hook, `PEIPKG_MANAGER_FAILPOINT`), then a normal run follows. After it:
//! the live state verifies, holds every released version, the remote (a
//! real rclone local remote) holds every file of the live state with the
//! same bytes, no directory or process is left over. The long version with
//! many trials and random delays is `crash-farm` in peipkg-bench.

mod common;

use common::*;
use peipkg_testkit::procs::processes_naming;
use std::path::Path;

fn check_invariants(farm: &FarmDir, remote: &Path, versions: &[String], phase: &str) {
    let v = farm.verify();
    assert!(
        v.status.success(),
        "{phase}: live state fails verify: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    let archive = farm.archive();
    for want in versions {
        assert!(
            archive.iter().any(|(n, v, _)| n == "pkg" && v == want),
            "{phase}: {want} not published: {archive:?}"
        );
    }
    let repo = farm.repo();
    for f in files_under(&repo) {
        let local = std::fs::read(repo.join(&f)).unwrap();
        let remote_bytes = std::fs::read(remote.join(&f))
            .unwrap_or_else(|_| panic!("{phase}: {f} is not on the remote"));
        assert!(local == remote_bytes, "{phase}: remote {f} differs");
    }
    for leak in ["repo.next", "repo.swap", "publish", "upload"] {
        assert!(
            !farm.state.join(leak).exists(),
            "{phase}: state/{leak} left over"
        );
    }
    assert!(
        !repo.join(".peipkg-repo-work").exists(),
        "{phase}: peipkg-repo's work directory left in the live state"
    );
    for dir in ["built", "work", "children"] {
        let left = files_under(&farm.state.join(dir));
        let dirs: Vec<_> = std::fs::read_dir(farm.state.join(dir))
            .map(|r| r.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(
            left.is_empty() && dirs.is_empty(),
            "{phase}: state/{dir} not empty: {left:?} {dirs:?}"
        );
    }
}

#[test]
fn killed_at_every_phase_then_a_normal_run_leaves_a_whole_farm() {
    let t = tempfile::tempdir().unwrap();
    let (up, farm) = one_release_farm(t.path(), |r| r);
    let remote = t.path().join("remote");
    farm.write_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"tlocal:{}\"\nretry_min = \"1s\"\nretry_max = \"2s\"\ntimeout = \"60s\"\n",
        remote.display()
    ));
    let env = [("RCLONE_CONFIG_TLOCAL_TYPE", "local")];
    // The phases where a kill used to leave something behind; crash-farm
    // runs all of them, many times.
    let phases = [
        "spawn:clone@15",
        "kept",
        "spawn:peipkg-repo publish@5",
        "switched",
        "spawn:copy@10",
    ];
    let mut versions = vec!["1.0.0-1".to_string()];
    for (i, phase) in phases.iter().enumerate() {
        // One new release per phase, so every pass has a build to do.
        let minor = i + 1;
        up.release(
            &format!("v1.{minor}.0"),
            "a.txt",
            &format!("release {minor}"),
            false,
        );
        versions.push(format!("1.{minor}.0-1"));
        let mut killed_env = env.to_vec();
        killed_env.push(("PEIPKG_MANAGER_FAILPOINT", phase));
        let r = farm.run_manager(&["--once"], &killed_env);
        assert_eq!(
            r.code, -1,
            "{phase}: the manager was not killed there:\n{}",
            r.stderr
        );
        let r = farm.run_manager(&["--once"], &env);
        assert_eq!(
            r.code, 0,
            "{phase}: the run after the kill failed:\n{}",
            r.stderr
        );
        check_invariants(&farm, &remote, &versions, phase);
        let left = processes_naming(t.path());
        assert!(left.is_empty(), "{phase}: processes left: {left:?}");
    }
}
