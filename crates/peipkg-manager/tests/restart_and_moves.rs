//! Persistence: a moved tag is noticed and not rebuilt; a manager killed
//! in the middle of its queue resumes where it stopped.

mod common;

use common::*;
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_moved_published_tag_is_reported_not_rebuilt() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "lib");
    let first = up.release("v1.0.0", "a.txt", "original", true);
    let farm = FarmDir::new(t.path());
    farm.recipe(
        "lib",
        &simple_recipe("lib", &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &copy_build("lib"),
    );
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);

    // Upstream force-moves the release tag to a new commit.
    std::fs::write(up.dir.join("a.txt"), "sneaky change").unwrap();
    git(&up.dir, &["commit", "-q", "-am", "rewrite"]);
    git(&up.dir, &["tag", "-f", "-a", "-m", "moved", "v1.0.0"]);
    let moved_to = git(&up.dir, &["rev-parse", "HEAD"]);
    assert_ne!(first, moved_to);

    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.count("starting build"), 0, "{}", r.stderr);
    let warn = r.events("published tag moved; not rebuilding");
    assert_eq!(warn.len(), 1, "{}", r.stderr);
    assert!(
        warn[0].contains(&first) && warn[0].contains(&moved_to),
        "{}",
        warn[0]
    );

    // Logged once per move, not on every poll.
    let r = farm.once();
    assert_eq!(
        r.count("published tag moved; not rebuilding"),
        0,
        "{}",
        r.stderr
    );

    // explain shows it.
    let out = farm.subcommand(&["explain", "lib", "--json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows[0]["tag"], "v1.0.0");
    assert_eq!(rows[0]["status"], "moved");
}

#[test]
fn a_killed_manager_resumes_its_queue_after_restart() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "slow");
    up.release("v1.0.0", "a.txt", "fast", false);
    up.release("v1.1.0", "a.txt", "slow", false);
    up.release("v1.2.0", "a.txt", "fast again", false);
    let farm = FarmDir::new(t.path());
    // The "slow" release waits for a gate the test opens only after it has
    // killed the manager.
    // In a recipe directory: the sandboxed build sees it (read-only).
    let gate = farm.recipes.join("slow/gate");
    let build = format!(
        "#!/bin/sh\nset -e\nif grep -qx slow \"$SOURCE_DIR/a.txt\"; then i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi\nmkdir -p \"$DESTDIR/usr/share/slow\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/slow/\"\n",
        gate.display()
    );
    let build = build.as_str();
    farm.recipe(
        "slow",
        &simple_recipe("slow", &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        build,
    );

    let errlog = t.path().join("first.err");
    let mut child = spawn_once(&farm, &errlog);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(&errlog).unwrap_or_default();
        if text
            .lines()
            .any(|l| l.contains("msg=\"starting build\"") && l.contains("version=1.1.0-1"))
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the slow build never started:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(&gate, "").unwrap();
    let mut first = String::new();
    std::fs::File::open(&errlog)
        .unwrap()
        .read_to_string(&mut first)
        .unwrap();
    assert!(first.contains("build + publish complete") || first.contains("version=1.0.0-1"));

    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The gated 1.1.0 build was running when the manager died, so it must
    // come back; on a loaded machine a second worker may also have been
    // mid-build of another version at the kill, which is re-queued too.
    let requeued = r.events("re-queued interrupted build");
    assert!(
        requeued.iter().any(|l| l.contains("version=1.1.0-1")),
        "{}",
        r.stderr
    );
    assert!(
        requeued.iter().all(|l| ["1.0.0-1", "1.1.0-1", "1.2.0-1"]
            .iter()
            .any(|v| l.contains(&format!("version={v}")))),
        "{}",
        r.stderr
    );
    let versions: Vec<String> = farm.archive().into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(versions, vec!["1.0.0-1", "1.1.0-1", "1.2.0-1"]);
    assert!(farm.verify().status.success());
    // Nothing was built twice into the archive and nothing is left queued.
    let r = farm.once();
    assert_eq!((r.code, r.count("starting build")), (0, 0), "{}", r.stderr);
}

/// Children are started without `PR_SET_PDEATHSIG` (it would force fork());
/// the manager's guardian stops them when the manager is SIGKILLed, with no
/// new manager started to clean up.
#[test]
fn no_child_outlives_a_killed_manager() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "hang");
    up.release("v1.0.0", "a.txt", "hang", false);
    let farm = FarmDir::new(t.path());
    // Waits up to 60 s for a gate that never opens.
    let gate = farm.recipes.join("hang/gate");
    let build = format!(
        "#!/bin/sh\nset -e\ni=0; while [ ! -e '{}' ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done\nmkdir -p \"$DESTDIR/usr/share/hang\"\n",
        gate.display()
    );
    farm.recipe(
        "hang",
        &simple_recipe("hang", &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &build,
    );
    let errlog = t.path().join("err");
    let mut child = spawn_once(&farm, &errlog);
    let deadline = Instant::now() + Duration::from_secs(60);
    // The build is running once peipkg-build, with the farm's paths on its
    // command line, is.
    let farm_dir = farm.root.clone();
    loop {
        let running = peipkg_testkit::procs::processes_naming(&farm_dir);
        if running.iter().any(|p| p.contains("peipkg-build")) {
            // Let it start the script.
            std::thread::sleep(Duration::from_millis(300));
            break;
        }
        let text = std::fs::read_to_string(&errlog).unwrap_or_default();
        assert!(
            Instant::now() < deadline,
            "the build never started:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = peipkg_testkit::procs::processes_naming(&farm_dir);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "processes outlived the killed manager: {left:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `peipkg-manager --once` on `farm` in the background, its stderr going
/// to `errlog` (which the test polls for the build's progress).
fn spawn_once(farm: &FarmDir, errlog: &std::path::Path) -> std::process::Child {
    Command::new(manager())
        .args(["--once", "--config"])
        .arg(&farm.config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(errlog).unwrap())
        .spawn()
        .unwrap()
}
