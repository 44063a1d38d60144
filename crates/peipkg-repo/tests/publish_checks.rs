//! What publish refuses (and what it accepts with a warning), and that a
//! refused publish leaves the state exactly as it was.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::*;

const T1: &str = "2026-05-07T01:00:00Z";

/// A fresh state and an empty directory of new packages, the input of a
/// publish that only re-signs.
fn repo_and_empty(t: &Path) -> (PathBuf, PathBuf) {
    let empty = t.join("empty");
    fs::create_dir(&empty).unwrap();
    (init_repo(t), empty)
}

#[test]
fn unsigned_packages_need_allow_unsigned_and_then_warn() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    let pkg = pkg(&new, "alpha", "1.0-1", "noarch", None);
    refused(&repo, &new, T1, &[], &[p(&pkg), "unsigned"]);
    let (code, out, err) = publish(&repo, &new, T1, &["--allow-unsigned"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("  + alpha_1.0-1_noarch.peipkg"), "{out}");
    assert!(
        err.contains("warning:") && err.contains("unsigned"),
        "{err}"
    );
    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--allow-unsigned"]),
        "OK\n"
    );
    // Without the flag, verify reports the unsigned package.
    let (code, _, err) = run(&["verify", "--repo", p(&repo)]);
    assert_eq!(code, 1);
    assert!(err.contains("alpha_1.0-1_noarch"), "{err}");
}

#[test]
fn packages_signed_by_a_foreign_key_are_refused() {
    let (t, repo) = fresh_repo();
    let (_, other) = seed_key(t.path(), "other.key", 9);
    let new = t.path().join("new");
    let pkg = pkg(&new, "alpha", "1.0-1", "noarch", Some(&other));
    refused(
        &repo,
        &new,
        T1,
        &["--allow-unsigned"],
        &[p(&pkg), &other.public_key().fingerprint()],
    );
}

#[test]
fn truncated_and_foreign_files_are_named() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    let pkg = signed(&new, "alpha", "1.0-1", "noarch");
    let bytes = fs::read(&pkg).unwrap();
    fs::write(&pkg, &bytes[..bytes.len() / 2]).unwrap();
    refused(&repo, &new, T1, &[], &[p(&pkg), "does not verify"]);
    fs::remove_file(&pkg).unwrap();
    let foreign = new.join("beta_1.0-1_noarch.peipkg");
    fs::write(&foreign, b"this is not a package at all").unwrap();
    refused(&repo, &new, T1, &[], &[p(&foreign), "does not verify"]);
}

#[test]
fn file_names_must_match_the_manifest() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    let pkg = signed(&new, "alpha", "1.0-1", "noarch");
    let renamed = new.join("weird-name.peipkg");
    fs::rename(&pkg, &renamed).unwrap();
    refused(
        &repo,
        &new,
        T1,
        &[],
        &["weird-name.peipkg", "expected alpha_1.0-1_noarch.peipkg"],
    );
}

#[test]
fn url_templates_cannot_escape_or_clobber_the_state() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    signed(&new, "alpha", "1.0-1", "noarch");
    for tmpl in [
        "/p/../../../{name}/{filename}",
        "/index/{filename}",
        "/keys/{filename}",
        "p/{filename}",
        "/",
    ] {
        refused(&repo, &new, T1, &["--package-url-template", tmpl], &["URL"]);
    }
    assert!(!t.path().join("alpha").exists());
    // A flat pool and an external host are fine.
    let (code, _, err) = publish(
        &repo,
        &new,
        T1,
        &["--package-url-template", "/pool/{arch}/{filename}"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(repo.join("pool/noarch/alpha_1.0-1_noarch.peipkg").is_file());
    assert_eq!(ok(&["verify", "--repo", p(&repo)]), "OK\n");
}

#[test]
fn duplicates_are_refused_naming_both() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    signed(&new, "alpha", "1.0-1", "noarch");
    assert_eq!(publish(&repo, &new, T1, &[]).0, 0);
    let again = t.path().join("again");
    let dup = signed(&again, "alpha", "1.0-1", "noarch");
    refused(
        &repo,
        &again,
        "2026-05-07T02:00:00Z",
        &[],
        &[
            "package alpha_1.0-1_noarch already exists in the archive",
            p(&dup),
            "/p/alpha/1.0-1/alpha_1.0-1_noarch.peipkg",
        ],
    );
    // The same version under another spelling is the same version.
    let alias = t.path().join("alias");
    signed(&alias, "alpha", "1.00-1", "noarch");
    refused(
        &repo,
        &alias,
        "2026-05-07T02:00:00Z",
        &[],
        &["equal under PSD-009 §2.2", "alpha_1.0-1_noarch"],
    );
    // Within one batch.
    let batch = t.path().join("batch");
    let a = signed(&batch, "beta", "2.01-1", "noarch");
    let b = signed(&batch, "beta", "2.1-1", "noarch");
    refused(&repo, &batch, "2026-05-07T02:00:00Z", &[], &[p(&a), p(&b)]);
}

#[test]
fn a_second_architecture_of_a_name_is_refused() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    let a = signed(&new, "gamma", "1.0-1", "x86_64");
    let b = signed(&new, "gamma", "1.1-1", "aarch64");
    refused(&repo, &new, T1, &[], &[p(&a), p(&b), "PSD-009 §6.2.7"]);
}

#[test]
fn time_and_index_version_only_move_forward() {
    let t = tempfile::tempdir().unwrap();
    let (repo, empty) = repo_and_empty(t.path());
    refused(
        &repo,
        &empty,
        "2026-05-06T23:59:59Z",
        &[],
        &["older than the state's generated_at 2026-05-07T00:00:00Z"],
    );
    // An empty publish is the re-sign path: the version still grows.
    let (code, out, _) = publish(&repo, &empty, T1, &[]);
    assert_eq!(code, 0);
    assert_eq!(out, "published index_version 2 (0 new packages)\n");
    let (code, out, _) = publish(&repo, &empty, T1, &[]);
    assert_eq!(code, 0, "an equal timestamp is not older");
    assert_eq!(out, "published index_version 3 (0 new packages)\n");
}

#[test]
fn the_signing_key_must_be_an_active_key_of_the_repository() {
    let t = tempfile::tempdir().unwrap();
    let (repo, empty) = repo_and_empty(t.path());
    let (other_path, other) = seed_key(t.path(), "other.key", 3);
    let before = snapshot(&repo);
    fails(
        1,
        &publish_args(&repo, &empty, &other_path, T1, &repo),
        &[&other.public_key().fingerprint(), "not declared"],
    );
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn a_held_lock_refuses_or_waits() {
    use peipkg_repo::lock::{LockMode, StateLock};
    let t = tempfile::tempdir().unwrap();
    let (repo, empty) = repo_and_empty(t.path());
    let held = StateLock::acquire(&repo, LockMode::Exclusive, Duration::ZERO).unwrap();
    failed(
        1,
        publish(&repo, &empty, T1, &[]),
        &["lock is held", p(&repo)],
    );
    // Verify must not read a state being changed.
    fails(1, &["verify", "--repo", p(&repo)], &["lock is held"]);
    let releaser = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        drop(held);
    });
    let (code, out, err) = publish(&repo, &empty, T1, &["--wait", "10s"]);
    releaser.join().unwrap();
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "published index_version 2 (0 new packages)\n");
}

#[test]
fn rebuild_reingests_everything_with_the_current_template() {
    let (t, repo) = fresh_repo();
    let all = t.path().join("all");
    signed(&all, "alpha", "1.0-1", "noarch");
    signed(&all, "alpha", "1.1-1", "noarch");
    let new = t.path().join("new");
    fs::create_dir(&new).unwrap();
    fs::copy(
        all.join("alpha_1.0-1_noarch.peipkg"),
        new.join("alpha_1.0-1_noarch.peipkg"),
    )
    .unwrap();
    assert_eq!(publish(&repo, &new, T1, &[]).0, 0);
    let key_path = test_key_path();
    let mut rebuild = vec![
        "publish",
        "--in",
        p(&repo),
        "--rebuild",
        "--sign-key",
        p(&key_path),
        "--timestamp",
        "2026-05-07T02:00:00Z",
        "--out",
        p(&repo),
    ];
    fails(1, &rebuild, &["--rebuild requires --all-packages-dir"]);
    rebuild.extend([
        "--all-packages-dir",
        p(&all),
        "--package-url-template",
        "/q/{filename}",
    ]);
    let out = ok(&rebuild);
    assert_eq!(out, "published index_version 3 (2 new packages)\n  + alpha_1.0-1_noarch.peipkg\n  + alpha_1.1-1_noarch.peipkg\n");
    assert_file_holds(
        &repo.join("index/archive.json"),
        "\"url\":\"/q/alpha_1.0-1_noarch.peipkg\"",
    );
    assert!(
        !repo.join("p").exists(),
        "rebuild keeps files the new archive does not reference"
    );
    assert_eq!(ok(&["verify", "--repo", p(&repo)]), "OK\n");
}
