//! rotate-key and prune.

mod common;

use std::fs;
use std::path::Path;

use common::*;
use peipkg_format::documents::SignatureEnvelope;
use peipkg_format::repository::Descriptor;

const T1: &str = "2026-05-07T01:00:00Z";

fn signer(path: &Path) -> String {
    SignatureEnvelope::decode(&fs::read(path).unwrap())
        .unwrap()
        .0
        .key_fingerprint
}

/// `rotate-key` on `repo`, to `new_key`, signed with `sign_key`.
fn rotate_args<'a>(repo: &'a Path, new_key: &'a Path, sign_key: &'a Path) -> Vec<&'a str> {
    let args = ["rotate-key", "--repo", p(repo), "--new-key", p(new_key)];
    [&args[..], &["--sign-key", p(sign_key)]].concat()
}

fn repo_with_hello(t: &Path) -> std::path::PathBuf {
    let repo = init_repo(t);
    let new = t.join("new");
    signed(&new, "hello", "0.1-1", "noarch");
    assert_eq!(publish(&repo, &new, T1, &[]).0, 0);
    repo
}

#[test]
fn routine_rotation_keeps_the_old_key_until_valid_until() {
    let t = tempfile::tempdir().unwrap();
    let repo = repo_with_hello(t.path());
    let (new_path, new_key) = seed_key(t.path(), "new.key", 0x42);
    let old_fp = test_key().public_key().fingerprint();
    let new_fp = new_key.public_key().fingerprint();
    let key = test_key_path();
    let mut args = rotate_args(&repo, &new_path, &key);
    args.extend(["--transition", "30d", "--timestamp", "2026-05-08T00:00:00Z"]);
    let out = ok(&args);
    assert!(out.contains(&format!("new active key: {new_fp}")), "{out}");
    assert!(
        out.contains("hello_0.1-1_noarch"),
        "packages signed by the old key are listed: {out}"
    );
    let d = Descriptor::decode(&fs::read(repo.join("repo.json")).unwrap()).unwrap();
    let keys = &d.repo.signing.keys;
    assert_eq!(keys.len(), 2);
    assert!(
        keys[0].fingerprint < keys[1].fingerprint,
        "keys sorted by fingerprint"
    );
    let old = d.key(&old_fp).unwrap();
    assert_eq!(
        (old.status.as_str(), old.valid_until.as_str()),
        ("transitioning", "2026-06-07T00:00:00Z")
    );
    assert_eq!(d.key(&new_fp).unwrap().status, "active");
    assert!(repo.join(format!("keys/{new_fp}.pub")).is_file());
    assert_eq!(
        signer(&repo.join("repo.json.sig")),
        old_fp,
        "descriptor signed by the old key"
    );
    assert_eq!(signer(&repo.join("index/active.json.sig")), new_fp);
    assert_eq!(signer(&repo.join("index/archive.json.sig")), new_fp);

    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--at", "2026-06-01T00:00:00Z"]),
        "OK\n"
    );
    let late = ["--at", "2026-06-08T00:00:00Z", "--mode", "metadata"];
    fails(
        1,
        &[&["verify", "--repo", p(&repo)][..], &late].concat(),
        &[
            "repo.json: signed by transitioning key",
            "has passed",
            "package hello_0.1-1_noarch",
        ],
    );

    // The old key no longer publishes; the new one does, and re-signs the descriptor.
    let empty = t.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let refused = publish(&repo, &empty, "2026-05-09T00:00:00Z", &[]);
    failed(1, refused, &["\"transitioning\""]);
    let new2 = t.path().join("new2");
    package(
        &new2,
        &manifest("hello", "0.2-1", "noarch", "2026-05-08T00:00:00Z"),
        Some(&new_key),
    );
    ok(&publish_args(
        &repo,
        &new2,
        &new_path,
        "2026-05-09T00:00:00Z",
        &repo,
    ));
    assert_eq!(signer(&repo.join("repo.json.sig")), new_fp);
    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--at", "2026-06-01T00:00:00Z"]),
        "OK\n"
    );
}

#[test]
fn compromise_rotation_revokes_and_signs_with_the_new_key() {
    let t = tempfile::tempdir().unwrap();
    let repo = repo_with_hello(t.path());
    let (new_path, new_key) = seed_key(t.path(), "new.key", 0x43);
    let new_fp = new_key.public_key().fingerprint();
    let key = test_key_path();
    let mut args = rotate_args(&repo, &new_path, &key);
    args.push("--revoke");
    ok(&args);
    let d = Descriptor::decode(&fs::read(repo.join("repo.json")).unwrap()).unwrap();
    let old = d.key(&test_key().public_key().fingerprint()).unwrap();
    assert_eq!(
        (old.status.as_str(), old.valid_until.as_str()),
        ("revoked", "")
    );
    assert_eq!(signer(&repo.join("repo.json.sig")), new_fp);
    // Everything verifies except the package the revoked key signed.
    let err = fails(
        1,
        &["verify", "--repo", p(&repo)],
        &["package hello_0.1-1_noarch: signed by key", "revoked"],
    );
    assert_eq!(err.matches("FAIL:").count(), 1, "{err}");
    // The signer ledger is a shortcut: without it the records still tell.
    assert!(repo.join("packages/signers.tsv").is_file());
    fs::remove_file(repo.join("packages/signers.tsv")).unwrap();
    fails(
        1,
        &["verify", "--repo", p(&repo), "--mode", "metadata"],
        &["package hello_0.1-1_noarch: signed by key"],
    );
    // Without either, the package is only counted as unrecorded.
    fs::remove_file(repo.join("packages/hello/hello_0.1-1_noarch.json")).unwrap();
    let (code, out, err) = run(&["verify", "--repo", p(&repo), "--mode", "metadata"]);
    assert_eq!((code, out.as_str()), (0, "OK\n"), "{err}");
    assert!(err.contains("1 package(s) have no publish record"), "{err}");
    // Only the deep check opens the package and sees its signer.
    fails(
        1,
        &["verify", "--repo", p(&repo), "--mode", "hashes", "--deep"],
        &["hello_0.1-1_noarch.peipkg", "revoked"],
    );
}

#[test]
fn rotation_refuses_keys_that_do_not_fit() {
    let t = tempfile::tempdir().unwrap();
    let repo = repo_with_hello(t.path());
    let (new_path, _) = seed_key(t.path(), "new.key", 0x44);
    let (stranger, _) = seed_key(t.path(), "stranger.key", 0x45);
    let before = snapshot(&repo);
    for (newk, oldk, frag) in [
        (&new_path, &stranger, "not declared"),
        (&test_key_path(), &test_key_path(), "same key"),
        (&test_key_path(), &new_path, "not declared"),
    ] {
        let (code, _, err) = run(&rotate_args(&repo, newk, oldk));
        assert_eq!(code, 1, "{err}");
        assert!(err.contains(frag), "{frag}: {err}");
        assert_eq!(snapshot(&repo), before);
    }
    let key = test_key_path();
    let mut args = rotate_args(&repo, &new_path, &key);
    args.extend(["--revoke", "--transition", "3d"]);
    let (code, _, err) = run(&args);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn prune_removes_old_prereleases_but_never_active_entries() {
    let (t, repo) = fresh_repo();
    let key = test_key();
    let new = t.path().join("new");
    for (name, version, built) in [
        ("alpha", "1.0~rc1-1", "2026-01-01T00:00:00Z"),
        ("alpha", "1.0~rc2-1", "2026-01-02T00:00:00Z"),
        ("alpha", "1.0-1", "2026-02-01T00:00:00Z"),
        ("alpha", "1.1~beta1-1", "2026-05-01T00:00:00Z"),
        ("beta", "2.0~beta1-1", "2026-01-01T00:00:00Z"),
    ] {
        package(&new, &manifest(name, version, "noarch", built), Some(&key));
    }
    assert_eq!(publish(&repo, &new, T1, &[]).0, 0);

    let before = snapshot(&repo);
    let prune = ["prune", "--repo", p(&repo), "--older-than", "30d"];
    let when = ["--timestamp", "2026-05-07T02:00:00Z"];
    let out = ok(&[&prune[..], &["--prerelease"], &when, &["--dry-run"]].concat());
    assert_eq!(out, "would remove 2 pre-release package(s)\n  - alpha_1.0~rc2-1_noarch.peipkg (built 2026-01-02T00:00:00Z)\n  - alpha_1.0~rc1-1_noarch.peipkg (built 2026-01-01T00:00:00Z)\n");
    assert_eq!(snapshot(&repo), before, "a dry run changed the state");

    let key = test_key_path();
    let signed = ["--sign-key", p(&key)];
    let (code, _, err) = run(&[&prune[..], &signed].concat());
    assert_eq!(code, 2, "--prerelease is required: {err}");

    let out = ok(&[&prune[..], &["--prerelease"], &signed, &when].concat());
    assert!(
        out.starts_with("removed 2 pre-release package(s)\n"),
        "{out}"
    );
    assert!(out.ends_with("published index_version 3\n"), "{out}");
    let archive = fs::read_to_string(repo.join("index/archive.json")).unwrap();
    assert!(!archive.contains("1.0~rc1-1") && !archive.contains("1.0~rc2-1"));
    for kept in ["\"1.0-1\"", "\"1.1~beta1-1\"", "\"2.0~beta1-1\""] {
        assert!(archive.contains(kept), "{kept} missing");
    }
    assert!(
        !repo.join("p/alpha/1.0~rc1-1").exists(),
        "pruned file still served"
    );
    assert!(repo
        .join("p/beta/2.0~beta1-1/beta_2.0~beta1-1_noarch.peipkg")
        .is_file());
    let page = fs::read_to_string(repo.join("packages/alpha.html")).unwrap();
    assert!(!page.contains("1.0~rc1-1") && page.contains("1.0-1"));
    assert_eq!(ok(&["verify", "--repo", p(&repo)]), "OK\n");
}
