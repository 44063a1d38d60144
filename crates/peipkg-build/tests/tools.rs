//! `pack`, `keygen`, `inspect` and `verify` through the real binary.

mod common;

use common::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

fn run(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).output().unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn pack(manifest: &Path, staged: &Path, out: &Path) -> std::process::Output {
    pack_with(manifest, staged, out, &[])
}

fn pack_with(manifest: &Path, staged: &Path, out: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "pack",
        "--manifest",
        s(manifest),
        "--staged",
        s(staged),
        "--out",
        s(out),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

const HELLO_MANIFEST: &str = r#"{"schema_version":1,"name":"hello","version":"0.1-1","architecture":"noarch","description":"Smallest legal peipkg test fixture.","license":"CC0-1.0","homepage":"https://peios.org","dependencies":[],"optional_dependencies":[],"conflicts":[],"provides":[],"replaces":[],"side_effects":[],"size_installed":0,"sd_overrides":[],"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"test-farm-1","source_ref":"test://hello-noarch"}}
"#;

fn test_key() -> PathBuf {
    common::conformance_dir().join("keys/test-signing.ed25519")
}

fn test_pub() -> PathBuf {
    common::conformance_dir().join("keys/test-signing.pub")
}

/// A signed hello package built by `pack` from the conformance source.
fn packed_hello(dir: &Path) -> PathBuf {
    fs::write(dir.join("manifest.json"), HELLO_MANIFEST).unwrap();
    let out = dir.join("hello_0.1-1_noarch.peipkg");
    let staged = common::conformance_dir().join("hello-noarch/source");
    let o = pack_with(
        &dir.join("manifest.json"),
        &staged,
        &out,
        &["--sign-key", s(&test_key())],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), format!("{}\n", out.display()));
    out
}

#[test]
fn pack_reproduces_the_reference_tar() {
    let dir = tempfile::tempdir().unwrap();
    let out = packed_hello(dir.path());
    let ours = zstd::decode_all(fs::File::open(&out).unwrap()).unwrap();
    let theirs = fs::read(
        common::conformance_dir().join("hello-noarch/expected-signed/hello_0.1-1_noarch.tar"),
    )
    .unwrap();
    assert!(ours == theirs, "pack output differs from the reference tar");
}

#[test]
fn pack_rejects_an_invalid_manifest_listing_every_problem() {
    let dir = tempfile::tempdir().unwrap();
    let bad = HELLO_MANIFEST
        .replace("\"name\":\"hello\"", "\"name\":\"Hello\"")
        .replace("\"side_effects\":[]", "\"side_effects\":[\"reboot\"]");
    fs::write(dir.path().join("m.json"), bad).unwrap();
    let staged = common::conformance_dir().join("hello-noarch/source");
    let out = dir.path().join("o.peipkg");
    let o = pack(&dir.path().join("m.json"), &staged, &out);
    assert_fails(
        &o,
        1,
        &[
            "breaks PSD-009 rules",
            "name: invalid package name \"Hello\"",
            "side_effects[0]",
        ],
    );
    assert!(!out.exists());

    fs::write(dir.path().join("m.json"), "{\"name\": 1}").unwrap();
    let o = pack(&dir.path().join("m.json"), &staged, &out);
    assert_fails(&o, 1, &["m.json", "does not parse"]);

    let o = pack(&dir.path().join("missing.json"), &staged, &out);
    assert_fails(&o, 1, &["read manifest", "missing.json"]);
}

#[test]
fn pack_checks_layout_and_sd_overrides_and_out() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.json"), HELLO_MANIFEST).unwrap();
    let staged = dir.path().join("staged");
    fs::create_dir_all(staged.join("home/user")).unwrap();
    fs::write(staged.join("home/user/f"), "x").unwrap();
    let out = dir.path().join("o.peipkg");
    let o = pack(&dir.path().join("m.json"), &staged, &out);
    assert_fails(&o, 1, &["payload layout check failed", "home/user/f"]);

    fs::remove_dir_all(staged.join("home")).unwrap();
    fs::create_dir_all(staged.join("usr/share/h")).unwrap();
    std::os::unix::fs::symlink("x", staged.join("usr/share/h/link")).unwrap();
    fs::write(staged.join("usr/share/h/x"), "x").unwrap();
    let with_sd = HELLO_MANIFEST.replace(
        "\"sd_overrides\":[]",
        "\"sd_overrides\":[{\"path\":\"usr/share/h/link\",\"sd\":\"AQ\"}]",
    );
    fs::write(dir.path().join("m.json"), with_sd).unwrap();
    let o = pack(&dir.path().join("m.json"), &staged, &out);
    assert_fails(
        &o,
        1,
        &["sd_overrides[0] names \"usr/share/h/link\"", "symlink"],
    );

    fs::write(dir.path().join("m.json"), HELLO_MANIFEST).unwrap();
    let o = pack(&dir.path().join("m.json"), &staged, dir.path());
    assert_fails(&o, 1, &["is a directory"]);
    let nested = dir.path().join("no/such/dir/o.peipkg");
    let o = pack(&dir.path().join("m.json"), &staged, &nested);
    assert_fails(&o, 1, &["does not exist"]);
    let o = pack(&dir.path().join("m.json"), &dir.path().join("nope"), &out);
    assert_fails(&o, 1, &["--staged", "nope"]);
}

/// PSD-009 §3.2.8: a consumer must refuse more than 100,000 payload
/// entries, so the producer refuses to make such a package, before writing.
#[test]
fn pack_refuses_more_entries_than_a_consumer_accepts() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.json"), HELLO_MANIFEST).unwrap();
    let staged = dir.path().join("staged");
    let files = staged.join("usr/share/many");
    fs::create_dir_all(&files).unwrap();
    // usr, usr/share, usr/share/many and 99,998 files: one over the limit.
    for i in 0..99_998 {
        fs::File::create(files.join(format!("{i:05}"))).unwrap();
    }
    let out = dir.path().join("out");
    fs::create_dir(&out).unwrap();
    let o = pack(&dir.path().join("m.json"), &staged, &out.join("o.peipkg"));
    assert_fails(
        &o,
        1,
        &[
            "package \"hello\": the payload: has 100001 entries",
            "consumers accept at most 100000 (PSD-009 §3.2.8)",
        ],
    );
    assert_eq!(fs::read_dir(&out).unwrap().count(), 0, "nothing written");

    // At the limit it packs, and the package verifies.
    fs::remove_file(files.join("00000")).unwrap();
    let o = pack_with(
        &dir.path().join("m.json"),
        &staged,
        &out.join("o.peipkg"),
        &["--zstd-level", "1"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&run(&["inspect", s(&out.join("o.peipkg"))]));
    assert!(text.contains("usr/share/many/99997"), "{}", &text[..400]);
    // Every file of a package this size gets its hash in the JSON listing
    // (pairing files.json with the payload used to be quadratic).
    let o = run(&["inspect", s(&out.join("o.peipkg")), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let empty = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    let hashed = v["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["sha256"] == empty)
        .count();
    assert_eq!(hashed, 99_997);
}

#[test]
fn pack_keeps_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("m.json"), HELLO_MANIFEST).unwrap();
    let staged = dir.path().join("staged");
    fs::create_dir_all(staged.join("var/lib/hello")).unwrap();
    fs::create_dir_all(staged.join("usr/share/hello")).unwrap();
    fs::write(staged.join("usr/share/hello/MESSAGE"), "hi").unwrap();
    let out = dir.path().join("o.peipkg");
    let o = pack(&dir.path().join("m.json"), &staged, &out);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&run(&["inspect", s(&out)]));
    assert!(text.contains("  dir      var/lib/hello/\n"), "{text}");
}

#[test]
fn keygen_writes_a_private_key_once() {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("k.pem");
    let o = run(&["keygen", "--out", s(&key)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = fs::read_to_string(&key).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    assert_eq!(
        fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = stdout(&o);
    let raw = out
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint (raw): "))
        .unwrap();
    assert_eq!(raw.len(), 64);
    let grouped = out
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: "))
        .unwrap();
    assert_eq!(grouped.replace(' ', ""), raw);

    let again = run(&["keygen", "--out", s(&key)]);
    assert_fails(&again, 1, &["refusing to overwrite"]);
    assert_eq!(
        fs::read_to_string(&key).unwrap(),
        text,
        "the key was changed"
    );
}

#[test]
fn inspect_shows_manifest_payload_sizes_and_signer() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = packed_hello(dir.path());
    let o = run(&["inspect", s(&pkg)]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    for needle in [
        "package:              hello 0.1-1 (noarch)",
        "description:          Smallest legal peipkg test fixture.",
        "build:                2026-05-06T12:00:00Z by test-farm-1 from test://hello-noarch",
        "bytes tar, 14 bytes installed",
        "signature:            signed (signature not checked",
        "key fingerprint:      5a49 1c24 f72d",
        "5a491c24f72d717f1f6c09620af2bbccc79513118c3919be7f86f64e825d0b68",
        "payload (4 entries):",
        "  file     usr/share/hello/MESSAGE  (14 bytes)",
        "\noptional_dependencies: -\n",
    ] {
        assert!(text.contains(needle), "{needle:?} not in:\n{text}");
    }

    let o = run(&["inspect", s(&pkg), "--json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["manifest"]["name"], "hello");
    assert_eq!(v["manifest"]["size_installed"], 14);
    assert_eq!(v["signature"]["status"], "not-checked");
    assert_eq!(
        v["signature"]["key_fingerprint"],
        "5a491c24f72d717f1f6c09620af2bbccc79513118c3919be7f86f64e825d0b68"
    );
    assert_eq!(v["size_uncompressed"], 6656);
    let file = &v["payload"][3];
    assert_eq!(file["path"], "usr/share/hello/MESSAGE");
    assert_eq!(
        file["sha256"],
        "4f91e7c17054930fd12bf2de72f8f31eb44090052475b88dc2338163d642e7ac"
    );
}

#[test]
fn inspect_of_a_broken_file_fails_naming_the_problem() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.peipkg");
    fs::write(&junk, b"not zstd at all").unwrap();
    assert_fails(
        &run(&["inspect", s(&junk)]),
        1,
        &["junk.peipkg failed verification", "zstd"],
    );
}

#[test]
fn verify_accepts_the_right_key_and_names_failed_checks() {
    let dir = tempfile::tempdir().unwrap();
    let pkg = packed_hello(dir.path());
    let ok = run(&["verify", s(&pkg), "--key", s(&test_pub())]);
    assert_eq!(ok.status.code(), Some(0), "{}", stderr(&ok));
    assert!(stdout(&ok).contains("signature verified with key 5a49 1c24"));

    // A different trusted key: the signer is unknown.
    let pub_pem = dir.path().join("other.pub");
    let other = peipkg_format::keys::SigningKey::generate().public_key();
    fs::write(&pub_pem, other.to_pem()).unwrap();
    let wrong = run(&["verify", s(&pkg), "--key", s(&pub_pem)]);
    assert_fails(
        &wrong,
        1,
        &["FAILED", "not among the trusted keys", "§5.3.3 condition 6"],
    );

    // Fingerprint-only: the signer must match, and the output is honest
    // about what was not checked.
    let fp = "5a49 1c24 f72d 717f 1f6c 0962 0af2 bbcc c795 1311 8c39 19be 7f86 f64e 825d 0b68";
    let by_fp = run(&["verify", s(&pkg), "--fingerprint", fp]);
    assert_eq!(by_fp.status.code(), Some(0), "{}", stderr(&by_fp));
    assert!(stdout(&by_fp).contains("NOT checked"));
    let wrong_fp = run(&["verify", s(&pkg), "--fingerprint", &"ab".repeat(32)]);
    assert_fails(
        &wrong_fp,
        1,
        &["FAILED", "not among the trusted fingerprints"],
    );

    // A flipped byte in the compressed stream.
    let mut bytes = fs::read(&pkg).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x55;
    let tampered = dir.path().join("tampered.peipkg");
    fs::write(&tampered, &bytes).unwrap();
    let bad = run(&["verify", s(&tampered), "--key", s(&test_pub())]);
    assert_fails(&bad, 1, &["FAILED"]);

    // An unsigned package, when a signer is required.
    fs::write(dir.path().join("m.json"), HELLO_MANIFEST).unwrap();
    let unsigned = dir.path().join("unsigned.peipkg");
    let staged = common::conformance_dir().join("hello-noarch/source");
    let o = pack(&dir.path().join("m.json"), &staged, &unsigned);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let bad = run(&["verify", s(&unsigned), "--key", s(&test_pub())]);
    assert_fails(&bad, 1, &["FAILED", "unsigned", "§5.3.3 condition 1"]);

    // A wrong expected hash.
    let bad = run(&[
        "verify",
        s(&pkg),
        "--key",
        s(&test_pub()),
        "--sha256",
        &"00".repeat(32),
    ]);
    assert_fails(&bad, 1, &["FAILED", "package hash", "step 2"]);
}

#[test]
fn verify_refuses_an_entry_under_a_symlink() {
    use peipkg_format::archive::{EntryKind, PayloadEntry};
    use peipkg_format::documents::Manifest;
    use peipkg_format::keys::SigningKey;
    let dir = tempfile::tempdir().unwrap();
    // A staged tree where the file is reached through the link, as an
    // extracting client would write it.
    let root = dir.path().join("root");
    fs::create_dir_all(root.join("etc")).unwrap();
    fs::create_dir_all(root.join("usr/share/evil")).unwrap();
    std::os::unix::fs::symlink("../../../etc", root.join("usr/share/evil/x")).unwrap();
    fs::write(root.join("etc/pwned"), b"owned\n").unwrap();
    let e = |path: &str, kind: EntryKind| PayloadEntry {
        path: path.into(),
        kind,
    };
    let entries = vec![
        e("usr", EntryKind::Directory),
        e("usr/share", EntryKind::Directory),
        e("usr/share/evil", EntryKind::Directory),
        e(
            "usr/share/evil/x",
            EntryKind::Symlink {
                target: "../../../etc".into(),
            },
        ),
        e("usr/share/evil/x/pwned", EntryKind::File { size: 6 }),
    ];
    let m = Manifest::decode(HELLO_MANIFEST.as_bytes()).unwrap();
    let pkg = dir.path().join("hello_0.1-1_noarch.peipkg");
    let key = SigningKey::load(&test_key()).unwrap();
    peipkg_testkit::packages::write(&m, entries, &root, Some(&key), &pkg);
    let bad = run(&["verify", s(&pkg), "--key", s(&test_pub())]);
    assert_fails(
        &bad,
        1,
        &["FAILED", "usr/share/evil/x/pwned", "\"usr/share/evil/x\""],
    );
}

#[test]
fn verify_refuses_a_fifo_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("x_1.0-1_noarch.peipkg");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let mut child = Command::new(BIN)
        .args(["verify", s(&fifo), "--key", s(&test_pub())])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > std::time::Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("verify blocked on a FIFO");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let o = child.wait_with_output().unwrap();
    assert_fails(&o, 1, &["not a regular file"]);
}
