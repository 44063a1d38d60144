//! Bad input to `build`: each case must fail with status 1, name the
//! problem, write no package and leave no staging directory behind.

mod common;

use common::*;
use std::fs;

fn hello() -> Fixture {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/share/hello/**\""),
        COPY_SCRIPT,
    );
    f.write_source("usr/share/hello/MESSAGE", "hi\n");
    f
}

fn assert_nothing_left(f: &Fixture) {
    assert!(
        f.leftover_tmp().is_empty(),
        "staging left behind: {:?}",
        f.leftover_tmp()
    );
    if let Ok(entries) = fs::read_dir(f.path("out")) {
        let names: Vec<_> = entries.map(|e| e.unwrap().file_name()).collect();
        assert!(names.is_empty(), "packages written: {names:?}");
    }
}

#[test]
fn missing_recipe() {
    let f = hello();
    let missing = f.path("nope/peipkg.toml").display().to_string();
    let o = f.build(&["--recipe", &missing]);
    assert_fails(&o, 1, &[&format!("read recipe {missing}"), "No such file"]);
    assert_nothing_left(&f);
}

#[test]
fn unreadable_recipe() {
    let f = hello();
    let dir = f.path("recipe").display().to_string();
    let o = f.build(&["--recipe", &dir]);
    assert_fails(&o, 1, &[&format!("read recipe {dir}"), "directory"]);
}

#[test]
fn malformed_toml_reports_line_and_column() {
    let f = hello();
    fs::write(
        f.path("recipe/peipkg.toml"),
        "[meta]\nbuild_script = \"build.sh\"\n[[package]]\nname = \"hello\nfiles = []\n",
    )
    .unwrap();
    let o = f.build(&[]);
    assert_fails(&o, 1, &["is not valid TOML", "line 4, column"]);
    assert_nothing_left(&f);
}

#[test]
fn unknown_recipe_key_names_key_table_and_line() {
    let f = hello();
    let text = simple_recipe("hello", "\"usr/**\"").replace("homepage", "homepag");
    fs::write(f.path("recipe/peipkg.toml"), text).unwrap();
    let o = f.build(&[]);
    assert_fails(&o, 1, &["peipkg.toml:3: [meta]: unknown key \"homepag\""]);
}

#[test]
fn missing_source() {
    let f = hello();
    let missing = f.path("no-source").display().to_string();
    let o = f.build(&["--source", &missing]);
    assert_fails(&o, 1, &[&format!("--source {missing}"), "No such file"]);
    assert_nothing_left(&f);
}

#[test]
fn missing_or_bad_sign_key() {
    let f = hello();
    let missing = f.path("no.key").display().to_string();
    let o = f.build(&["--sign-key", &missing]);
    assert_fails(&o, 1, &["--sign-key", &format!("read key {missing}")]);
    fs::write(f.path("bad.key"), "not a key").unwrap();
    let bad = f.path("bad.key").display().to_string();
    let o = f.build(&["--sign-key", &bad]);
    assert_fails(&o, 1, &["--sign-key", "PRIVATE KEY"]);
    assert_nothing_left(&f);
}

#[test]
fn version_that_does_not_parse() {
    let f = hello();
    for (bad, why) in [
        ("1.0", "revision"),
        ("1.0-0", "revision 0"),
        ("v 1-1", "\"v 1-1\""),
    ] {
        let o = f.build(&["--version", bad]);
        assert_fails(&o, 1, &["--version: invalid version", why]);
    }
    assert_nothing_left(&f);
}

#[test]
fn bad_timestamps() {
    let f = hello();
    let cases = [
        (
            "2026-05-06T12:00:00+00:00",
            "must be UTC and end with \"Z\"",
        ),
        (
            "2026-05-06 12:00:00Z",
            "expected exactly YYYY-MM-DDTHH:MM:SSZ",
        ),
        (
            "2026-05-06t12:00:00Z",
            "expected exactly YYYY-MM-DDTHH:MM:SSZ",
        ),
        ("May 6 2026", "not RFC 3339"),
        ("2026-05-06T12:00:00.5Z", "fractional second"),
        ("1969-12-31T23:59:59Z", "outside"),
    ];
    for (ts, why) in cases {
        let o = f.build(&["--timestamp", ts]);
        assert_fails(&o, 1, &["--timestamp", why]);
    }
}

#[test]
fn package_name_that_would_escape_out() {
    let f = hello();
    fs::write(
        f.path("recipe/peipkg.toml"),
        simple_recipe("../x", "\"usr/**\""),
    )
    .unwrap();
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &["name: invalid package name \"../x\"", "PSD-009 §2.1"],
    );
    assert!(!f.dir.path().join("x_1.0-1_noarch.peipkg").exists());
    assert_nothing_left(&f);
}

#[test]
fn failing_script_shows_its_stderr_and_removes_staging() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "echo 'compiler exploded' >&2\nexit 7\n",
    );
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[
            "compiler exploded",
            "build script",
            "failed with exit status 7",
        ],
    );
    assert_nothing_left(&f);
    // The output directory is only created once everything succeeded.
    assert!(!f.path("out").exists());
}

#[test]
fn missing_build_script_and_one_outside_the_recipe() {
    let f = hello();
    fs::remove_file(f.path("recipe/build.sh")).unwrap();
    let o = f.build(&[]);
    assert_fails(&o, 1, &["[meta].build_script \"build.sh\"", "No such file"]);

    let f = hello();
    fs::write(f.path("outside.sh"), COPY_SCRIPT).unwrap();
    fs::remove_file(f.path("recipe/build.sh")).unwrap();
    std::os::unix::fs::symlink("../outside.sh", f.path("recipe/build.sh")).unwrap();
    let o = f.build(&[]);
    assert_fails(&o, 1, &["outside the recipe directory"]);
}

#[test]
fn orphans_and_overlaps_are_all_reported() {
    let recipe = "[meta]\nbuild_script = \"build.sh\"\n\n\
        [[package]]\nname = \"one\"\narchitecture = \"noarch\"\nfiles = [\"usr/share/a/*\"]\n\n\
        [[package]]\nname = \"two\"\narchitecture = \"noarch\"\nfiles = [\"usr/share/a/x\", \"usr/share/a/y\"]\n";
    let f = Fixture::new(recipe, COPY_SCRIPT);
    for file in [
        "usr/share/a/x",
        "usr/share/a/y",
        "usr/share/a/z",
        "usr/share/b/orphan1",
        "etc/orphan2",
    ] {
        f.write_source(file, "x");
    }
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[
            "2 staged paths claimed by no package",
            "\n  etc/orphan2\n  usr/share/b/orphan1",
            "2 staged paths claimed by more than one package",
            "usr/share/a/x: claimed by \"one\" and \"two\"",
            "usr/share/a/y: claimed by \"one\" and \"two\"",
        ],
    );
    assert_nothing_left(&f);
}

#[test]
fn staged_symlink_pointing_outside_the_permitted_tree() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "set -eu\nmkdir -p \"$DESTDIR/usr/share/hello\"\n\
         ln -s ../../../tmp/evil \"$DESTDIR/usr/share/hello/escape\"\n\
         ln -s /etc/shadow \"$DESTDIR/usr/share/hello/absolute\"\n",
    );
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[
            "payload layout check failed (2 violations)",
            "usr/share/hello/absolute: symlink",
            "absolute",
            "usr/share/hello/escape: symlink",
            "/tmp/evil",
        ],
    );
    assert_nothing_left(&f);
}

#[test]
fn layout_violations_of_all_packages_are_reported_together() {
    let recipe = "[meta]\nbuild_script = \"build.sh\"\n\n\
        [[package]]\nname = \"a1\"\narchitecture = \"noarch\"\nfiles = [\"usr/lib/**\"]\n\n\
        [[package]]\nname = \"b1\"\narchitecture = \"x86_64\"\nfiles = [\"var/**\", \"home/**\"]\n";
    let f = Fixture::new(recipe, COPY_SCRIPT);
    f.write_source("usr/lib/x86_64-linux-peios/libx.so", "x");
    f.write_source("var/lib/state", "x");
    f.write_source("home/user/file", "x");
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[
            "payload layout check failed (3 violations)",
            "package \"a1\": usr/lib/x86_64-linux-peios/libx.so",
            "noarch",
            "package \"b1\": home/user/file",
            "package \"b1\": var/lib/state",
            "/var",
        ],
    );
}

#[test]
fn out_that_is_a_file() {
    let f = hello();
    fs::write(f.path("out"), "i am a file").unwrap();
    let out = f.path("out").display().to_string();
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[&format!("--out {out}: exists and is not a directory")],
    );
    assert!(f.leftover_tmp().is_empty());
}

#[test]
fn special_files_in_the_staged_tree() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "set -eu\nmkdir -p \"$DESTDIR/usr/share/x\"\nmkfifo \"$DESTDIR/usr/share/x/pipe\"\n",
    );
    let o = f.build(&[]);
    assert_fails(&o, 1, &["usr/share/x/pipe: is a FIFO", "PSD-009 §3.2.5"]);
    assert_nothing_left(&f);
}

#[test]
fn provides_version_without_revision_is_refused_at_build_time() {
    let f = hello();
    let text = simple_recipe("hello", "\"usr/**\"")
        + "provides = [{ name = \"http-server\", version = \"1.27.0\" }]\n";
    fs::write(f.path("recipe/peipkg.toml"), text).unwrap();
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[
            "version \"1.27.0\" has no revision",
            "\"1.27.0-1\"",
            "rejects the whole repository index",
        ],
    );
}

#[test]
fn sign_stanza_without_its_key() {
    let f = hello();
    let text = simple_recipe("hello", "\"usr/**\"")
        + "\n[[sign]]\npath = \"usr/share/hello/MESSAGE\"\nkey = \"tcb\"\n";
    fs::write(f.path("recipe/peipkg.toml"), text).unwrap();
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &["no signing key named \"tcb\"", "--binary-sign-key tcb=PATH"],
    );
    assert_nothing_left(&f);
}

#[test]
fn bad_build_env_values() {
    let f = hello();
    assert_fails(
        &f.build(&["--build-env", "NOEQUALS"]),
        1,
        &["--build-env \"NOEQUALS\": expected NAME=VALUE"],
    );
    assert_fails(
        &f.build(&["--build-env", "PATH=/evil"]),
        1,
        &["cannot be overridden"],
    );
    assert_fails(
        &f.build(&["--build-env", "1X=1"]),
        1,
        &["invalid variable name"],
    );
    assert_fails(
        &f.build(&["--build-env", "A=1", "--build-env", "A=2"]),
        1,
        &["given more than once"],
    );
    assert_nothing_left(&f);
}

#[test]
fn zstd_level_out_of_range() {
    let f = hello();
    assert_fails(
        &f.build(&["--zstd-level", "0"]),
        1,
        &["--zstd-level 0 is out of range"],
    );
    assert_fails(&f.build(&["--zstd-level", "23"]), 1, &["1 (fastest) to 22"]);
}
