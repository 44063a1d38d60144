//! Running a farm: systemd notification, readiness, the state lock,
//! webhooks without a usable secret, and the operator commands (retry,
//! pause, resume, poll, cancel) acting on a running daemon through the
//! database.

mod common;

use common::*;
use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

/// Receives notifications until one contains `want`.
fn expect_notify(sock: &UnixDatagram, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = String::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = sock.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]).to_string();
            if msg.contains(want) {
                return msg;
            }
            seen.push_str(&msg);
            seen.push('\n');
        }
    }
    panic!("no {want:?} notification; got:\n{seen}");
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ok() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn systemd_readiness_lock_and_webhooks_without_a_secret() {
    let t = tempfile::tempdir().unwrap();
    let (up, farm) = one_release_farm(t.path(), |r| {
        r.replace("[watch]\n", "[watch]\ngithub_webhook = true\n")
    });
    let port = free_port();
    let http_cfg = format!("[http]\naddr = \"127.0.0.1:{port}\"\n");
    farm.write_config(&http_cfg);
    let sock_path = t.path().join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let d = Daemon::start(
        &farm,
        port,
        &[],
        &[
            ("NOTIFY_SOCKET", sock_path.to_str().unwrap()),
            ("WATCHDOG_USEC", "3000000"),
        ],
    );
    expect_notify(&sock, "READY=1");
    expect_notify(&sock, "WATCHDOG=1");
    assert_eq!(d.get("/readyz"), (200, "ready\n".to_string()));
    d.wait_for("publish", |l| l.contains("build + publish complete"));

    // A second manager on the same state refuses to start.
    let r = farm.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("another peipkg-manager is already using state_dir"),
        "{}",
        r.stderr
    );

    // No secret configured: webhooks are refused, not accepted unsigned.
    let payload = format!(r#"{{"repository":{{"clone_url":"{}"}}}}"#, up.url());
    let (code, body) = http(
        port,
        "POST",
        "/webhooks/github",
        &[("X-GitHub-Event", "release")],
        payload.as_bytes(),
    );
    assert_eq!(code, 403, "{body}");
    assert!(d
        .text()
        .contains("webhook refused: no [http].webhook_secret_file configured"));

    // An empty secret file (set live by a reload) verifies nothing either.
    let secret = t.path().join("secret");
    std::fs::write(&secret, "\n").unwrap();
    farm.write_config(&format!(
        "{http_cfg}webhook_secret_file = \"{}\"\n",
        secret.display()
    ));
    d.signal(libc::SIGHUP);
    expect_notify(&sock, "RELOADING=1");
    expect_notify(&sock, "READY=1");
    let (code, _) = http(
        port,
        "POST",
        "/webhooks/github",
        &[
            ("X-GitHub-Event", "release"),
            ("X-Hub-Signature-256", "sha256="),
        ],
        payload.as_bytes(),
    );
    assert_eq!(code, 401);
    assert_eq!(
        d.text().matches("msg=\"webhook accepted").count(),
        0,
        "an unsigned webhook was accepted"
    );

    // A real secret (again live): Gitea signs like GitHub without the
    // prefix, GitLab sends the token itself.
    std::fs::write(&secret, "tok3n\n").unwrap();
    d.signal(libc::SIGHUP);
    expect_notify(&sock, "READY=1");
    let gitlab = format!(
        r#"{{"ref":"refs/tags/v1.0.0","project":{{"web_url":"https://gitlab.example/x","git_http_url":"{}"}}}}"#,
        up.url()
    );
    let (code, _) = http(
        port,
        "POST",
        "/webhooks/gitlab",
        &[
            ("X-Gitlab-Event", "Tag Push Hook"),
            ("X-Gitlab-Token", "wrong"),
        ],
        gitlab.as_bytes(),
    );
    assert_eq!(code, 401);
    let (code, _) = http(
        port,
        "POST",
        "/webhooks/gitlab",
        &[
            ("X-Gitlab-Event", "Tag Push Hook"),
            ("X-Gitlab-Token", "tok3n"),
        ],
        gitlab.as_bytes(),
    );
    assert_eq!(code, 200);
    let gitea = format!(
        r#"{{"ref":"refs/tags/v1.0.0","repository":{{"clone_url":"{}"}}}}"#,
        up.url()
    );
    let sig = {
        use hmac::{Hmac, Mac};
        let mut m = Hmac::<sha2::Sha256>::new_from_slice(b"tok3n").unwrap();
        m.update(gitea.as_bytes());
        hex::encode(m.finalize().into_bytes())
    };
    let (code, _) = http(
        port,
        "POST",
        "/webhooks/gitea",
        &[("X-Gitea-Event", "push"), ("X-Gitea-Signature", &sig)],
        gitea.as_bytes(),
    );
    assert_eq!(code, 200);
    assert_eq!(
        d.text()
            .matches("msg=\"webhook accepted, triggering immediate poll\" recipe=pkg")
            .count(),
        2,
        "{}",
        d.text()
    );

    d.signal(libc::SIGTERM);
    expect_notify(&sock, "STOPPING=1");
    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn operator_commands_drive_a_running_daemon() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    // In a recipe directory: the sandboxed build sees it (read-only).
    let marker = farm.recipes.join("flaky/fixed");
    let gate = farm.recipes.join("blocker/gate");
    // flaky fails until the marker exists; blocker holds the only worker
    // until the gate exists.
    let flaky = Upstream::new(t.path(), "flaky");
    flaky.release("v1.0.0", "a.txt", "a", false);
    farm.recipe(
        "flaky",
        &simple_recipe("flaky", &flaky.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &format!(
            "#!/bin/sh\nset -e\ntest -e '{}' || {{ echo 'not fixed yet' >&2; exit 1; }}\nmkdir -p \"$DESTDIR/usr/share/flaky\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/flaky/\"\n",
            marker.display()
        ),
    );
    let port = free_port();
    // One worker, which the blocker holds (the default is one per core).
    farm.write_config(&format!(
        "workers = 1\n[http]\naddr = \"127.0.0.1:{port}\"\n"
    ));
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("the first failure", |l| l.contains("msg=\"build failed\""));

    // retry: the backoff window (a minute) is cut short.
    std::fs::write(&marker, "").unwrap();
    let r = farm.subcommand(&["retry", "flaky@1.0.0-1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    d.wait_for("the retried build", |l| {
        l.contains("build + publish complete") && l.contains("version=1.0.0-1")
    });
    assert!(d.text().contains("msg=\"retrying failed build\""));
    let r = farm.subcommand(&["retry", "flaky@9.9.9-1"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("has no failure record"), "{}", r.stderr);

    // pause: a requested poll waits until resume.
    let r = farm.subcommand(&[
        "pause",
        "flaky",
        "--reason",
        "upstream is rewriting history",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    wait_until("the pause in /status", || {
        d.status()["paused"]["flaky"] == "upstream is rewriting history"
    });
    flaky.release("v1.1.0", "a.txt", "b", false);
    let polls_before = d.text().matches("msg=\"polling upstream\"").count();
    let r = farm.subcommand(&["poll", "flaky"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Once the scheduler has taken the request from the database it has
    // decided; a paused recipe must not have been polled.
    let db = rusqlite::Connection::open(farm.state.join("manager.db")).unwrap();
    wait_until("the scheduler to take the request", || {
        db.query_row("SELECT COUNT(*) FROM requests", [], |r| r.get::<_, i64>(0))
            .unwrap()
            == 0
    });
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(
        d.text().matches("msg=\"polling upstream\"").count(),
        polls_before,
        "a paused recipe was polled"
    );
    let r = farm.subcommand(&["resume", "flaky"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    d.wait_for("the build after resume", |l| {
        l.contains("build + publish complete") && l.contains("version=1.1.0-1")
    });

    // cancel: a queued build behind a running one is dropped.
    let blocker = Upstream::new(t.path(), "blocker");
    blocker.release("v1.0.0", "a.txt", "a", false);
    farm.recipe(
        "blocker",
        &simple_recipe("blocker", &blocker.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &format!(
            "#!/bin/sh\nset -e\nwhile [ ! -e '{}' ]; do sleep 0.05; done\nmkdir -p \"$DESTDIR/usr/share/blocker\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/blocker/\"\n",
            gate.display()
        ),
    );
    d.signal(libc::SIGHUP);
    d.wait_for("the blocker", |l| {
        l.contains("msg=\"starting build\"") && l.contains("recipe=blocker")
    });
    flaky.release("v1.2.0", "a.txt", "c", false);
    assert_eq!(farm.subcommand(&["poll", "flaky"]).code, 0);
    let mut id = 0;
    wait_until("flaky 1.2.0 queued", || {
        let st = d.status();
        let q = st["queue"].as_array().unwrap();
        if let Some(b) = q.iter().find(|b| b["version"] == "1.2.0-1") {
            id = b["build_id"].as_i64().unwrap();
            true
        } else {
            false
        }
    });
    let r = farm.subcommand(&["cancel", &id.to_string()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains(&format!("build {id} cancelled")));
    std::fs::write(&gate, "").unwrap();
    d.wait_for("the blocker's publish", |l| {
        l.contains("build + publish complete") && l.contains("recipe=blocker")
    });
    wait_until("an idle worker", || {
        d.status()["running"] == serde_json::json!([])
    });
    let text = d.text();
    assert!(
        !text
            .lines()
            .any(|l| l.contains("msg=\"starting build\"") && l.contains("version=1.2.0-1")),
        "the cancelled build ran:\n{text}"
    );
    let r = farm.subcommand(&["cancel", &id.to_string()]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");
    let versions: Vec<String> = farm
        .archive()
        .into_iter()
        .map(|(n, v, _)| format!("{n} {v}"))
        .collect();
    assert_eq!(
        versions,
        vec!["blocker 1.0.0-1", "flaky 1.0.0-1", "flaky 1.1.0-1"]
    );
}

#[test]
fn the_shipped_systemd_unit_reloads_drains_and_notifies() {
    let unit = include_str!("../contrib/peipkg-manager.service");
    let value = |key: &str| {
        unit.lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key}= missing"))
            .to_string()
    };
    // `systemctl reload` works (the reference's docs promised it without
    // an ExecReload=).
    assert_eq!(value("ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(value("Type"), "notify");
    // SIGTERM reaches the manager alone, which drains; builds are not
    // killed by systemd before the drain timeout has passed.
    assert_eq!(value("KillMode"), "mixed");
    let stop = peipkg_cli::parse_duration(&value("TimeoutStopSec").replace("min", "m")).unwrap();
    assert!(stop > Duration::from_secs(15 * 60), "{stop:?}");
    // rclone finds its config despite ProtectHome.
    assert_eq!(value("ProtectHome"), "true");
    assert!(value("Environment").starts_with("RCLONE_CONFIG=/etc/"));

    let Some(analyze) = ["/usr/bin/systemd-analyze", "/bin/systemd-analyze"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
    else {
        eprintln!("systemd-analyze not installed; unit syntax not verified");
        return;
    };
    // Verify a copy that points at this build and a user that exists.
    let t = tempfile::tempdir().unwrap();
    let copy = t.path().join("peipkg-manager.service");
    let text = unit
        .replace("/usr/bin/peipkg-manager", &manager().display().to_string())
        .replace("User=peipkg", "User=root")
        .replace("Group=peipkg", "Group=root");
    std::fs::write(&copy, text).unwrap();
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .arg(&copy)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && err.trim().is_empty(), "{err}");
}
