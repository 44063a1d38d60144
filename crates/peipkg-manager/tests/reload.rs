//! SIGHUP re-reads the config as well as the recipes: a valid change is
//! applied live (poll intervals, workers, upload settings, log level) and
//! keys that need a restart are named; an invalid file is refused with a
//! clear line and the daemon keeps the config it has. Signals that arrive
//! during start-up are handled, not fatal.

mod common;

use common::*;
use std::path::Path;
use time::format_description::well_known::Rfc3339;

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &Rfc3339)
        .unwrap()
        .unix_timestamp()
}

fn recipe_detail<'a>(st: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    st["recipe_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} missing from {st}"))
}

/// The `config reloaded` lines so far.
fn reloads(d: &Daemon) -> Vec<String> {
    d.text()
        .lines()
        .filter(|l| l.contains("msg=\"config reloaded\""))
        .map(str::to_string)
        .collect()
}

fn reload_errors(d: &Daemon) -> Vec<String> {
    d.text()
        .lines()
        .filter(|l| l.contains("reload: config invalid; keeping the current config"))
        .map(str::to_string)
        .collect()
}

#[test]
fn sighup_applies_a_valid_config_live_and_refuses_an_invalid_one() {
    let t = tempfile::tempdir().unwrap();
    // No poll_interval of its own: [poll].default_interval applies.
    let (up, farm) = one_release_farm(t.path(), |r| r.replace("poll_interval = \"1h\"\n", ""));
    let port = free_port();
    let other_port = free_port();
    // One worker to start with (the default is one per core).
    let http = format!("workers = 1\n[http]\naddr = \"127.0.0.1:{port}\"\n");
    farm.write_config(&http);
    let env = [("RCLONE_CONFIG_TLOCAL_TYPE", "local")];
    let d = Daemon::start(&farm, port, &[], &env);
    d.wait_for("first publish", |l| {
        l.contains("build + publish complete") && l.contains("version=1.0.0-1")
    });

    // Before: one worker, hourly polls, info level, no upload.
    let st = d.status();
    assert_eq!(st["workers"], 1, "{st}");
    let pkg = recipe_detail(&st, "pkg");
    let last = unix(pkg["last_poll"]["last_poll"].as_str().unwrap());
    let next = unix(pkg["next_poll"].as_str().unwrap());
    assert!(
        (3600..=3960 + 2).contains(&(next - last)),
        "hourly poll (+10% jitter) expected: {pkg}"
    );
    assert!(!d.text().contains("msg=\"http request\""));

    // A valid change.
    let remote = t.path().join("remote");
    std::fs::create_dir_all(&remote).unwrap();
    let upload = format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"tlocal:{}\"\nretry_min = \"1s\"\nretry_max = \"2s\"\n",
        remote.display()
    );
    let changed = farm
        .config_text(&format!(
        "workers = 3\n[log]\nlevel = \"debug\"\n{upload}[http]\naddr = \"127.0.0.1:{other_port}\"\n"
    ))
        .replace("default_interval = \"1h\"", "default_interval = \"2m\"");
    std::fs::write(&farm.config, changed).unwrap();
    d.signal(libc::SIGHUP);
    let text = d.wait_for("the reload", |l| l.contains("msg=\"config reloaded\""));
    let line = reloads(&d).pop().unwrap();
    for key in [
        "[build].workers",
        "[poll].default_interval",
        "[upload].backend",
        "[upload].retry_min",
        "[log].level",
    ] {
        assert!(line.contains(key), "{key} not reported: {line}");
    }
    assert!(
        !line.contains("[http].addr"),
        "the listen address cannot change live: {line}"
    );
    assert!(
        text.lines()
            .any(|l| l.contains("config changes need a restart") && l.contains("keys=[http].addr")),
        "{text}"
    );
    // The server stayed where it was; the rest is in force (the scheduler
    // re-plans on its next pass, within a moment).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let st = d.status();
        let pkg = recipe_detail(&st, "pkg");
        let next = unix(pkg["next_poll"].as_str().unwrap_or("1970-01-01T00:00:00Z"));
        // The next poll is planned from when the last one started, and
        // `last_poll` says when it finished: on a loaded machine (a cold CI
        // build) a poll can take more than a second, so allow two early.
        if st["workers"] == 3 && (118..=132 + 2).contains(&(next - last)) {
            assert_eq!(pkg["schedule"], "every 2m0s", "{pkg}");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "3 workers and a 2m interval from the last poll expected: {st}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        d.text()
            .contains("msg=\"http request\" method=GET path=/status"),
        "debug level not applied:\n{}",
        d.text()
    );

    // The upload settings are live: a new release, asked for by an
    // operator (the poll interval is still minutes away), is uploaded.
    up.release("v1.1.0", "a.txt", "two", false);
    let r = farm.subcommand(&["poll", "pkg"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("poll of pkg requested"), "{}", r.stdout);
    d.wait_for("the upload", |l| l.contains("msg=\"upload complete\""));
    assert!(
        remote
            .join("p/pkg/1.1.0-1/pkg_1.1.0-1_noarch.peipkg")
            .is_file(),
        "the new release did not reach the remote"
    );
    assert!(d
        .text()
        .lines()
        .any(|l| l.contains("msg=\"polling upstream\"") && l.contains("recipe=pkg")));
    assert!(d.text().lines().any(|l| l.contains("msg=\"build queued\"")
        && l.contains("version=1.1.0-1")
        && l.contains("source=operator")));

    // An invalid file (a typo) is refused; the daemon keeps going.
    let good = std::fs::read_to_string(&farm.config).unwrap();
    std::fs::write(&farm.config, good.replace("workers = 3", "wokers = 2")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for("the refused reload", |l| {
        l.contains("reload: config invalid; keeping the current config")
    });
    let err = reload_errors(&d).pop().unwrap();
    assert!(err.contains("level=ERROR"), "{err}");
    assert!(
        err.contains("unknown key \\\"wokers\\\" in [build]"),
        "{err}"
    );
    assert!(err.contains(&farm.config.display().to_string()), "{err}");
    assert_eq!(d.status()["workers"], 3);

    // A valid file naming a program that does not exist is refused too.
    std::fs::write(
        &farm.config,
        good.replace("workers = 3", "workers = 1").replace(
            "retry_min = \"1s\"",
            "retry_min = \"1s\"\nrclone = \"/nonexistent/rclone\"",
        ),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for_n("the second refused reload", 2, |l| {
        l.contains("reload: config invalid; keeping the current config")
    });
    let err = reload_errors(&d).pop().unwrap();
    assert!(
        err.contains("rclone not found") && err.contains("/nonexistent/rclone"),
        "{err}"
    );
    assert_eq!(d.status()["workers"], 3);
    assert_eq!(reloads(&d).len(), 1, "a refused config was applied");

    // Workers shrink too.
    std::fs::write(&farm.config, good.replace("workers = 3", "workers = 1")).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for_n("the third reload", 2, |l| {
        l.contains("msg=\"config reloaded\"")
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while d.status()["workers"] != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "workers did not shrink"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("panicked"), "{text}");
}

/// A `peipkg-repo` whose `init` takes a while, so a signal can land in the
/// middle of start-up.
fn slow_init_repo(dir: &Path) -> std::path::PathBuf {
    let p = dir.join("slow-init-peipkg-repo");
    std::fs::write(
        &p,
        format!(
            "#!/bin/sh\nif [ \"$1\" = init ]; then sleep 1; fi\nexec '{}' \"$@\"\n",
            sibling("peipkg-repo").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

#[test]
fn a_sighup_during_start_up_is_not_fatal() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = one_release_farm(t.path(), |r| r);
    let slow = slow_init_repo(t.path());
    let port = free_port();
    let text = farm.config_text(&format!("[http]\naddr = \"127.0.0.1:{port}\"\n"));
    let text = text.replace(
        &format!("peipkg_repo = \"{}\"", sibling("peipkg-repo").display()),
        &format!("peipkg_repo = \"{}\"", slow.display()),
    );
    std::fs::write(&farm.config, text).unwrap();

    // The daemon: SIGHUP while `peipkg-repo init` runs.
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("start-up", |l| l.contains("msg=\"recipe roster loaded\""));
    d.signal(libc::SIGHUP);
    let text = d.wait_for("the publish", |l| l.contains("build + publish complete"));
    assert!(
        text.contains("msg=\"received SIGHUP; reloading recipes\""),
        "{text}"
    );
    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");

    // --once: SIGHUP during init is ignored and the sweep completes.
    let state = farm.state.clone();
    std::fs::remove_dir_all(&state).unwrap();
    let log = t.path().join("once.err");
    let mut child = std::process::Command::new(manager())
        .args(["--once", "--config"])
        .arg(&farm.config)
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !std::fs::read_to_string(&log)
        .unwrap_or_default()
        .contains("recipe roster loaded")
    {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    peipkg_os::process::kill(child.id() as i32, libc::SIGHUP).unwrap();
    let status = child.wait().unwrap();
    let text = std::fs::read_to_string(&log).unwrap();
    assert_eq!(status.code(), Some(0), "{text}");
    assert!(text.contains("SIGHUP ignored in --once mode"), "{text}");
    assert!(text.contains("build + publish complete"), "{text}");
}
