//! Command-line surface: subcommand dispatch, Go-style flags, exit statuses.

mod common;

use common::*;
use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

#[test]
fn no_arguments_is_a_usage_error() {
    let o = run(&[]);
    assert_fails(
        &o,
        2,
        &["usage: peipkg-build <subcommand>", "build", "pack"],
    );
    assert!(stdout(&o).is_empty());
}

#[test]
fn help_goes_to_stdout_with_status_zero() {
    for h in ["help", "-h", "--help", "-help"] {
        let o = run(&[h]);
        assert_eq!(o.status.code(), Some(0), "{h}");
        let out = stdout(&o);
        for sub in ["build", "pack", "keygen", "inspect", "verify"] {
            assert!(
                out.contains(&format!("  {sub} ")),
                "{h}: {sub} missing:\n{out}"
            );
        }
    }
}

#[test]
fn unknown_subcommand_is_a_usage_error() {
    let o = run(&["frobnicate"]);
    assert_fails(&o, 2, &["unknown subcommand \"frobnicate\"", "usage:"]);
}

#[test]
fn subcommand_help_lists_every_reference_flag() {
    let o = run(&["build", "-h"]);
    assert_eq!(o.status.code(), Some(0));
    let out = stdout(&o);
    for flag in [
        "-recipe PATH",
        "-source DIR",
        "-version VERSION",
        "-source-ref REF",
        "-farm-id ID",
        "-timestamp TS",
        "-out DIR",
        "-sign-key PATH",
        "-build-env NAME=VALUE",
        "-binary-sign-key NAME=PATH",
        "-keep-failed",
        "-timeout duration",
        "-zstd-level int",
    ] {
        assert!(
            out.contains(&format!("  {flag}\n")),
            "{flag} missing:\n{out}"
        );
    }
    let o = run(&["pack", "--help"]);
    assert_eq!(o.status.code(), Some(0));
    for flag in [
        "-manifest PATH",
        "-staged DIR",
        "-out PATH",
        "-sign-key PATH",
    ] {
        assert!(stdout(&o).contains(flag), "{flag}");
    }
}

#[test]
fn flag_errors_are_usage_errors() {
    assert_fails(
        &run(&["build", "-bogus"]),
        2,
        &[
            "peipkg-build: unknown flag -bogus",
            "usage: peipkg-build build",
        ],
    );
    assert_fails(
        &run(&["build", "--recipe"]),
        2,
        &["flag -recipe needs a value"],
    );
    assert_fails(
        &run(&["build", "--recipe", "r.toml"]),
        2,
        &["missing required flags -source, -version, -source-ref, -farm-id, -timestamp, -out"],
    );
    assert_fails(
        &run(&["build", "-timeout", "soon"]),
        2,
        &["invalid value \"soon\" for flag -timeout"],
    );
    assert_fails(&run(&["pack", "stray"]), 2, &["missing required flags"]);
    assert_fails(
        &run(&[
            "pack",
            "-manifest",
            "m",
            "-staged",
            "s",
            "-out",
            "o",
            "stray",
        ]),
        2,
        &["unexpected argument \"stray\""],
    );
    assert_fails(&run(&["inspect"]), 2, &["missing argument FILE"]);
    assert_fails(
        &run(&["verify", "x.peipkg"]),
        2,
        &["at least one -key PUB or -fingerprint FP"],
    );
    assert_fails(
        &run(&["verify", "x.peipkg", "--fingerprint", "abc"]),
        2,
        &["expected 64 hex digits"],
    );
}

#[test]
fn go_flag_spellings_all_work_for_build() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/share/hello/**\""),
        COPY_SCRIPT,
    );
    f.write_source("usr/share/hello/MESSAGE", "hi\n");
    let recipe = f.path("recipe/peipkg.toml").display().to_string();
    let source = f.path("source").display().to_string();
    let out = f.path("out").display().to_string();
    let args: Vec<String> = vec![
        "build".into(),
        format!("-recipe={recipe}"),
        "--source".into(),
        source,
        "-version".into(),
        "1.0-1".into(),
        "--source-ref=test://x".into(),
        "-farm-id".into(),
        "farm".into(),
        "--timestamp".into(),
        "2026-05-06T12:00:00Z".into(),
        format!("--out={out}"),
        "-zstd-level=3".into(),
        "--keep-failed=false".into(),
    ];
    let o = f.run(&args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{out}/hello_1.0-1_noarch.peipkg\n"));
}

#[test]
fn binary_sign_requires_both_flags() {
    assert_fails(
        &run(&["binary-sign", "-in", "x", "-key", "k"]),
        1,
        &["read key k"],
    );
    assert_fails(
        &run(&["binary-sign"]),
        2,
        &["missing required flags -in, -key"],
    );
}
