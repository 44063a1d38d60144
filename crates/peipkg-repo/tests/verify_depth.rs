//! verify: the checks beyond the reference's, each provoked on a state
//! whose documents are correctly signed but wrong.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use peipkg_format::repository::{Index, IndexKind};

const T1: &str = "2026-05-07T01:00:00Z";

fn three_versions(t: &Path) -> PathBuf {
    let repo = init_repo(t);
    let new = t.join("new");
    signed(&new, "alpha", "1.0-1", "noarch");
    signed(&new, "alpha", "1.1-1", "noarch");
    signed(&new, "beta", "2.0-1", "noarch");
    assert_eq!(publish(&repo, &new, T1, &[]).0, 0);
    repo
}

/// Rewrite an index with `edit` and re-sign it with the repository key, so
/// only the semantic checks can catch the change.
fn edit(repo: &Path, kind: IndexKind, edit: impl FnOnce(&mut Index)) {
    let rel = match kind {
        IndexKind::Active => "index/active.json",
        IndexKind::Archive => "index/archive.json",
    };
    let mut idx = Index::decode(&fs::read(repo.join(rel)).unwrap(), kind).unwrap();
    edit(&mut idx);
    let bytes = idx.to_bytes();
    fs::write(repo.join(rel), &bytes).unwrap();
    fs::write(
        repo.join(format!("{rel}.sig")),
        peipkg_format::keys::sign_detached(&test_key(), &bytes),
    )
    .unwrap();
}

fn fails(repo: &Path, mode: &str, fragments: &[&str]) -> String {
    let (code, out, err) = run(&["verify", "--repo", p(repo), "--mode", mode]);
    assert_eq!(code, 1, "verify passed:\n{out}{err}");
    for f in fragments {
        assert!(err.contains(f), "missing {f:?} in:\n{err}");
    }
    assert!(err.contains("issue(s) found"), "{err}");
    err
}

#[test]
fn archive_order_is_checked() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    edit(&repo, IndexKind::Archive, |i| i.packages.swap(0, 1));
    fails(
        &repo,
        "metadata",
        &["archive versions of alpha are not highest first: 1.0-1 comes before 1.1-1"],
    );
    edit(&repo, IndexKind::Archive, |i| {
        i.packages.swap(0, 1);
        i.packages.swap(1, 2);
    });
    fails(&repo, "metadata", &["archive is not sorted by name"]);
}

#[test]
fn active_must_be_the_per_name_maximum() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    let archive = Index::decode(
        &fs::read(repo.join("index/archive.json")).unwrap(),
        IndexKind::Archive,
    )
    .unwrap();
    let old_alpha = archive
        .packages
        .iter()
        .find(|e| e.version == "1.0-1")
        .unwrap()
        .clone();
    edit(&repo, IndexKind::Active, |i| {
        i.packages[0] = old_alpha.clone()
    });
    fails(&repo, "metadata", &["active lists alpha_1.0-1_noarch but the highest archived version of alpha is alpha_1.1-1_noarch"]);
    edit(&repo, IndexKind::Active, |i| {
        i.packages.remove(0);
    });
    fails(
        &repo,
        "metadata",
        &["the active index does not list alpha at all"],
    );
}

#[test]
fn active_entries_must_match_the_archive() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    edit(&repo, IndexKind::Active, |i| {
        i.packages[1].version = "9.9-1".into()
    });
    fails(
        &repo,
        "metadata",
        &["active entry beta_9.9-1_noarch has no matching archive entry (§6.3.5)"],
    );
    edit(&repo, IndexKind::Active, |i| {
        i.packages[1].version = "2.0-1".into();
        i.packages[1].hash.value = "0".repeat(64);
    });
    fails(
        &repo,
        "metadata",
        &["active entry beta_2.0-1_noarch hash 0000"],
    );
    edit(&repo, IndexKind::Active, |i| {
        let a = Index::decode(
            &fs::read(repo.join("index/archive.json")).unwrap(),
            IndexKind::Archive,
        )
        .unwrap();
        i.packages[1] = a.packages[2].clone();
        i.packages[1].description = "changed".into();
    });
    fails(
        &repo,
        "metadata",
        &["active entry beta_2.0-1_noarch differs from its archive entry in description"],
    );
    edit(&repo, IndexKind::Active, |i| {
        let dup = i.packages[0].clone();
        i.packages.push(dup);
    });
    fails(
        &repo,
        "metadata",
        &[
            "active index has duplicate name \"alpha\" (§6.2.7)",
            "not sorted by name",
        ],
    );
}

#[test]
fn duplicate_and_invalid_archive_entries() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    edit(&repo, IndexKind::Archive, |i| {
        let dup = i.packages[2].clone();
        i.packages.push(dup);
        i.packages[1].name = "Bad_Name".into();
        i.packages[1].hash.algorithm = "md5".into();
    });
    fails(
        &repo,
        "metadata",
        &["are both beta_2.0-1_noarch", "Bad_Name", "\"md5\""],
    );
}

#[test]
fn hashes_mode_checks_the_served_files() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    let file = repo.join("p/beta/2.0-1/beta_2.0-1_noarch.peipkg");
    let mut bytes = fs::read(&file).unwrap();
    let want = hex_sha(&bytes);
    bytes.splice(0..0, b"EXTRA".iter().copied());
    fs::write(&file, &bytes).unwrap();
    let err = fails(
        &repo,
        "hashes",
        &["hash mismatch: beta_2.0-1_noarch.peipkg computed "],
    );
    assert!(err.contains(&format!("index claimed {want}")), "{err}");
    fs::remove_file(&file).unwrap();
    fails(
        &repo,
        "hashes",
        &["hash check: read beta_2.0-1_noarch.peipkg"],
    );
    // metadata mode reads no package file
    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--mode", "metadata"]),
        "OK\n"
    );
}

#[test]
fn hashes_mode_compares_entries_with_manifests() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    for kind in [IndexKind::Archive, IndexKind::Active] {
        edit(&repo, kind, |i| {
            for e in &mut i.packages {
                if e.name == "beta" {
                    e.description = "not what the manifest says".into();
                }
            }
        });
    }
    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--mode", "metadata"]),
        "OK\n"
    );
    // The default hash check trusts the signed index for what the package
    // says (its bytes are the ones that passed full verification at
    // publish); only --deep opens the package and compares.
    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--mode", "hashes"]),
        "OK\n"
    );
    let (code, _, err) = run(&["verify", "--repo", p(&repo), "--mode", "hashes", "--deep"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("beta_2.0-1_noarch.peipkg: index entry differs from the package's manifest in description (PSD-009 §6.2.5)"), "{err}");
}

#[test]
fn deep_and_default_hash_checks_both_catch_changed_bytes() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    let file = repo.join("p/alpha/1.1-1/alpha_1.1-1_noarch.peipkg");
    let mut bytes = fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    fs::write(&file, &bytes).unwrap();
    for extra in [None, Some("--deep")] {
        let mut args = vec!["verify", "--repo", p(&repo), "--mode", "hashes"];
        args.extend(extra);
        let (code, _, err) = run(&args);
        assert_eq!(code, 1, "{extra:?}: {err}");
        assert!(
            err.contains("hash mismatch: alpha_1.1-1_noarch.peipkg computed "),
            "{extra:?}: {err}"
        );
    }
}

#[test]
fn the_states_own_p_dir_or_the_state_is_accepted_as_all_packages_dir() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    for dir in [repo.join("p"), repo.clone()] {
        for mode in ["hashes", "both"] {
            let (code, out, err) = run(&[
                "verify",
                "--repo",
                p(&repo),
                "--mode",
                mode,
                "--all-packages-dir",
                p(&dir),
            ]);
            assert_eq!(
                (code, out.as_str()),
                (0, "OK\n"),
                "{}: {err}",
                dir.display()
            );
        }
    }
    // And without the flag, the packages are found in the state itself.
    let (code, out, err) = run(&["verify", "--repo", p(&repo), "--mode", "both", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["counts"]["packages_hashed"], 3);
    assert_eq!(v["counts"]["packages_skipped"], 0);
}

#[test]
fn all_packages_dir_is_looked_up_by_file_name() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    let new = t.path().join("new");
    assert_eq!(
        ok(&["verify", "--repo", p(&repo), "--all-packages-dir", p(&new)]),
        "OK\n"
    );
    fs::remove_file(new.join("beta_2.0-1_noarch.peipkg")).unwrap();
    let (code, _, err) = run(&["verify", "--repo", p(&repo), "--all-packages-dir", p(&new)]);
    assert_eq!(code, 1);
    assert!(
        err.contains("hash check: read beta_2.0-1_noarch.peipkg"),
        "{err}"
    );
}

#[test]
fn both_mode_skips_hashes_after_metadata_issues() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    edit(&repo, IndexKind::Archive, |i| i.packages.swap(0, 1));
    let err = fails(
        &repo,
        "both",
        &["WARN: skipping hash check because metadata check found issues"],
    );
    assert!(
        err.find("WARN:").unwrap() < err.find("FAIL:").unwrap(),
        "warnings come first: {err}"
    );
}

#[test]
fn json_report() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    let (code, out, _) = run(&["verify", "--repo", p(&repo), "--json"]);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], true);
    assert_eq!(v["mode"], "both");
    assert_eq!(v["counts"]["archive_entries"], 3);
    assert_eq!(v["counts"]["packages_hashed"], 3);
    edit(&repo, IndexKind::Archive, |i| i.packages.swap(0, 1));
    let (code, out, _) = run(&["verify", "--repo", p(&repo), "--json", "--mode", "metadata"]);
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["ok"], false);
    assert_eq!(v["issues"][0]["check"], "order");
}

#[test]
fn leftovers_of_an_interrupted_publish_are_a_warning() {
    let t = tempfile::tempdir().unwrap();
    let repo = three_versions(t.path());
    fs::create_dir_all(repo.join(".peipkg-repo-work/incoming")).unwrap();
    let (code, out, err) = run(&["verify", "--repo", p(&repo)]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "OK\n");
    assert!(
        err.contains("WARN:") && err.contains("interrupted publish"),
        "{err}"
    );
    // The next publish removes them.
    let empty = t.path().join("empty");
    fs::create_dir(&empty).unwrap();
    assert_eq!(publish(&repo, &empty, T1, &[]).0, 0);
    assert!(!repo.join(".peipkg-repo-work").exists());
}

fn hex_sha(b: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(b))
}
