//! The command line: dispatch, Go-style flags, exit statuses, messages.

mod common;

use std::path::Path;

use common::*;

#[test]
fn no_arguments_prints_usage_to_stderr_with_status_2() {
    let (code, out, err) = run(&[]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert!(
        err.starts_with("usage: peipkg-repo <subcommand> [flags]\n"),
        "{err}"
    );
    for sub in ["init", "publish", "verify", "rotate-key", "prune", "keygen"] {
        assert!(
            err.contains(&format!("  {sub} ")),
            "{sub} missing from usage"
        );
    }
}

#[test]
fn help_goes_to_stdout_with_status_0() {
    for h in ["help", "-h", "--help"] {
        let (code, out, _) = run(&[h, "ignored"]);
        assert_eq!(code, 0, "{h}");
        assert!(out.starts_with("usage: peipkg-repo"), "{h}: {out}");
    }
}

#[test]
fn unknown_subcommand_is_quoted_go_style() {
    let (code, _, err) = run(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(
        err.starts_with("peipkg-repo: unknown subcommand \"frobnicate\"\n\nusage:"),
        "{err}"
    );
}

#[test]
fn every_go_flag_spelling_works_and_last_value_wins() {
    let t = tempfile::tempdir().unwrap();
    let key = test_key_path();
    let out = t.path().join("r");
    let stdout = ok(&[
        "init",
        "-name=a",
        "--name",
        "b",
        "-sign-key",
        p(&key),
        "--timestamp=2026-05-07T00:00:00Z",
        "-out",
        p(&out),
    ]);
    assert_eq!(
        stdout,
        format!("initialised repository \"b\" at {}\n", out.display())
    );
    assert_file_holds(
        &out.join("repo.json"),
        "\"name\":\"b\",\"description\":\"\"",
    );
}

#[test]
fn init_name_is_printed_with_go_quoting() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("r");
    let key = test_key_path();
    let stdout = ok(&init_args(
        "tab\there \"q\"",
        &key,
        "2026-05-07T00:00:00Z",
        &out,
    ));
    assert!(
        stdout.starts_with("initialised repository \"tab\\there \\\"q\\\"\" at "),
        "{stdout}"
    );
}

#[test]
fn missing_or_empty_required_flags_are_usage_errors() {
    fails(2, &["init"], &["-name"]);
    let rest = signing_flags(Path::new("k"), "t", Path::new("o"));
    fails(
        2,
        &[&["init", "--name="][..], &rest].concat(),
        &["--name is required"],
    );
    fails(
        2,
        &[&["publish", "--in", "i"][..], &rest].concat(),
        &["--new is required (or use --rebuild + --all-packages-dir)"],
    );
}

#[test]
fn unknown_flag_and_bad_mode_are_usage_errors() {
    fails(2, &["verify", "--repo", "x", "--zzz"], &["-zzz"]);
    fails(
        2,
        &["verify", "--repo", "x", "--mode", "quick"],
        &["--mode must be one of metadata, hashes, both (got \"quick\")"],
    );
}

#[test]
fn timestamps_follow_the_reference_rules() {
    let t = tempfile::tempdir().unwrap();
    let key = test_key_path();
    for (ts, fragment) in [
        (
            "2026-05-07T00:00:00+00:00",
            "Timestamp must end with 'Z' for UTC",
        ),
        ("2026-05-07 00:00:00Z", "Timestamp:"),
        ("2023-02-29T00:00:00Z", "day out of range"),
    ] {
        let out = t.path().join("never");
        fails(1, &init_args("r", &key, ts, &out), &[fragment]);
        assert!(!out.exists(), "{ts}");
    }
    // A comma decimal mark is accepted and stored verbatim.
    let out = t.path().join("comma");
    ok(&init_args("r", &key, "2026-05-07T00:00:00,5Z", &out));
    assert_file_holds(
        &out.join("index/active.json"),
        "\"generated_at\":\"2026-05-07T00:00:00,5Z\"",
    );
}

#[test]
fn bad_keys_are_named() {
    let t = tempfile::tempdir().unwrap();
    let pubkey = conformance().join("keys/test-signing.pub");
    let junk = t.path().join("junk");
    std::fs::write(&junk, [7u8; 33]).unwrap();
    let out = t.path().join("o");
    for k in [pubkey, junk.clone()] {
        let args = init_args("r", &k, "2026-05-07T00:00:00Z", &out);
        fails(1, &args, &[&k.display().to_string()]);
    }
    let absent = t.path().join("absent");
    let args = init_args("r", &absent, "2026-05-07T00:00:00Z", &out);
    fails(1, &args, &["absent"]);
}

#[test]
fn keygen_writes_a_key_init_accepts() {
    let t = tempfile::tempdir().unwrap();
    let key = t.path().join("farm.ed25519");
    let pubf = t.path().join("farm.pub");
    let out = ok(&["keygen", "--out", p(&key), "--pub", p(&pubf)]);
    let fp = out
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint (raw): "))
        .expect("raw fingerprint line")
        .to_string();
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // Keygen never overwrites an existing key.
    fails(1, &["keygen", "--out", p(&key)], &["already exists"]);
    let repo = t.path().join("repo");
    ok(&init_args("r", &key, "2026-05-07T00:00:00Z", &repo));
    let written = std::fs::read(repo.join(format!("keys/{fp}.pub"))).unwrap();
    assert_eq!(written, std::fs::read(&pubf).unwrap());
}
