//! What a newcomer meets on the first day: `check` that tests the upload
//! remote for real, upload failures that say rclone's cause, and a build
//! log without git's noise for a plain-path upstream.

mod common;

use common::*;

#[test]
fn check_tests_the_upload_remote_and_once_reports_rclones_cause() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = one_release_farm(t.path(), |r| r);
    let conf = t.path().join("rclone.conf");
    std::fs::write(&conf, "[present]\ntype = local\n").unwrap();
    let remote_dir = t.path().join("www");
    let upload = |remote: &str| {
        format!(
            "[upload]\nbackend = \"rclone\"\nremote = \"{remote}\"\nrclone_config = \"{}\"\nretry_min = \"30s\"\nonce_attempts = 3\n",
            conf.display()
        )
    };

    // A remote rclone's config does not define: check fails with rclone's
    // own words, and says where to define it.
    farm.write_config(&upload("absent:bucket"));
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr.contains("error: [upload].remote absent:bucket: ")
            && r.stderr.contains("didn't find section in config file")
            && r.stderr
                .contains(&format!("(define the remote in {})", conf.display())),
        "{}",
        r.stderr
    );
    // --once: the summary carries the cause, and a configuration error is
    // not retried (three attempts 30 s apart would take a minute).
    let started = std::time::Instant::now();
    let r = farm.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(25),
        "a configuration error was retried"
    );
    assert_eq!(r.count("upload failed"), 1, "{}", r.stderr);
    let summary = r
        .stderr
        .lines()
        .find(|l| l.contains("upload: FAILED"))
        .unwrap_or_else(|| panic!("no upload summary:\n{}", r.stderr));
    assert!(
        summary.contains("didn't find section in config file") && summary.contains("exit status 1"),
        "{summary}"
    );
    // The package was still published locally.
    assert_eq!(farm.archive().len(), 1);

    // A missing rclone config file is named as such.
    let missing = t.path().join("nope.conf");
    farm.write_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"present:x\"\nrclone_config = \"{}\"\n",
        missing.display()
    ));
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains(&format!(
            "[upload].rclone_config {}: no such file",
            missing.display()
        )),
        "{}",
        r.stderr
    );

    // A defined remote whose path does not exist yet is fine; once it
    // exists it is reachable; --once then uploads through the named file.
    farm.write_config(&upload(&format!("present:{}", remote_dir.display())));
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains("the path does not exist yet"),
        "{}",
        r.stdout
    );
    let r = farm.run_manager_with(&["--once"], &[], &["AWS_CA_BUNDLE"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(remote_dir.join("repo.json").is_file());
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stdout.contains(&format!(
            "[upload].remote present:{}: reachable\n",
            remote_dir.display()
        )),
        "{}",
        r.stdout
    );
}

#[test]
fn check_times_out_on_a_remote_that_never_answers() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = one_release_farm(t.path(), |r| r);
    // An rclone that hangs: check must give up (30 s) rather than wait
    // for ever. A stand-in script is the only way to make rclone hang on
    // a local machine; the real rclone is tested above.
    let slow = t.path().join("rclone-hangs");
    std::fs::write(&slow, "#!/bin/sh\nexec sleep 600\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&slow, std::fs::Permissions::from_mode(0o755)).unwrap();
    farm.write_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"r2:bucket\"\nrclone = \"{}\"\n",
        slow.display()
    ));
    let started = std::time::Instant::now();
    let r = farm.subcommand(&["check"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(started.elapsed() < std::time::Duration::from_secs(60));
    assert!(
        r.stderr
            .contains("[upload].remote r2:bucket: rclone lsf: timed out after 30s"),
        "{}",
        r.stderr
    );
}

#[test]
fn plain_path_upstream_is_cloned_as_file_url_without_git_warnings() {
    let t = tempfile::tempdir().unwrap();
    let (up, farm) = one_release_farm(t.path(), |r| r);
    assert!(up.url().starts_with('/'), "{}", up.url());
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let mut logs = String::new();
    let mut stack = vec![farm.state.join("logs")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                logs.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
    }
    assert!(
        logs.contains(&format!("file://{}", up.url())),
        "clone command not logged:\n{logs}"
    );
    assert!(!logs.contains("--depth is ignored"), "{logs}");
    assert!(!logs.to_lowercase().contains("warning:"), "{logs}");
}

/// The seed page's own recipe has `—` in a description: a warning. It must
/// not be glued in front of a later build error: the cause comes first.
#[test]
fn build_errors_show_the_cause_first_and_keep_warnings_apart() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = one_release_farm(t.path(), |r| {
        r.replace(
            "description = \"test package pkg\"",
            "description = \"pkg — runtime\"",
        )
    });
    let script = farm.recipes.join("pkg/build.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\necho 'configure: error: no acceptable C compiler found in $PATH' >&2\nexit 1\n",
    )
    .unwrap();
    let r = farm.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let failed = r.events("build failed");
    assert_eq!(failed.len(), 1, "{}", r.stderr);
    let err = failed[0].split(" err=").nth(1).unwrap_or_default();
    assert!(
        err.contains("configure: error: no acceptable C compiler found"),
        "{err}"
    );
    assert!(
        !err.contains("non-ASCII"),
        "warning glued to the error: {err}"
    );
    // The warning is its own log event, at warn level.
    let warned = r.events("build warning");
    assert!(
        warned
            .iter()
            .any(|l| l.contains("level=WARN") && l.contains("non-ASCII")),
        "{}",
        r.stderr
    );
    // explain shows the same cause.
    let ex = farm.subcommand(&["explain", "pkg"]);
    assert!(
        ex.stdout
            .contains("configure: error: no acceptable C compiler found")
            && !ex.stdout.contains("non-ASCII"),
        "{}",
        ex.stdout
    );
}
