//! The daemon: webhooks that really trigger a poll, the HTTP endpoints,
//! SIGHUP with a vanished recipes directory, and a SIGTERM that drains a
//! running build instead of killing it.

mod common;

use common::*;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn wait_for(log: &std::path::Path, what: &str, pred: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.lines().any(&pred) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn signal(pid: u32, sig: i32) {
    // A child this test started and has not reaped.
    let _ = peipkg_os::process::kill(pid as i32, sig);
}

#[test]
fn daemon_webhooks_http_reload_and_drain() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "hooked");
    up.release("v1.0.0", "a.txt", "one", false);
    let farm = FarmDir::new(t.path());
    // A "slow" release waits for the test to open a gate: it is surely
    // running when the SIGTERM arrives.
    // In a recipe directory: the sandboxed build sees it (read-only).
    let gate = farm.recipes.join("hooked/gate");
    let build = format!(
        "#!/bin/sh\nset -e\nif grep -qx slow \"$SOURCE_DIR/a.txt\"; then i=0; while [ ! -e '{}' ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done; fi\nmkdir -p \"$DESTDIR/usr/share/hooked\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/hooked/\"\n",
        gate.display()
    );
    let build = build.as_str();
    let recipe = simple_recipe("hooked", &up.url(), r"^v(\d+\.\d+\.\d+)$", "")
        .replace("[watch]\n", "[watch]\ngithub_webhook = true\n");
    farm.recipe("hooked", &recipe, build);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let secret_file = t.path().join("webhook-secret");
    std::fs::write(&secret_file, "s3cret\n").unwrap();
    farm.write_config(&format!(
        "[http]\naddr = \"127.0.0.1:{port}\"\nwebhook_secret_file = \"{}\"\n",
        secret_file.display()
    ));

    let log = t.path().join("daemon.err");
    let mut child = Command::new(manager())
        .args(["--log-level", "debug", "--config"])
        .arg(&farm.config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let pid = child.id();
    wait_for(&log, "first publish", |l| {
        l.contains("build + publish complete") && l.contains("version=1.0.0-1")
    });

    let (code, body) = http(port, "GET", "/healthz", &[], b"");
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    let (code, body) = http(port, "GET", "/status", &[], b"");
    assert_eq!(code, 200);
    let st: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["farm_id"], "test-farm");
    assert_eq!(st["recipes"], serde_json::json!(["hooked"]));
    assert_eq!(st["builds_succeeded"], 1);
    assert!(
        st.get("in_flight").is_none(),
        "in_flight must be omitted when idle: {body}"
    );
    assert!(
        st.get("failures").is_none(),
        "failures must be omitted when empty: {body}"
    );
    let (code, body) = http(port, "GET", "/metrics", &[], b"");
    assert_eq!(code, 200);
    assert!(
        body.contains("peipkg_manager_builds{state=\"published\"} 1"),
        "{body}"
    );
    let (code, body) = http(port, "GET", "/", &[], b"");
    assert_eq!(code, 200);
    assert!(
        body.contains("Recent builds") && body.contains("/builds/1/log"),
        "{body}"
    );
    let (code, body) = http(port, "GET", "/builds/1/log", &[], b"");
    assert_eq!(code, 200);
    assert!(body.contains("peipkg-build build --recipe"), "{body}");
    assert_eq!(http(port, "GET", "/webhooks/github", &[], b"").0, 405);
    assert_eq!(http(port, "GET", "/nope", &[], b"").0, 404);

    // A new tag; the poll interval is an hour, so only a webhook can find it.
    up.release("v1.1.0", "a.txt", "two", true);
    let payload = format!(
        r#"{{"ref":"refs/tags/v1.1.0","repository":{{"html_url":"https://example.org/none","clone_url":"{}"}}}}"#,
        up.url()
    );
    let sign = |body: &[u8]| {
        let mut m = Hmac::<Sha256>::new_from_slice(b"s3cret").unwrap();
        m.update(body);
        format!("sha256={}", hex::encode(m.finalize().into_bytes()))
    };
    assert_eq!(
        http(
            port,
            "POST",
            "/webhooks/github",
            &[("X-GitHub-Event", "push")],
            payload.as_bytes()
        )
        .0,
        401
    );
    assert_eq!(
        http(
            port,
            "POST",
            "/webhooks/github",
            &[
                ("X-GitHub-Event", "push"),
                ("X-Hub-Signature-256", "sha256=00")
            ],
            payload.as_bytes()
        )
        .0,
        401
    );
    let branch = payload.replace("refs/tags/v1.1.0", "refs/heads/main");
    let (code, _) = http(
        port,
        "POST",
        "/webhooks/github",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(branch.as_bytes())),
        ],
        branch.as_bytes(),
    );
    assert_eq!(code, 200);
    let hook = |delivery: &str| {
        http(
            port,
            "POST",
            "/webhooks/github",
            &[
                ("X-GitHub-Event", "push"),
                ("X-GitHub-Delivery", delivery),
                ("X-Hub-Signature-256", &sign(payload.as_bytes())),
            ],
            payload.as_bytes(),
        )
    };
    assert_eq!(hook("d-1"), (200, String::new()));
    // GitHub's redelivery of the same event is acknowledged, not re-polled.
    assert_eq!(hook("d-1"), (200, "duplicate delivery\n".to_string()));
    let text = wait_for(&log, "webhook-triggered publish", |l| {
        l.contains("build + publish complete") && l.contains("version=1.1.0-1")
    });
    assert_eq!(
        text.matches("msg=\"webhook accepted, triggering immediate poll\"")
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains("msg=\"build queued\"")
            && l.contains("version=1.1.0-1")
            && l.contains("source=webhook")),
        "{text}"
    );
    assert_eq!(
        text.matches("msg=\"webhook signature invalid\"").count(),
        2,
        "{text}"
    );

    // The recipes directory vanishes: a reload keeps the roster we have.
    let moved = t.path().join("recipes.away");
    std::fs::rename(&farm.recipes, &moved).unwrap();
    signal(pid, libc::SIGHUP);
    wait_for(&log, "failed reload", |l| {
        l.contains("reload: load roster failed; continuing with existing recipes")
    });
    let (_, body) = http(port, "GET", "/status", &[], b"");
    let st: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(st["recipes"], serde_json::json!(["hooked"]));
    std::fs::rename(&moved, &farm.recipes).unwrap();
    let polls = |t: &str| t.matches("msg=\"polling upstream\"").count();
    let before = polls(&std::fs::read_to_string(&log).unwrap());
    signal(pid, libc::SIGHUP);
    wait_for(&log, "reload", |l| l.contains("msg=\"recipes reloaded\""));
    // An unchanged recipe is not re-polled by a reload (the reference
    // re-polled everything on every SIGHUP).
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(polls(&std::fs::read_to_string(&log).unwrap()), before);

    // SIGTERM while a build runs: it finishes and is published, then the
    // daemon exits 0.
    up.release("v1.2.0", "a.txt", "slow", false);
    let payload = payload.replace("v1.1.0", "v1.2.0");
    http(
        port,
        "POST",
        "/webhooks/github",
        &[
            ("X-GitHub-Event", "push"),
            ("X-Hub-Signature-256", &sign(payload.as_bytes())),
        ],
        payload.as_bytes(),
    );
    wait_for(&log, "slow build start", |l| {
        l.contains("msg=\"starting build\"") && l.contains("version=1.2.0-1")
    });
    signal(pid, libc::SIGTERM);
    wait_for(&log, "the drain", |l| {
        l.contains("shutting down: draining running builds") && l.contains("running=1")
    });
    std::fs::write(&gate, "").unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(Instant::now() < deadline, "daemon did not stop");
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(
        text.lines()
            .any(|l| l.contains("build + publish complete") && l.contains("version=1.2.0-1")),
        "the running build was not drained:\n{text}"
    );
    assert!(text.contains("msg=\"peipkg-manager stopped\""), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    let versions: Vec<String> = farm.archive().into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(versions, vec!["1.0.0-1", "1.1.0-1", "1.2.0-1"]);
}

#[test]
fn a_build_past_the_drain_timeout_is_stopped_and_resumed_at_the_next_start() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "slow");
    up.release("v1.0.0", "a.txt", "slow", false);
    let farm = FarmDir::new(t.path());
    let marker = t.path().join("build-finished");
    let build = format!(
        "#!/bin/sh\nset -e\nif [ ! -e '{m}.allow' ]; then sleep 30; fi\ntouch '{m}'\nmkdir -p \"$DESTDIR/usr/share/slow\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/slow/\"\n",
        m = marker.display()
    );
    farm.recipe(
        "slow",
        &simple_recipe("slow", &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &build,
    );
    // Unsandboxed: the script is steered and observed through files on
    // the host (the marker), which the sandbox hides from it.
    farm.write_config("drain_timeout = \"1s\"\nsandbox = \"none\"\n");
    // (FarmDir appends this right after its [build] table.)

    let log = t.path().join("daemon.err");
    let mut child = Command::new(manager())
        .args(["--config"])
        .arg(&farm.config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(&log, "build start", |l| {
        l.contains("msg=\"starting build\"")
    });
    std::thread::sleep(Duration::from_millis(300));
    let stopped_at = Instant::now();
    signal(child.id(), libc::SIGTERM);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            stopped_at.elapsed() < Duration::from_secs(20),
            "drain timeout was not applied"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("drain timeout reached"), "{text}");
    assert!(
        text.contains("build interrupted by shutdown; re-queued"),
        "{text}"
    );
    assert!(
        !text.contains("msg=\"build failed\""),
        "a shutdown is not the recipe's failure:\n{text}"
    );
    assert!(
        !marker.exists(),
        "the build script kept running after the stop"
    );

    // The next start picks the build up again and finishes it.
    std::fs::write(format!("{}.allow", marker.display()), "").unwrap();
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.count("build + publish complete"), 1, "{}", r.stderr);
    assert!(marker.exists());
}
