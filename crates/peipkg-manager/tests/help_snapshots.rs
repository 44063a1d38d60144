//! The help texts and the error outputs of all three programs (and
//! `peipkg-node`), pinned as snapshot files under `tests/snapshots/`
//! (rewrite them with `UPDATE_SNAPSHOTS=1 cargo test -p peipkg-manager
//! --test help_snapshots` and review the diff). Also the one help
//! convention: `help`, `-h` and `--help` print the same usage to stdout
//! with status 0, and `help SUB` is `SUB -h`, in every program.

mod common;

use std::path::{Path, PathBuf};

use peipkg_testkit::snapshot::{assert_snapshots, run_program};

const MANAGER_SUBS: &[&str] = &[
    "check", "explain", "poll", "pause", "resume", "retry", "cancel", "demo",
];
const BUILD_SUBS: &[&str] = &[
    "build",
    "pack",
    "stage",
    "seal",
    "keygen",
    "inspect",
    "verify",
    "binary-sign",
    "sandbox-check",
];
const REPO_SUBS: &[&str] = &["init", "publish", "verify", "rotate-key", "prune", "keygen"];
/// Subcommands other programs call; not in the usage, but `-h` works.
const REPO_HIDDEN: &[&str] = &["capabilities", "recover"];

fn program(name: &str) -> PathBuf {
    match name {
        "peipkg-manager" => common::manager(),
        "peipkg-node" => PathBuf::from(env!("CARGO_BIN_EXE_peipkg-node")),
        _ => common::sibling(name),
    }
}

fn run(name: &str, args: &[&str], tmp: &Path) -> String {
    run_program(&program(name), name, args, tmp)
}

fn snapshots() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots")
}

/// The output without its `$ ...` line, to compare two spellings.
fn body(text: &str) -> &str {
    text.split_once('\n').map_or(text, |(_, rest)| rest)
}

#[test]
fn help_is_one_convention_across_the_three_programs() {
    let t = tempfile::tempdir().unwrap();
    for (prog, subs) in [
        ("peipkg-manager", MANAGER_SUBS),
        ("peipkg-build", BUILD_SUBS),
        ("peipkg-repo", REPO_SUBS),
        ("peipkg-node", &["run"]),
    ] {
        let help = run(prog, &["help"], t.path());
        assert!(help.contains("exit status: 0\n"), "{help}");
        for spelling in ["-h", "-help", "--help"] {
            let other = run(prog, &[spelling], t.path());
            assert_eq!(body(&help), body(&other), "{prog} {spelling}");
        }
        // The usage names every subcommand, and how to get its help.
        for sub in subs {
            assert!(
                help.contains(&format!("\n  {sub} ")),
                "{prog}: {sub} missing:\n{help}"
            );
            let via_help = run(prog, &["help", sub], t.path());
            let via_flag = run(prog, &[sub, "-h"], t.path());
            assert!(via_help.contains("exit status: 0\n"), "{via_help}");
            assert_eq!(body(&via_help), body(&via_flag), "{prog} help {sub}");
        }
        assert!(
            help.contains(&format!("'{prog} help <subcommand>'")),
            "{help}"
        );
    }
}

#[test]
fn help_texts_match_their_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let mut cases = Vec::new();
    for (prog, subs) in [
        ("peipkg-manager", MANAGER_SUBS),
        ("peipkg-build", BUILD_SUBS),
        ("peipkg-repo", REPO_SUBS),
        ("peipkg-node", &["run"]),
    ] {
        cases.push((format!("{prog}-help"), run(prog, &["help"], t.path())));
        for sub in subs {
            cases.push((
                format!("{prog}-help-{sub}"),
                run(prog, &["help", sub], t.path()),
            ));
        }
    }
    for sub in REPO_HIDDEN {
        cases.push((
            format!("peipkg-repo-help-{sub}"),
            run("peipkg-repo", &[sub, "-h"], t.path()),
        ));
    }
    assert_snapshots(&snapshots(), &cases);
}

#[test]
fn error_outputs_match_their_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path();
    let missing = tmp.join("missing.toml");
    let bad = tmp.join("bad.toml");
    std::fs::write(&bad, "[manager]\nid = 1\n").unwrap();
    let (m, b) = (missing.to_str().unwrap(), bad.to_str().unwrap());
    let nothing = tmp.join("nothing.peipkg");
    let n = nothing.to_str().unwrap();
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        // peipkg-manager
        (
            "manager-unknown-subcommand",
            "peipkg-manager",
            vec!["stauts"],
        ),
        ("manager-unknown-flag", "peipkg-manager", vec!["--bogus"]),
        (
            "manager-subcommand-unknown-flag",
            "peipkg-manager",
            vec!["check", "--bogus"],
        ),
        ("manager-missing-argument", "peipkg-manager", vec!["poll"]),
        (
            "manager-extra-argument",
            "peipkg-manager",
            vec!["poll", "a", "b"],
        ),
        ("manager-missing-value", "peipkg-manager", vec!["--config"]),
        ("manager-bad-value", "peipkg-manager", vec!["--once=maybe"]),
        (
            "manager-bad-log-level",
            "peipkg-manager",
            vec!["--log-level", "loud", "--config", m],
        ),
        (
            "manager-once-missing-config",
            "peipkg-manager",
            vec!["--once", "--config", m],
        ),
        (
            "manager-check-missing-config",
            "peipkg-manager",
            vec!["check", "--config", m],
        ),
        (
            "manager-check-bad-config",
            "peipkg-manager",
            vec!["check", "--config", b],
        ),
        (
            "manager-explain-missing-config",
            "peipkg-manager",
            vec!["explain", "zlib", "--config", m],
        ),
        (
            "manager-poll-missing-config",
            "peipkg-manager",
            vec!["poll", "zlib", "--config", m],
        ),
        // peipkg-build
        ("build-no-arguments", "peipkg-build", vec![]),
        ("build-unknown-subcommand", "peipkg-build", vec!["biuld"]),
        (
            "build-unknown-flag",
            "peipkg-build",
            vec!["build", "--bogus"],
        ),
        ("build-missing-required-flags", "peipkg-build", vec!["pack"]),
        (
            "build-bad-value",
            "peipkg-build",
            vec!["pack", "--zstd-level", "high"],
        ),
        (
            "build-empty-value",
            "peipkg-build",
            vec!["keygen", "--out="],
        ),
        (
            "build-inspect-missing-file",
            "peipkg-build",
            vec!["inspect", n],
        ),
        // peipkg-repo
        ("repo-no-arguments", "peipkg-repo", vec![]),
        ("repo-unknown-subcommand", "peipkg-repo", vec!["pubilsh"]),
        ("repo-unknown-flag", "peipkg-repo", vec!["prune", "--bogus"]),
        ("repo-missing-required-flag", "peipkg-repo", vec!["verify"]),
        (
            "repo-bad-value",
            "peipkg-repo",
            vec!["verify", "--repo", n, "--wait", "forever"],
        ),
        ("repo-empty-value", "peipkg-repo", vec!["keygen", "--out="]),
        // peipkg-node
        ("node-no-arguments", "peipkg-node", vec![]),
        ("node-missing-argument", "peipkg-node", vec!["run"]),
    ];
    let cases: Vec<(String, String)> = cases
        .into_iter()
        .map(|(name, prog, args)| (format!("error-{name}"), run(prog, &args, tmp)))
        .collect();
    assert_snapshots(&snapshots(), &cases);
}

#[test]
fn help_with_a_word_that_is_no_subcommand_prints_the_usage() {
    let t = tempfile::tempdir().unwrap();
    for prog in [
        "peipkg-manager",
        "peipkg-build",
        "peipkg-repo",
        "peipkg-node",
    ] {
        let help = run(prog, &["help"], t.path());
        let other = run(prog, &["help", "ignored"], t.path());
        assert_eq!(body(&help), body(&other), "{prog}");
    }
}

#[test]
fn a_non_utf8_argument_is_a_usage_error_in_every_program() {
    use std::os::unix::ffi::OsStrExt;
    let arg = std::ffi::OsStr::from_bytes(b"caf\xe9");
    for prog in [
        "peipkg-manager",
        "peipkg-build",
        "peipkg-repo",
        "peipkg-node",
    ] {
        let out = std::process::Command::new(program(prog))
            .arg(arg)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{prog}");
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("{prog}: argument \"caf\\xE9\" is not valid UTF-8\n"),
            "{prog}"
        );
    }
}
