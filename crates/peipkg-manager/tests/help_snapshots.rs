//! The help texts and the main error outputs of all three programs, pinned
//! as snapshot files under `tests/snapshots/` (rewrite them with
//! `UPDATE_SNAPSHOTS=1 cargo test -p peipkg-manager --test help_snapshots`
//! and review the diff). Also the one help convention: `help`, `-h` and
//! `--help` print the same usage to stdout with status 0, and `help SUB`
//! is `SUB -h`, in every program.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const MANAGER_SUBS: &[&str] = &[
    "check", "explain", "poll", "pause", "resume", "retry", "cancel", "demo",
];
const BUILD_SUBS: &[&str] = &[
    "build",
    "pack",
    "keygen",
    "inspect",
    "verify",
    "binary-sign",
];
const REPO_SUBS: &[&str] = &["init", "publish", "verify", "rotate-key", "prune", "keygen"];

fn program(name: &str) -> PathBuf {
    if name == "peipkg-manager" {
        common::manager()
    } else {
        common::sibling(name)
    }
}

/// Exit status, stdout and stderr of one run, with the temporary
/// directory and log timestamps replaced by placeholders.
fn run(name: &str, args: &[&str], tmp: &Path) -> String {
    let out = Command::new(program(name))
        .args(args)
        .output()
        .expect("run the program");
    let mut text = format!(
        "$ {name} {}\nexit status: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    text = text.replace(&tmp.display().to_string(), "<TMP>");
    // logfmt lines start with `time=<RFC 3339> `.
    text.lines()
        .map(
            |l| match l.strip_prefix("time=").and_then(|r| r.split_once(' ')) {
                Some((_, rest)) => format!("time=<TIME> {rest}\n"),
                None => format!("{l}\n"),
            },
        )
        .collect()
}

/// Compares `actual` with `tests/snapshots/<name>.txt`, or writes it when
/// `UPDATE_SNAPSHOTS=1`. Returns a description of the mismatch.
fn snapshot(name: &str, actual: &str) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/snapshots")
        .join(format!("{name}.txt"));
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1") {
        std::fs::write(&path, actual).expect("write snapshot");
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == actual => None,
        Ok(expected) => Some(format!(
            "snapshot {} differs (UPDATE_SNAPSHOTS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        )),
        Err(e) => Some(format!(
            "snapshot {}: {e} (UPDATE_SNAPSHOTS=1 to create it):\n{actual}",
            path.display()
        )),
    }
}

fn check_all(cases: Vec<(String, String)>) {
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, text)| snapshot(name, text))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn help_is_one_convention_across_the_three_programs() {
    let t = tempfile::tempdir().unwrap();
    for (prog, subs) in [
        ("peipkg-manager", MANAGER_SUBS),
        ("peipkg-build", BUILD_SUBS),
        ("peipkg-repo", REPO_SUBS),
    ] {
        let help = run(prog, &["help"], t.path());
        assert!(help.contains("exit status: 0\n"), "{help}");
        for spelling in ["-h", "--help"] {
            let other = run(prog, &[spelling], t.path());
            assert_eq!(
                help.split_once('\n').unwrap().1,
                other.split_once('\n').unwrap().1,
                "{prog} {spelling}"
            );
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
            assert_eq!(
                via_help.split_once('\n').unwrap().1,
                via_flag.split_once('\n').unwrap().1,
                "{prog} help {sub}"
            );
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
    ] {
        cases.push((format!("{prog}-help"), run(prog, &["help"], t.path())));
        for sub in subs {
            cases.push((
                format!("{prog}-help-{sub}"),
                run(prog, &["help", sub], t.path()),
            ));
        }
    }
    check_all(cases);
}

#[test]
fn main_error_outputs_match_their_snapshots() {
    let t = tempfile::tempdir().unwrap();
    let tmp = t.path();
    let missing = tmp.join("missing.toml");
    let bad = tmp.join("bad.toml");
    std::fs::write(&bad, "[manager]\nid = 1\n").unwrap();
    let (m, b) = (missing.to_str().unwrap(), bad.to_str().unwrap());
    let nothing = tmp.join("nothing.peipkg");
    let n = nothing.to_str().unwrap();
    let cases: Vec<(&str, &str, Vec<&str>)> = vec![
        (
            "manager-unknown-subcommand",
            "peipkg-manager",
            vec!["stauts"],
        ),
        ("manager-unknown-flag", "peipkg-manager", vec!["--bogus"]),
        ("manager-missing-argument", "peipkg-manager", vec!["poll"]),
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
        ("build-unknown-subcommand", "peipkg-build", vec!["biuld"]),
        (
            "build-unknown-flag",
            "peipkg-build",
            vec!["build", "--bogus"],
        ),
        (
            "build-inspect-missing-file",
            "peipkg-build",
            vec!["inspect", n],
        ),
        ("repo-unknown-subcommand", "peipkg-repo", vec!["pubilsh"]),
        ("repo-missing-required-flag", "peipkg-repo", vec!["verify"]),
    ];
    check_all(
        cases
            .into_iter()
            .map(|(name, prog, args)| (format!("error-{name}"), run(prog, &args, tmp)))
            .collect(),
    );
}

#[test]
fn help_with_a_word_that_is_no_subcommand_prints_the_usage() {
    let t = tempfile::tempdir().unwrap();
    for prog in ["peipkg-manager", "peipkg-build", "peipkg-repo"] {
        let help = run(prog, &["help"], t.path());
        let other = run(prog, &["help", "ignored"], t.path());
        assert_eq!(
            help.split_once('\n').unwrap().1,
            other.split_once('\n').unwrap().1,
            "{prog}"
        );
    }
}
