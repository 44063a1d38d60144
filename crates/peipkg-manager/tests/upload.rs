//! Uploads with the real rclone: to a local-filesystem remote and to a real
//! S3 endpoint on loopback (moto_server), each made unavailable once and
//! then recovered. A failed upload must never hold back later builds or
//! publishes, and the next successful upload must carry all of them.

mod common;

use common::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// An rclone wrapper that records each invocation, then runs the real one.
fn recording_rclone(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let calls = dir.join("rclone-calls.txt");
    let wrapper = dir.join("rclone-recording");
    let real = std::process::Command::new("sh")
        .args(["-c", "command -v rclone"])
        .output()
        .unwrap();
    let real = String::from_utf8_lossy(&real.stdout).trim().to_string();
    assert!(
        !real.is_empty(),
        "rclone is not installed (apt-get install -y rclone)"
    );
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{real}' \"$@\"\n",
            calls.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    (wrapper, calls)
}

#[test]
fn local_remote_two_pass_order_failure_and_recovery() {
    let t = tempfile::tempdir().unwrap();
    let (up, farm) = one_release_farm(t.path(), |r| r);
    let (wrapper, calls) = recording_rclone(t.path());
    // The remote sits below a regular file: every upload fails until the
    // file is replaced by a directory.
    let blocker = t.path().join("www");
    std::fs::write(&blocker, "not a directory").unwrap();
    let remote_dir = blocker.join("bucket");
    farm.write_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"tlocal:{}\"\nrclone = \"{}\"\nretry_min = \"1s\"\nretry_max = \"2s\"\nonce_attempts = 2\ntimeout = \"60s\"\n",
        remote_dir.display(),
        wrapper.display()
    ));
    let env = [("RCLONE_CONFIG_TLOCAL_TYPE", "local")];

    let r = farm.run_manager(&["--once"], &env);
    assert_eq!(r.code, 1, "a failed upload must fail --once:\n{}", r.stderr);
    assert_eq!(r.count("upload failed"), 2, "{}", r.stderr);
    assert!(r.stderr.contains("upload: FAILED"), "{}", r.stderr);
    assert_eq!(
        farm.archive().len(),
        1,
        "the publish must not wait for the upload"
    );

    // Still unavailable; a new release is built and published anyway.
    up.release("v1.1.0", "a.txt", "two", false);
    let r = farm.run_manager(&["--once"], &env);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.count("build + publish complete"), 1, "{}", r.stderr);
    assert_eq!(farm.archive().len(), 2);

    // The remote comes back: nothing new to build, but the pending upload
    // goes out, carrying both releases.
    std::fs::remove_file(&blocker).unwrap();
    std::fs::create_dir_all(&blocker).unwrap();
    std::fs::write(&calls, "").unwrap();
    let r = farm.run_manager(&["--once"], &env);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.count("starting build"), 0);
    assert_eq!(r.count("upload complete"), 1, "{}", r.stderr);
    let local = files_under(&farm.repo());
    let remote = files_under(&remote_dir);
    assert_eq!(local, remote, "remote must mirror the local state");
    for f in [
        "p/pkg/1.0.0-1/pkg_1.0.0-1_noarch.peipkg",
        "p/pkg/1.1.0-1/pkg_1.1.0-1_noarch.peipkg",
        "repo.json",
        "repo.json.sig",
        "index/archive.json",
    ] {
        assert!(
            remote.contains(&f.to_string()),
            "{f} missing from remote: {remote:?}"
        );
    }
    assert_eq!(
        std::fs::read(remote_dir.join("index/archive.json")).unwrap(),
        std::fs::read(farm.repo().join("index/archive.json")).unwrap()
    );
    // Ordered passes: packages (immutable), other objects (indexes and
    // descriptor excluded), then indexes, then the descriptor.
    let log = std::fs::read_to_string(&calls).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 5, "{log}");
    assert!(
        lines[0].contains("--include *.peipkg") && lines[0].contains("immutable"),
        "{log}"
    );
    assert!(
        lines[1].contains("--exclude *.peipkg")
            && lines[1].contains("--exclude /index/**")
            && lines[1].contains("--exclude /repo.json"),
        "{log}"
    );
    assert!(
        lines[2].contains("/index") && lines[2].contains("bucket/index"),
        "{log}"
    );
    assert!(
        lines[3].contains("--include /repo.json") && lines[3].contains("--include /repo.json.sig"),
        "{log}"
    );
    for l in &lines[1..4] {
        assert!(l.contains("max-age=60"), "{l}");
    }
    // Then the descriptor and indexes are checked on the remote.
    assert!(
        lines[4].starts_with("check --one-way") && lines[4].contains("--include /index/**"),
        "{log}"
    );

    // Up to date: the next run uploads nothing.
    let r = farm.run_manager(&["--once"], &env);
    assert_eq!((r.code, r.count("upload complete")), (0, 0), "{}", r.stderr);
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Moto {
    child: Child,
}

impl Moto {
    fn start(port: u16) -> Moto {
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("moto_server is not installed (pip install 'moto[server]')");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "moto_server did not start");
            std::thread::sleep(Duration::from_millis(100));
        }
        Moto { child }
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A CA bundle meant for real AWS makes rclone refuse a plain-HTTP
/// endpoint; the loopback endpoint needs none.
const NOT_FOR_S3: &[&str] = &["AWS_CA_BUNDLE"];

fn rclone(env: &[(String, String)], args: &[&str]) -> std::process::Output {
    let mut c = Command::new("rclone");
    c.args(args);
    for k in NOT_FOR_S3 {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

#[test]
fn s3_endpoint_on_loopback_with_an_outage() {
    let t = tempfile::tempdir().unwrap();
    let port = free_port();
    let moto = Moto::start(port);
    let env: Vec<(String, String)> = [
        ("RCLONE_CONFIG_TS3_TYPE", "s3".to_string()),
        ("RCLONE_CONFIG_TS3_PROVIDER", "Other".into()),
        (
            "RCLONE_CONFIG_TS3_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
        ),
        ("RCLONE_CONFIG_TS3_ACCESS_KEY_ID", "test".into()),
        ("RCLONE_CONFIG_TS3_SECRET_ACCESS_KEY", "test".into()),
        ("RCLONE_CONFIG_TS3_REGION", "us-east-1".into()),
        ("RCLONE_CONFIG_TS3_FORCE_PATH_STYLE", "true".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let mk = rclone(&env, &["mkdir", "ts3:pkgs"]);
    assert!(
        mk.status.success(),
        "{}",
        String::from_utf8_lossy(&mk.stderr)
    );

    let (up, farm) = one_release_farm(t.path(), |r| r);
    farm.write_config(
        "[upload]\nbackend = \"rclone\"\nremote = \"ts3:pkgs/repo\"\nretry_min = \"1s\"\nretry_max = \"1s\"\nonce_attempts = 1\ntimeout = \"60s\"\n",
    );
    let envs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = farm.run_manager_with(&["--once"], &envs, NOT_FOR_S3);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ls = rclone(&env, &["lsf", "-R", "--files-only", "ts3:pkgs/repo"]);
    let listed = String::from_utf8_lossy(&ls.stdout).to_string();
    assert!(
        listed.contains("p/pkg/1.0.0-1/pkg_1.0.0-1_noarch.peipkg"),
        "{listed}"
    );
    assert!(listed.lines().any(|l| l == "repo.json"), "{listed}");

    // The endpoint goes away; a new release still publishes locally.
    moto.stop();
    up.release("v1.1.0", "a.txt", "two", false);
    let r = farm.run_manager_with(&["--once"], &envs, NOT_FOR_S3);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.count("build + publish complete"), 1, "{}", r.stderr);
    assert_eq!(r.count("upload failed"), 1, "{}", r.stderr);

    // It comes back (empty, as a new bucket would be): the next run
    // uploads the whole state.
    let moto = Moto::start(port);
    let mk = rclone(&env, &["mkdir", "ts3:pkgs"]);
    assert!(mk.status.success());
    let r = farm.run_manager_with(&["--once"], &envs, NOT_FOR_S3);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let ls = rclone(&env, &["lsf", "-R", "--files-only", "ts3:pkgs/repo"]);
    let listed = String::from_utf8_lossy(&ls.stdout).to_string();
    for f in [
        "p/pkg/1.0.0-1/pkg_1.0.0-1_noarch.peipkg",
        "p/pkg/1.1.0-1/pkg_1.1.0-1_noarch.peipkg",
        "index/archive.json",
        "repo.json.sig",
    ] {
        assert!(listed.lines().any(|l| l == f), "{f} missing:\n{listed}");
    }
    // Cache-Control reached the object store: packages immutable, indexes
    // short-lived.
    let meta = |path: &str| -> serde_json::Value {
        let out = rclone(&env, &["lsjson", "-M", &format!("ts3:pkgs/repo/{path}")]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v[0]["Metadata"].clone()
    };
    let pkg = meta("p/pkg/1.1.0-1/pkg_1.1.0-1_noarch.peipkg");
    assert_eq!(
        pkg["cache-control"], "public, max-age=31536000, immutable",
        "{pkg}"
    );
    let idx = meta("index/archive.json");
    assert_eq!(idx["cache-control"], "public, max-age=60", "{idx}");
    let cat = rclone(&env, &["cat", "ts3:pkgs/repo/index/archive.json"]);
    assert_eq!(
        cat.stdout,
        std::fs::read(farm.repo().join("index/archive.json")).unwrap()
    );
    moto.stop();
}

#[test]
fn an_upload_the_remote_did_not_keep_is_caught_by_the_check() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = one_release_farm(t.path(), |r| r);
    // A remote that acknowledges the index pass but keeps nothing of it.
    let (real, _) = recording_rclone(t.path());
    let liar = t.path().join("rclone-liar");
    std::fs::write(
        &liar,
        format!(
            "#!/bin/sh\ncase \"$3\" in */index) exit 0;; esac\nexec '{}' \"$@\"\n",
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&liar, std::fs::Permissions::from_mode(0o755)).unwrap();
    let remote = t.path().join("www");
    std::fs::create_dir_all(&remote).unwrap();
    farm.write_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"tlocal:{}\"\nrclone = \"{}\"\nonce_attempts = 1\n",
        remote.display(),
        liar.display()
    ));
    let r = farm.run_manager(&["--once"], &[("RCLONE_CONFIG_TLOCAL_TYPE", "local")]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let failed = r.events("upload failed");
    assert_eq!(failed.len(), 1, "{}", r.stderr);
    assert!(
        failed[0].contains("rclone upload (verify)"),
        "{}",
        failed[0]
    );
}
