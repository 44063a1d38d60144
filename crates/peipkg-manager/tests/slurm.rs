//! `[build].executor = "slurm"` against a real single-node Slurm cluster
//! (munged + slurmctld + slurmd started by the fixture with their own
//! config in a temporary directory, on free loopback ports, stopped when
//! the test ends). Without Slurm installed these tests fail, unless
//! `PEIPKG_SKIP_SLURM=1` (then the skip is recorded and printed).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{copy_build, free_port, sibling, simple_recipe, Daemon, FarmDir, Upstream};
use peipkg_testkit::slurm::Cluster;

fn node_program() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_peipkg-node"))
}

/// A temporary directory for `test` and a cluster started in it; `None`
/// when the test is to be skipped (see `peipkg_testkit::slurm::require`).
fn cluster(test: &str) -> Option<(tempfile::TempDir, Cluster)> {
    if !peipkg_testkit::slurm::require(test, Path::new(env!("CARGO_TARGET_TMPDIR"))) {
        return None;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("cluster");
    std::fs::create_dir_all(&dir).unwrap();
    let cluster = Cluster::start(&dir);
    Some((t, cluster))
}

/// `[build]` keys and the `[slurm]` table for a farm in `root`.
fn slurm_config(root: &Path, cluster: &Cluster, extra_build: &str) -> String {
    let shared = root.join("shared");
    std::fs::create_dir_all(&shared).unwrap();
    format!(
        "executor = \"slurm\"\nworkers = 2\n{extra_build}\n\n[slurm]\npartition = \"{}\"\nwork_dir = \"{}\"\nnode_program = \"{}\"\nnode_peipkg_build = \"{}\"\npoll_interval = \"200ms\"\nsbatch_args = [\"--nodes=1\"]\n",
        cluster.partition,
        shared.display(),
        node_program().display(),
        sibling("peipkg-build").display(),
    )
}

/// Every `.peipkg` under `dir`, by file name, with its bytes.
fn packages(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "peipkg") {
                out.push((
                    e.file_name().into_string().unwrap(),
                    std::fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn squeue(cluster: &Cluster) -> String {
    let out = cluster
        .client("squeue")
        .args(["-h", "-o", "%i %T"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Waits until `/status` shows a running build whose job is `state`;
/// returns the job id.
fn wait_job(d: &Daemon, state: &str) -> String {
    d.wait_for("the http server", |l| l.contains("server listening"));
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let st = d.status();
        if let Some(job) = st["running"]
            .as_array()
            .and_then(|r| r.iter().find_map(|b| b.get("job")))
        {
            assert_eq!(job["backend"], "slurm");
            if job["state"] == state {
                return job["id"].as_str().unwrap().to_string();
            }
        }
        assert!(
            Instant::now() < deadline,
            "no job in state {state}: {st}\n{}",
            d.text()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A script that waits for `gate` to exist (so the test controls when
/// the job ends), then installs the source as data.
fn gated_build(name: &str, gate: &Path) -> String {
    format!(
        "#!/bin/sh\nset -e\ni=0\nwhile [ ! -e '{}' ]; do sleep 0.1; i=$((i+1)); [ $i -lt 600 ]; done\n{}",
        gate.display(),
        copy_build(name).trim_start_matches("#!/bin/sh\nset -e\n")
    )
}

/// Makes a farm in `root` whose one recipe, `pkg` 1.0.0, builds only once
/// `gate` exists (`extra_build`: more `[build]` keys), starts its manager
/// against `cluster` and waits until the build's job runs. Returns the
/// farm, the manager's HTTP port (a restart listens on it again), the
/// manager and the job's Slurm id.
fn start_gated(
    root: &Path,
    cluster: &Cluster,
    gate: &Path,
    extra_build: &str,
) -> (FarmDir, u16, Daemon, String) {
    let up = Upstream::new(root, "pkg");
    up.release("v1.0.0", "a.txt", "one", false);
    let farm = FarmDir::new(root);
    farm.recipe(
        "pkg",
        &simple_recipe("pkg", &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &gated_build("pkg", gate),
    );
    let port = free_port();
    farm.write_config(&format!(
        "{}\n[http]\naddr = \"127.0.0.1:{port}\"\n",
        slurm_config(&farm.root, cluster, extra_build)
    ));
    let (k, v) = cluster.env();
    let daemon = Daemon::start(&farm, port, &[], &[(k, &v)]);
    let job = wait_job(&daemon, "running");
    (farm, port, daemon, job)
}

#[test]
fn two_recipes_built_through_slurm_are_byte_identical_to_local_builds() {
    let Some((t, cluster)) =
        cluster("two_recipes_built_through_slurm_are_byte_identical_to_local_builds")
    else {
        return;
    };
    let a = Upstream::new(t.path(), "alpha");
    a.release("v1.0.0", "a.txt", "alpha one", true);
    let b = Upstream::new(t.path(), "beta");
    b.release("v2.1.0", "b.txt", "beta two", false);
    let farms: Vec<FarmDir> = ["local", "slurm"]
        .iter()
        .map(|n| {
            let root = t.path().join(n);
            std::fs::create_dir_all(&root).unwrap();
            FarmDir::new(&root)
        })
        .collect();
    // Same key, same farm id, same recipes: the packages must be the same.
    std::fs::copy(&farms[0].key, &farms[1].key).unwrap();
    for f in &farms {
        for (id, up) in [("alpha", &a), ("beta", &b)] {
            f.recipe(
                id,
                &simple_recipe(id, &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
                &copy_build(id),
            );
        }
    }
    farms[1].write_config(&slurm_config(&farms[1].root, &cluster, ""));
    let (k, v) = cluster.env();

    let local = farms[0].once();
    assert_eq!(local.code, 0, "{}", local.stderr);
    let remote = farms[1].run_manager(&["--once"], &[(k, &v)]);
    assert_eq!(remote.code, 0, "{}", remote.stderr);
    assert_eq!(
        remote.count("build complete; waiting to publish"),
        2,
        "{}",
        remote.stderr
    );

    let want = packages(&farms[0].repo());
    assert_eq!(want.len(), 2, "{want:?}");
    assert_eq!(packages(&farms[1].repo()), want);
    assert_eq!(farms[1].archive(), farms[0].archive());
    assert!(farms[1].verify().status.success());
    // The build logs tell the job's story; the job directories are gone.
    let logs = std::fs::read_dir(farms[1].state.join("logs")).unwrap();
    let mut texts = String::new();
    for l in logs {
        texts.push_str(&std::fs::read_to_string(l.unwrap().path()).unwrap());
    }
    assert_eq!(texts.matches("# submitted slurm job").count(), 2, "{texts}");
    assert!(texts.contains("peipkg-build stage"), "{texts}");
    assert!(texts.contains(" seal "), "{texts}");
    let shared = farms[1].root.join("shared/test-farm");
    assert_eq!(std::fs::read_dir(&shared).unwrap().count(), 0);
}

#[test]
fn a_job_cancelled_from_outside_is_a_failure_with_backoff() {
    let Some((t, cluster)) = cluster("a_job_cancelled_from_outside_is_a_failure_with_backoff")
    else {
        return;
    };
    let (farm, _, d, id) = start_gated(t.path(), &cluster, &t.path().join("never"), "");
    // The job is shown wherever builds are.
    let (_, metrics) = d.get("/metrics");
    assert!(
        metrics.contains("peipkg_manager_cluster_jobs{backend=\"slurm\",state=\"running\"} 1"),
        "{metrics}"
    );
    let (_, page) = d.get("/");
    assert!(page.contains(&format!("slurm {id} running")), "{page}");
    let explain = farm.subcommand(&["explain", "pkg"]);
    assert!(
        explain.stdout.contains(&format!("slurm job {id} running")),
        "{}{}",
        explain.stdout,
        explain.stderr
    );
    let st = cluster.client("scancel").arg(&id).status().unwrap();
    assert!(st.success());
    let text = d.wait_for("the build to fail", |l| l.contains("msg=\"build failed\""));
    let line = text
        .lines()
        .find(|l| l.contains("msg=\"build failed\""))
        .unwrap();
    assert!(line.contains(&format!("slurm job {id}")), "{line}");
    assert!(line.contains("cancelled"), "{line}");
    assert!(line.contains("next_retry_after="), "{line}");
    let status = d.status();
    let f = &status["failures"]["pkg@1.0.0-1"];
    assert_eq!(f["failures"], 1, "{status}");
    assert!(
        f["last_error"].as_str().unwrap().contains("cancelled"),
        "{status}"
    );
    // Backing off: nothing was submitted again.
    assert_eq!(squeue(&cluster), "");
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn a_restart_while_a_job_runs_reattaches_and_publishes_once() {
    let Some((t, cluster)) = cluster("a_restart_while_a_job_runs_reattaches_and_publishes_once")
    else {
        return;
    };
    let gate = t.path().join("gate");
    let (farm, port, d, id) = start_gated(
        t.path(),
        &cluster,
        &gate,
        // The gate file lives in the test's directory, which the build
        // sandbox does not show; the sandboxed path is covered above.
        "drain_timeout = \"0s\"\nsandbox = \"none\"",
    );
    let (k, v) = cluster.env();

    // What the node was given holds no key material, and no key is on its
    // command line.
    let job_dir = farm.root.join("shared/test-farm/build-1");
    let key_bytes = std::fs::read(&farm.key).unwrap();
    let key_path = farm.key.display().to_string();
    // Wait until the node runs the build script.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !std::fs::read_to_string(job_dir.join("node.log"))
        .unwrap_or_default()
        .contains("peipkg-build stage")
    {
        assert!(Instant::now() < deadline, "the node never ran stage");
        std::thread::sleep(Duration::from_millis(100));
    }
    for e in std::fs::read_dir(&job_dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        assert!(
            ["job.json", "job.sh", "node.log", "recipe", "src", "staged"].contains(&name.as_str()),
            "{name}"
        );
    }
    for entry in ["job.json", "job.sh", "node.log"] {
        let text = std::fs::read(job_dir.join(entry)).unwrap();
        assert!(
            !text.windows(key_bytes.len()).any(|w| w == key_bytes),
            "{entry}"
        );
    }
    let job: serde_json::Value =
        serde_json::from_slice(&std::fs::read(job_dir.join("job.json")).unwrap()).unwrap();
    assert!(job.get("sign_key").is_none(), "{job}");
    let node_cmds = std::fs::read_to_string(job_dir.join("node.log")).unwrap();
    assert!(node_cmds.contains("peipkg-build"), "{node_cmds}");
    assert!(!node_cmds.contains("--sign-key"), "{node_cmds}");
    assert!(!node_cmds.contains(&format!("={key_path}")), "{node_cmds}");
    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");
    assert!(text.contains("re-queued"), "{text}");
    // The job outlived the manager.
    assert!(squeue(&cluster).starts_with(&id), "{}", squeue(&cluster));

    std::fs::write(&gate, "").unwrap();
    let d = Daemon::start(&farm, port, &[], &[(k, &v)]);
    let text = d.wait_for("the publish", |l| l.contains("build + publish complete"));
    assert_eq!(
        text.matches("build + publish complete").count(),
        1,
        "{text}"
    );
    let log = std::fs::read_to_string(farm.state.join("logs/build-1.log")).unwrap();
    assert_eq!(log.matches("# submitted slurm job").count(), 1, "{log}");
    assert!(
        log.contains(&format!("# re-attached to slurm job {id}")),
        "{log}"
    );
    assert_eq!(
        farm.archive(),
        vec![("pkg".into(), "1.0.0-1".into(), "noarch".into())]
    );
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}

#[test]
fn check_reports_missing_slurm_programs() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    farm.write_config(&format!(
        "executor = \"slurm\"\n\n[slurm]\nwork_dir = \"{}\"\nsbatch = \"sbatch-not-installed-here\"\n",
        t.path().display()
    ));
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 1, "{}{}", r.stdout, r.stderr);
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(
        all.contains("sbatch not found: \"sbatch-not-installed-here\""),
        "{all}"
    );
    assert!(all.contains("[slurm].sbatch"), "{all}");
    // The shared directory must exist.
    farm.write_config(&format!(
        "executor = \"slurm\"\n\n[slurm]\nwork_dir = \"{}\"\n",
        t.path().join("no-such-dir").display()
    ));
    let r = farm.subcommand(&["check"]);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("no-such-dir: not a directory"),
        "{}{}",
        r.stdout,
        r.stderr
    );
    // Without a [slurm] table the executor is refused by name.
    farm.write_config("executor = \"slurm\"\n");
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 1);
    assert!(
        format!("{}{}", r.stdout, r.stderr).contains("needs a [slurm] table"),
        "{}{}",
        r.stdout,
        r.stderr
    );
}

#[test]
fn a_job_whose_build_is_dropped_after_a_restart_is_cancelled() {
    let Some((t, cluster)) = cluster("a_job_whose_build_is_dropped_after_a_restart_is_cancelled")
    else {
        return;
    };
    let (farm, port, d, id) = start_gated(
        t.path(),
        &cluster,
        &t.path().join("never"),
        "drain_timeout = \"0s\"",
    );
    let (k, v) = cluster.env();
    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");
    assert!(squeue(&cluster).starts_with(&id), "{}", squeue(&cluster));

    // The recipe goes while the manager is down.
    std::fs::remove_dir_all(farm.recipes.join("pkg")).unwrap();
    let d = Daemon::start(&farm, port, &["--log-level", "debug"], &[(k, &v)]);
    d.wait_for("the build to be dropped", |l| l.contains("trigger dropped"));
    let deadline = Instant::now() + Duration::from_secs(30);
    while !squeue(&cluster).is_empty() {
        assert!(
            Instant::now() < deadline,
            "job still there: {}",
            squeue(&cluster)
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(!farm.root.join("shared/test-farm/build-1").exists());
    let (code, _) = d.stop();
    assert_eq!(code, Some(0));
}
