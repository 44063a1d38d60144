//! Failures that wedged or stalled the reference farm: a package the
//! repository tool rejects every time (it stayed in the staging directory
//! and made every later publish fail), and a build that never ends (no
//! timeouts at all). Plus builds running side by side.

mod common;

use common::*;
use std::path::Path;

/// A `peipkg-repo` that refuses, every time, to publish any package named
/// `poison` and otherwise runs the real one.
fn picky_repo(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("picky-peipkg-repo");
    std::fs::write(
        &p,
        format!(
            r#"#!/bin/sh
if [ "$1" = publish ]; then
  prev=""
  for a in "$@"; do
    if [ "$prev" = "--new" ] && ls "$a" | grep -q '^poison_'; then
      echo "poison_*: rejected by repository policy" >&2
      exit 3
    fi
    prev="$a"
  done
fi
exec '{}' "$@"
"#,
            sibling("peipkg-repo").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn a_rejected_package_does_not_wedge_later_publishes_and_a_hung_build_times_out() {
    let t = tempfile::tempdir().unwrap();
    let good = Upstream::new(t.path(), "good");
    good.release("v1.0.0", "a.txt", "a", false);
    let poison = Upstream::new(t.path(), "poison");
    poison.release("v1.0.0", "p.txt", "p", false);
    let hang = Upstream::new(t.path(), "hang");
    hang.release("v1.0.0", "h.txt", "h", false);
    let farm = FarmDir::new(t.path());
    for (id, up) in [("good", &good), ("poison", &poison)] {
        farm.recipe(
            id,
            &simple_recipe(id, &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
            &copy_build(id),
        );
    }
    farm.recipe(
        "hang",
        &simple_recipe("hang", &hang.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        "#!/bin/sh\nsleep 300\n",
    );
    let picky = picky_repo(t.path());
    let text = farm.config_text("timeout = \"2s\"\nworkers = 3\n").replace(
        &format!("peipkg_repo = \"{}\"", sibling("peipkg-repo").display()),
        &format!("peipkg_repo = \"{}\"", picky.display()),
    );
    std::fs::write(&farm.config, text).unwrap();

    let started = std::time::Instant::now();
    let r = farm.once();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the hung build stalled the sweep"
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    // The hung build was stopped at its deadline, as a failure.
    let failed = r.events("build failed");
    assert_eq!(failed.len(), 1, "{}", r.stderr);
    assert!(
        failed[0].contains("recipe=hang") && failed[0].contains("timed out after 2s"),
        "{}",
        failed[0]
    );
    // The rejected package failed alone; the good one was published.
    let pf = r.events("publish failed");
    assert_eq!(pf.len(), 1, "{}", r.stderr);
    assert!(
        pf[0].contains("recipe=poison") && pf[0].contains("next_retry_after=1m0s"),
        "{}",
        pf[0]
    );
    assert_eq!(
        farm.archive(),
        vec![("good".into(), "1.0.0-1".into(), "noarch".into())]
    );

    // Next sweep: a new release of the good recipe publishes; the rejected
    // package is not retried inside its window and, above all, is not
    // handed to the repository tool again alongside the new one.
    good.release("v1.1.0", "a.txt", "a2", false);
    let r = farm.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.count("publish failed"), 0, "{}", r.stderr);
    assert_eq!(r.count("build + publish complete"), 1, "{}", r.stderr);
    assert_eq!(
        farm.archive(),
        vec![
            ("good".into(), "1.0.0-1".into(), "noarch".into()),
            ("good".into(), "1.1.0-1".into(), "noarch".into()),
        ]
    );
    assert!(
        r.stderr.contains("waiting for retry (backoff): 2"),
        "{}",
        r.stderr
    );
    for d in ["publish", "repo.next", "work"] {
        let p = farm.state.join(d);
        assert!(
            !p.exists() || std::fs::read_dir(&p).unwrap().count() == 0,
            "{d} was left behind"
        );
    }
    assert_eq!(
        std::fs::read_dir(farm.state.join("built")).unwrap().count(),
        0
    );
}

#[test]
fn two_workers_build_two_recipes_at_once() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    let gate = t.path().join("gate");
    std::fs::create_dir_all(&gate).unwrap();
    let mut ups = Vec::new();
    for id in ["one", "two"] {
        let up = Upstream::new(t.path(), id);
        up.release("v1.0.0", "a.txt", id, false);
        // Each build announces itself, then waits (briefly) for the other:
        // it can only see the other's mark if both run at the same time.
        let build = format!(
            "#!/bin/sh\nset -e\ntouch '{g}/{id}'\ni=0\nwhile [ $i -lt 100 ] && [ $(ls '{g}' | wc -l) -lt 2 ]; do sleep 0.05; i=$((i+1)); done\nls '{g}' > '{g}.{id}.seen'\nmkdir -p \"$DESTDIR/usr/share/{id}\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/{id}/\"\n",
            g = gate.display()
        );
        farm.recipe(
            id,
            &simple_recipe(id, &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
            &build,
        );
        ups.push(up);
    }
    // Unsandboxed: the two builds meet in a directory on the host, which
    // the sandbox (rightly) hides from them.
    farm.write_config("workers = 2\nsandbox = \"none\"\n");
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.count("build + publish complete"), 2, "{}", r.stderr);
    for id in ["one", "two"] {
        let seen = std::fs::read_to_string(format!("{}.{id}.seen", gate.display())).unwrap();
        assert_eq!(seen.lines().count(), 2, "{id} ran alone: {seen:?}");
    }
    // And the log says so.
    let started: Vec<&str> = r.events("starting build");
    let first_done = r
        .stderr
        .lines()
        .position(|l| l.contains("build complete; waiting to publish"))
        .unwrap();
    let second_start = r.stderr.lines().position(|l| l == started[1]).unwrap();
    assert!(
        second_start < first_done,
        "the second build started only after the first finished:\n{}",
        r.stderr
    );
}
