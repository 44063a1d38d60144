//! End to end through `peipkg-manager --once` with real git, the real
//! `peipkg-build` and `peipkg-repo`, real child processes.

mod common;

use common::*;

const ZLIB: &str = r#"[meta]
license = "Zlib"
homepage = "https://zlib.net"
build_script = "build.sh"

[[package]]
name = "libz"
architecture = "x86_64"
description = "zlib runtime"
files = ["usr/lib/x86_64-linux-peios/**"]

[[package]]
name = "libz-dev"
architecture = "x86_64"
description = "zlib headers"
dependencies = [{ name = "libz", same_build = true }]
files = ["usr/include/**"]

[upstream]
git = "GIT"
tag_pattern = "^v(\\d+\\.\\d+\\.\\d+)$"
peios_revision = 1

[watch]
poll_interval = "1h"
"#;

const ZLIB_BUILD: &str = "#!/bin/sh\nset -e\nmkdir -p \"$DESTDIR/usr/lib/x86_64-linux-peios\" \"$DESTDIR/usr/include\"\ncp \"$SOURCE_DIR/zlib.c\" \"$DESTDIR/usr/lib/x86_64-linux-peios/libz.so.1\"\necho '/* zlib.h */' > \"$DESTDIR/usr/include/zlib.h\"\n";

#[test]
fn multi_package_recipe_builds_dedups_and_picks_up_only_new_tags() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "zlib");
    up.release("v1.3.0", "zlib.c", "int v130;", false);
    up.release("v1.10.0", "zlib.c", "int v1100;", true);
    up.release("v1.9.0", "zlib.c", "int v190;", false);
    up.release("release-old", "zlib.c", "int old;", false);
    let farm = FarmDir::new(t.path());
    // Build order is observable only with one worker (the default is one
    // per core, and two builds' "starting build" lines may interleave).
    farm.write_config("workers = 1\n");
    // The recipe directory is named differently from both packages: the
    // reference's dedup compared the directory name and rebuilt forever.
    farm.recipe("zlib", &ZLIB.replace("GIT", &up.url()), ZLIB_BUILD);

    let r = farm.once();
    assert_eq!(r.code, 0, "first run failed:\n{}", r.stderr);
    let started: Vec<&str> = r.events("starting build");
    let order: Vec<&str> = started
        .iter()
        .map(|l| {
            l.split("version=")
                .nth(1)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(
        order,
        vec!["1.3.0-1", "1.9.0-1", "1.10.0-1"],
        "versions must be built in version order"
    );
    let archive = farm.archive();
    assert_eq!(archive.len(), 6, "{archive:?}");
    for v in ["1.3.0-1", "1.9.0-1", "1.10.0-1"] {
        assert!(archive.contains(&("libz".into(), v.into(), "x86_64".into())));
        assert!(archive.contains(&("libz-dev".into(), v.into(), "x86_64".into())));
    }
    let v = farm.verify();
    assert!(
        v.status.success(),
        "verify: {}",
        String::from_utf8_lossy(&v.stderr)
    );
    // same_build pinned libz-dev to its sibling's exact version.
    let active = std::fs::read_to_string(farm.repo().join("index/active.json")).unwrap();
    assert!(active.contains("\"constraint\":\"= 1.10.0-1\""), "{active}");
    // Per-build logs exist, with the reference's command line: the source
    // ref as the recipe wrote the URL, and the tag commit's committer time
    // (the fixture commits at 2024-03-15T10:30:00Z) as the timestamp.
    let logs: Vec<_> = std::fs::read_dir(farm.state.join("logs"))
        .unwrap()
        .collect();
    assert!(logs.len() >= 3);
    let first = std::fs::read_to_string(farm.state.join("logs/build-1.log")).unwrap();
    assert!(
        first.contains(&format!(
            "--version 1.3.0-1 --source-ref 'git+{}#refs/tags/v1.3.0' --farm-id test-farm --timestamp 2024-03-15T10:30:00Z",
            up.url()
        )),
        "{first}"
    );
    // Work directories are gone.
    assert_eq!(
        std::fs::read_dir(farm.state.join("work")).unwrap().count(),
        0
    );
    assert_eq!(
        std::fs::read_dir(farm.state.join("built")).unwrap().count(),
        0
    );

    let r = farm.once();
    assert_eq!(r.code, 0, "second run failed:\n{}", r.stderr);
    assert_eq!(
        r.count("starting build"),
        0,
        "second run rebuilt something:\n{}",
        r.stderr
    );
    assert_eq!(farm.archive().len(), 6);

    up.release("v1.11.0", "zlib.c", "int v1110;", true);
    let r = farm.once();
    assert_eq!(r.code, 0, "third run failed:\n{}", r.stderr);
    assert_eq!(r.count("starting build"), 1, "{}", r.stderr);
    assert!(r.events("starting build")[0].contains("version=1.11.0-1"));
    assert_eq!(farm.archive().len(), 8);
    let active = std::fs::read_to_string(farm.repo().join("index/active.json")).unwrap();
    assert!(
        active.contains("1.11.0-1") && !active.contains("1.10.0-1"),
        "{active}"
    );
}

#[test]
fn named_groups_and_min_version() {
    let t = tempfile::tempdir().unwrap();
    let up = Upstream::new(t.path(), "busybox");
    for tag in ["1_36_1", "1_37_0", "1_38_0", "1_38_0_rc1", "snapshot"] {
        up.release(tag, "VERSION", tag, false);
    }
    let farm = FarmDir::new(t.path());
    farm.recipe(
        "busybox",
        &simple_recipe(
            "busybox",
            &up.url(),
            "^(?P<major>[0-9]+)_(?P<minor>[0-9]+)_(?P<patch>[0-9]+)$",
            "min_version = \"1.37.0\"",
        ),
        &copy_build("busybox"),
    );
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names: Vec<String> = farm.archive().into_iter().map(|(_, v, _)| v).collect();
    assert_eq!(names, vec!["1.37.0-1", "1.38.0-1"]);
    let poll = r.events("poll complete");
    assert!(
        poll[0].contains("tags_seen=5") && poll[0].contains("skipped_below_min_version=1"),
        "{}",
        poll[0]
    );
}

#[test]
fn submodules_are_fetched_when_asked_and_git_metadata_is_stripped() {
    let t = tempfile::tempdir().unwrap();
    let sub = Upstream::new(t.path(), "gnulib");
    sub.release("base", "lib/gnulib.h", "/* gnulib */", false);
    let up = Upstream::new(t.path(), "hello");
    git(&up.dir, &["submodule", "add", "-q", &sub.url(), "gnulib"]);
    up.release("v2.12", "hello.c", "int main;", true);
    let farm = FarmDir::new(t.path());
    farm.write_config("[git]\nallow_file_submodules = true\n");
    let build = "#!/bin/sh\nset -e\ntest -f \"$SOURCE_DIR/gnulib/lib/gnulib.h\"\nif find \"$SOURCE_DIR\" -name .git | grep -q .; then echo '.git present' >&2; exit 1; fi\nmkdir -p \"$DESTDIR/usr/share/hello\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/hello/\"\n";
    farm.recipe(
        "hello",
        &simple_recipe(
            "hello",
            &up.url(),
            r"^v([0-9]+\.[0-9]+(?:\.[0-9]+)*)$",
            "submodules = true\nmin_version = \"2.12\"",
        ),
        build,
    );
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        farm.archive(),
        vec![("hello".into(), "2.12-1".into(), "noarch".into())]
    );

    // Without the opt-in, a local submodule URL is refused by git, and the
    // build fails cleanly.
    let t2 = tempfile::tempdir().unwrap();
    let farm2 = FarmDir::new(t2.path());
    farm2.recipe(
        "hello",
        &simple_recipe(
            "hello",
            &up.url(),
            r"^v([0-9]+\.[0-9]+(?:\.[0-9]+)*)$",
            "submodules = true",
        ),
        &copy_build("hello"),
    );
    let r = farm2.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let failed = r.events("build failed");
    assert_eq!(failed.len(), 1, "{}", r.stderr);
    assert!(failed[0].contains("fetch submodules"), "{}", failed[0]);
    // The partial clone is gone.
    assert_eq!(dir_entries(&farm2.state.join("work")), 0);
}

#[test]
fn a_failing_recipe_backs_off_without_blocking_others() {
    let t = tempfile::tempdir().unwrap();
    let good = Upstream::new(t.path(), "good");
    good.release("v1.0.0", "a.txt", "a", false);
    let bad = Upstream::new(t.path(), "bad");
    bad.release("v0.1.0", "b.txt", "b", false);
    let farm = FarmDir::new(t.path());
    farm.recipe(
        "good",
        &simple_recipe("good", &good.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &copy_build("good"),
    );
    farm.recipe(
        "bad",
        &simple_recipe("bad", &bad.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        "#!/bin/sh\necho 'compiler exploded' >&2\nexit 7\n",
    );
    let r = farm.once();
    assert_eq!(r.code, 1, "a failed build must fail --once:\n{}", r.stderr);
    let failed = r.events("build failed");
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].contains("recipe=bad") && failed[0].contains("next_retry_after=1m0s"),
        "{}",
        failed[0]
    );
    assert!(
        failed[0].contains("compiler exploded"),
        "the error should carry the log tail: {}",
        failed[0]
    );
    assert_eq!(
        farm.archive(),
        vec![("good".into(), "1.0.0-1".into(), "noarch".into())]
    );
    assert!(r.stderr.contains("failed builds: 1"), "{}", r.stderr);
    // The failed build left nothing behind (the reference leaked its
    // stage and partial source directories).
    assert_eq!(dir_entries(&farm.state.join("work")), 0);
    assert_eq!(dir_entries(&farm.state.join("built")), 0);

    // Within the window the failing version is not rebuilt (no hammering),
    // and --once still reports it.
    good.release("v1.1.0", "a.txt", "a2", false);
    let r = farm.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(r.count("starting build"), 1, "{}", r.stderr);
    assert!(r.events("starting build")[0].contains("recipe=good"));
    assert!(
        r.stderr.contains("waiting for retry (backoff): 1"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("bad@0.1.0-1"), "{}", r.stderr);

    // The failing recipe is removed: its failure record goes with it (the
    // reference kept reporting it until a restart).
    std::fs::remove_dir_all(farm.recipes.join("bad")).unwrap();
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        r.count("failure records of removed recipes dropped"),
        1,
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("bad@0.1.0-1"), "{}", r.stderr);
}

fn dir_entries(d: &std::path::Path) -> usize {
    std::fs::read_dir(d).map(|r| r.count()).unwrap_or(0)
}

#[test]
fn bad_inputs_are_reported_and_isolated() {
    let t = tempfile::tempdir().unwrap();
    let good = Upstream::new(t.path(), "good");
    good.release("v1.0.0", "a.txt", "a", false);
    // Tag names with shell and path characters.
    good.release("v1.0.1;touch${IFS}pwned", "a.txt", "b", false);
    good.release("v1.0.2$(id)", "a.txt", "c", false);
    let farm = FarmDir::new(t.path());
    farm.recipe(
        "good",
        &simple_recipe("good", &good.url(), r"^v(.+)$", ""),
        &copy_build("good"),
    );
    farm.recipe(
        "dash",
        &simple_recipe(
            "dash",
            &format!("--upload-pack=touch {}", t.path().join("x").display()),
            r"^v(.+)$",
            "",
        ),
        &copy_build("dash"),
    );
    farm.recipe("garbage", "[upstream\ngit = ", "");
    // One invalid tag_pattern (the reference stopped all watching, and its
    // HTTP server, for it).
    farm.recipe(
        "badpattern",
        &simple_recipe("badpattern", &good.url(), r"^v(\d+", ""),
        &copy_build("badpattern"),
    );
    farm.recipe(
        "unreachable",
        &simple_recipe(
            "unreachable",
            "http://127.0.0.1:1/nothing.git",
            r"^v(.+)$",
            "",
        ),
        &copy_build("unreachable"),
    );
    // A server that accepts and never answers: ls-remote must time out.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    farm.recipe(
        "hang",
        &simple_recipe(
            "hang",
            &format!("http://127.0.0.1:{port}/x.git"),
            r"^v(.+)$",
            "",
        ),
        &copy_build("hang"),
    );
    farm.write_config("[git]\nls_remote_timeout = \"2s\"\n");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&farm.key, std::fs::Permissions::from_mode(0o644)).unwrap();

    let started = std::time::Instant::now();
    let r = farm.once();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "a hung upstream stalled the sweep"
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(
        farm.archive(),
        vec![("good".into(), "1.0.0-1".into(), "noarch".into())]
    );
    let invalid = r.events("tag gives an invalid version; skipped");
    assert_eq!(invalid.len(), 2, "{}", r.stderr);
    let broken = r.events("recipe invalid; skipped");
    assert_eq!(broken.len(), 3, "{}", r.stderr);
    assert!(broken
        .iter()
        .any(|l| l.contains("recipe=badpattern") && l.contains("invalid tag_pattern")));
    assert!(broken
        .iter()
        .any(|l| l.contains("recipe=dash") && l.contains("must not begin with '-'")));
    assert!(broken
        .iter()
        .any(|l| l.contains("recipe=garbage") && l.contains("invalid TOML")));
    let ls = r.events("ls-remote failed");
    assert_eq!(ls.len(), 2, "{}", r.stderr);
    assert!(
        ls.iter()
            .any(|l| l.contains("recipe=hang") && l.contains("timed out after 2s")),
        "{ls:?}"
    );
    assert_eq!(
        r.count("signing key file is accessible to other users"),
        1,
        "{}",
        r.stderr
    );
    // Only paths this test owns: an injected command would have created `x`.
    assert!(!t.path().join("pwned").exists() && !t.path().join("x").exists());
    drop(listener);
}

#[test]
fn config_errors_exit_1_with_every_problem_and_check_agrees() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    let text = std::fs::read_to_string(&farm.config).unwrap().replace(
        "[poll]\ndefault_interval = \"1h\"",
        "[poll]\ndefault_interval = \"10s\"\nintervall = \"1h\"",
    );
    std::fs::write(&farm.config, text).unwrap();
    let r = farm.once();
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("msg=\"load config\""), "{}", r.stderr);
    assert!(r.stderr.contains("intervall"), "{}", r.stderr);
    assert!(r.stderr.contains("1m0s minimum"), "{}", r.stderr);
    let c = farm.subcommand(&["check"]);
    assert_eq!(c.code, 1);
    let err = &c.stderr;
    assert!(
        err.contains("[poll].default_interval: \"10s\" is less than the 1m0s minimum"),
        "{err}"
    );
    assert!(err.contains("unknown key \"intervall\" in [poll]"), "{err}");
    assert!(err.contains("2 problem(s) found"), "{err}");

    // Bad flags and levels are usage errors.
    let r = farm.run_manager(&["--log-level", "INFO"], &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("unknown log level \"INFO\""),
        "{}",
        r.stderr
    );
    let r = farm.run_manager(&["--bogus"], &[]);
    assert_eq!(r.code, 2);
    let r = farm.run_manager(&["-h"], &[]);
    assert_eq!(r.code, 0);
}

#[test]
fn start_up_problems_are_found_at_start_with_the_reference_messages() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    // Go-style single-dash flags work.
    let out = std::process::Command::new(manager())
        .args(["-once", "-config"])
        .arg(&farm.config)
        .output()
        .unwrap();
    let r = Run::from(out);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // An unreadable signing key stops the start (the reference found out
    // at the first build).
    let key = farm.key.clone();
    std::fs::rename(&key, key.with_extension("away")).unwrap();
    let r = farm.once();
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = r.events("construct manager");
    assert_eq!(e.len(), 1, "{}", r.stderr);
    assert!(
        e[0].contains("[signing].key_file") && e[0].contains(&key.display().to_string()),
        "{}",
        e[0]
    );
    std::fs::rename(key.with_extension("away"), &key).unwrap();

    // A repository directory with stray files but no repo.json is not
    // initialised over.
    std::fs::remove_dir_all(farm.repo()).unwrap();
    std::fs::create_dir_all(farm.repo()).unwrap();
    std::fs::write(farm.repo().join("stray.txt"), "x").unwrap();
    let r = farm.run_manager(&["--log-level", "warn"], &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let e = r.events("manager exited with error");
    assert_eq!(e.len(), 1, "{}", r.stderr);
    assert!(e[0].contains("holds files but no repo.json"), "{}", e[0]);
    assert!(farm.repo().join("stray.txt").exists());
}

#[test]
fn a_recipe_without_watch_is_built_only_when_an_operator_asks() {
    let t = tempfile::tempdir().unwrap();
    let (up, farm) = upstream_and_farm(t.path(), "manual", "a");
    let text = simple_recipe("manual", &up.url(), r"^v(\d+\.\d+\.\d+)$", "");
    farm.recipe(
        "manual",
        &text[..text.find("[watch]").unwrap()],
        &copy_build("manual"),
    );
    // PSD-009 A.2: no [watch], no automatic builds (the reference polled it).
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.count("polling upstream"), 0, "{}", r.stderr);
    assert_eq!(
        r.count("recipe has no [watch]; built only on operator request (peipkg-manager poll)"),
        1,
        "{}",
        r.stderr
    );
    let c = farm.subcommand(&["check"]);
    assert!(c.stdout.contains("1 on request only"), "{}", c.stdout);
    // Asked for, it is built by the next sweep, once.
    let out = farm.subcommand(&["poll", "manual"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        farm.archive(),
        vec![("manual".into(), "1.0.0-1".into(), "noarch".into())]
    );
    up.release("v1.1.0", "a.txt", "b", false);
    let r = farm.once();
    assert_eq!(
        r.count("polling upstream"),
        0,
        "the request was not used up"
    );
}
