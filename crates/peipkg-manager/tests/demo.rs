//! The demo is the first thing a newcomer runs; it must keep working.

mod common;

#[test]
fn demo_runs_a_whole_farm_and_verifies_it() {
    // Make sure the sibling binaries the demo looks for are built.
    common::sibling("peipkg-build");
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    let out = std::process::Command::new(common::manager())
        .args(["demo", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("== demo succeeded: sweep exit 0, verify ok"),
        "{stdout}"
    );
    for f in [
        "p/libz/1.3.1-1/libz_1.3.1-1_x86_64.peipkg",
        "p/libz-dev/1.3.0-1/libz-dev_1.3.0-1_x86_64.peipkg",
        "p/busybox/1.37.0-1/busybox_1.37.0-1_noarch.peipkg",
    ] {
        assert!(
            dir.join("state/repo").join(f).is_file(),
            "{f} missing\n{stdout}"
        );
    }
    // min_version kept busybox 1.36.1 out; the rc tag did not match.
    assert!(!dir.join("state/repo/p/busybox/1.36.1-1").exists());
    assert!(stdout.contains("no-match"), "{stdout}");

    // The kept farm runs again as it is: its rclone remote is defined in a
    // file inside DIR that the config names, not in the demo's environment.
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(
        config.contains(&format!(
            "rclone_config = \"{}\"",
            dir.join("rclone.conf").display()
        )),
        "{config}"
    );
    assert!(stdout.contains("== uploaded with rclone to"), "{stdout}");
    assert!(
        !stdout.contains("all-packages-dir"),
        "the audit needs no flat copy: {stdout}"
    );
    // The closing lines say how to continue; run exactly those commands.
    let steps: Vec<&str> = stdout
        .split("To continue")
        .nth(1)
        .expect("closing lines")
        .lines()
        .filter_map(|l| l.strip_prefix("  "))
        .map(|l| l.split(" #").next().unwrap_or(l).trim())
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    assert!(
        steps.contains(
            &format!(
                "peipkg-manager --once --config {}/config.toml",
                dir.display()
            )
            .as_str()
        ),
        "{steps:?}"
    );
    let bin = common::manager().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for step in &steps {
        let words: Vec<&str> = step.split_whitespace().collect();
        if words[0] == "peipkg-manager" && words.get(1) == Some(&"help") {
            continue;
        }
        let out = std::process::Command::new(words[0])
            .args(&words[1..])
            .env("PATH", &path)
            .env_remove("AWS_CA_BUNDLE")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{step}:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if words.get(1) == Some(&"check") {
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(text.contains("reachable"), "{text}");
        }
        ran += 1;
    }
    assert!(ran >= 5, "{steps:?}");
    assert!(dir
        .join("state/repo/p/libz/1.3.2-1/libz_1.3.2-1_x86_64.peipkg")
        .is_file());
    assert!(dir
        .join("published-remote/p/libz/1.3.2-1/libz_1.3.2-1_x86_64.peipkg")
        .is_file());
}

/// Runs `demo --dir DIR` with one environment variable set; it must
/// succeed and print `warning` twice (before the sweep and at the end)
/// with the `fix` command. Returns its stdout and stderr.
fn demo_warning_twice(
    dir: &std::path::Path,
    env: (&str, &std::ffi::OsStr),
    warning: &str,
    fix: &str,
) -> (String, String) {
    let out = std::process::Command::new(common::manager())
        .args(["demo", "--dir"])
        .arg(dir)
        .env(env.0, env.1)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert_eq!(stderr.matches(warning).count(), 2, "{stderr}");
    assert!(stderr.contains(fix), "{stderr}");
    (stdout, stderr)
}

/// Without rclone the demo still runs, but says loudly that it does not
/// upload, and why, and how to get it.
#[test]
fn demo_without_rclone_warns_loudly() {
    common::sibling("peipkg-build");
    let t = tempfile::tempdir().unwrap();
    // A PATH with everything the system has except rclone.
    let bin = t.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    for d in ["/usr/local/bin", "/usr/bin", "/bin"] {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let name = e.file_name();
            if name == "rclone" || bin.join(&name).exists() {
                continue;
            }
            let _ = std::os::unix::fs::symlink(e.path(), bin.join(&name));
        }
    }
    let dir = t.path().join("demo");
    let (_, stderr) = demo_warning_twice(
        &dir,
        ("PATH", bin.as_os_str()),
        "WARNING: rclone is not installed, so this demo does NOT upload.",
        "apt-get install -y rclone",
    );
    assert!(stderr.contains("backend = \"none\""), "{stderr}");
    assert!(!dir.join("published-remote").exists());
}

/// Without a usable bubblewrap the demo still builds and publishes, with
/// `sandbox = "none"` written into its config and said loudly, twice.
#[test]
fn demo_without_bubblewrap_warns_and_runs_unsandboxed() {
    common::sibling("peipkg-build");
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    // peipkg-build's sandbox-check and builds use this program as bwrap.
    let (stdout, _) = demo_warning_twice(
        &dir,
        ("PEIPKG_BWRAP", std::ffi::OsStr::new("/bin/false")),
        "WARNING: bubblewrap is not installed or cannot sandbox builds here",
        "apt-get install -y bubblewrap",
    );
    let config = std::fs::read_to_string(dir.join("config.toml")).unwrap();
    assert!(config.contains("sandbox = \"none\""), "{config}");
    assert!(stdout.contains("demo succeeded"), "{stdout}");
}

/// Without --dir the farm is kept in a temporary directory the output
/// names, so every path it printed still exists.
#[test]
fn demo_without_dir_keeps_what_it_prints() {
    common::sibling("peipkg-build");
    let t = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(common::manager())
        .arg("demo")
        .env("TMPDIR", t.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    let root = stdout
        .lines()
        .find_map(|l| l.strip_prefix("== demo farm in "))
        .unwrap()
        .trim();
    assert!(root.starts_with(&t.path().display().to_string()), "{root}");
    assert!(std::path::Path::new(root).join("config.toml").is_file());
    assert!(
        stdout.contains(&format!("== the farm is kept in {root}")),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("rm -rf {root}")), "{stdout}");
}
