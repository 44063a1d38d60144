//! Bad input: each failure names the file and the reason, and leaves the
//! state untouched.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;

const T1: &str = "2026-05-07T01:00:00Z";

fn with_package(t: &Path) -> (PathBuf, PathBuf) {
    let repo = init_repo(t);
    let new = t.join("new");
    signed(&new, "alpha", "1.0-1", "noarch");
    (repo, new)
}

/// A plain publish at `T1` fails naming every fragment, state untouched.
fn fails_untouched(repo: &Path, new: &Path, fragments: &[&str]) {
    refused(repo, new, T1, &[], fragments);
}

/// A state without its `file`: a publish fails naming it missing.
/// Returns the state (and the directory that holds it) for more checks.
fn without(file: &str) -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let (repo, new) = with_package(t.path());
    fs::remove_file(repo.join(file)).unwrap();
    fails_untouched(&repo, &new, &[file, "missing"]);
    (t, repo)
}

#[test]
fn missing_descriptor() {
    let (_t, repo) = without("repo.json");
    fails(
        1,
        &["verify", "--repo", p(&repo)],
        &["repo.json", "missing"],
    );
}

#[test]
fn corrupt_descriptor_and_indexes() {
    for (file, garbage) in [
        ("repo.json", "{\"schema_version\":1,"),
        ("index/archive.json", "not json"),
        ("index/active.json", "{\"index_version\":\"two\"}"),
    ] {
        let t = tempfile::tempdir().unwrap();
        let (repo, new) = with_package(t.path());
        fs::write(repo.join(file), garbage).unwrap();
        fails_untouched(&repo, &new, &[file, "does not parse"]);
        fails(1, &["verify", "--repo", p(&repo)], &[file]);
    }
}

#[test]
fn a_signature_that_does_not_verify() {
    let t = tempfile::tempdir().unwrap();
    let (repo, new) = with_package(t.path());
    // Same JSON, different bytes: the archive's signature no longer holds.
    let a = fs::read_to_string(repo.join("index/archive.json")).unwrap();
    fs::write(
        repo.join("index/archive.json"),
        a.replace("\"packages\":[]", "\"packages\":[ ]"),
    )
    .unwrap();
    fails_untouched(&repo, &new, &["index/archive.json.sig", "does not verify"]);
    fails(
        1,
        &["verify", "--repo", p(&repo), "--mode", "metadata"],
        &["FAIL: archive.json: signature does not verify against the declared key"],
    );
}

#[test]
fn a_missing_signature() {
    without("repo.json.sig");
}

#[test]
fn a_key_that_is_not_in_the_descriptor() {
    let t = tempfile::tempdir().unwrap();
    let (repo, new) = with_package(t.path());
    let (_, other) = seed_key(t.path(), "other", 5);
    // Re-sign the descriptor with a key the descriptor does not declare.
    let body = fs::read(repo.join("repo.json")).unwrap();
    fs::write(
        repo.join("repo.json.sig"),
        peipkg_format::keys::sign_detached(&other, &body),
    )
    .unwrap();
    let fp = other.public_key().fingerprint();
    fails_untouched(&repo, &new, &["repo.json.sig", &fp, "not declared"]);
    fails(
        1,
        &["verify", "--repo", p(&repo)],
        &[&format!(
            "repo.json: signing key fingerprint {fp} is not declared in the descriptor"
        )],
    );
}

#[test]
fn a_key_file_that_does_not_match_its_fingerprint() {
    let t = tempfile::tempdir().unwrap();
    let (repo, new) = with_package(t.path());
    let (_, other) = seed_key(t.path(), "other", 6);
    let fp = test_key().public_key().fingerprint();
    fs::write(
        repo.join(format!("keys/{fp}.pub")),
        other.public_key().to_pem(),
    )
    .unwrap();
    fails_untouched(&repo, &new, &["fingerprints to"]);
    fails(
        1,
        &["verify", "--repo", p(&repo), "--mode", "metadata"],
        &[&format!("key file {fp}.pub fingerprints to")],
    );
}

#[test]
fn init_into_a_non_empty_directory() {
    let t = tempfile::tempdir().unwrap();
    let out = t.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("keep.txt"), "operator data").unwrap();
    let before = snapshot(&out);
    let key = test_key_path();
    let init = |out| init_args("r", &key, "2026-05-07T00:00:00Z", out);
    fails(1, &init(&out), &[p(&out), "is not empty"]);
    assert_eq!(snapshot(&out), before);
    // A regular file is refused too.
    let file = t.path().join("file");
    fs::write(&file, "x").unwrap();
    fails(1, &init(&file), &["not a directory"]);
}

#[test]
fn out_of_place_publish_refuses_a_non_empty_out() {
    let t = tempfile::tempdir().unwrap();
    let (repo, new) = with_package(t.path());
    let out = t.path().join("out");
    fs::create_dir(&out).unwrap();
    fs::write(out.join("x"), "y").unwrap();
    let key = test_key_path();
    let args = publish_args(&repo, &new, &key, T1, &out);
    fails(1, &args, &["is not empty"]);
    assert_eq!(fs::read_dir(&out).unwrap().count(), 1);
    assert_eq!(
        fs::read_dir(t.path()).unwrap().count(),
        3,
        "a build directory was left beside --out"
    );
}

#[test]
fn a_missing_new_directory() {
    let (t, repo) = fresh_repo();
    fails_untouched(&repo, &t.path().join("absent"), &["absent"]);
}
