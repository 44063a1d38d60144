//! Hostile or broken `--new` inputs that must be refused with a clear error
//! and leave the state exactly as it was: an entry under a symlink, files
//! outside the permitted layout, a FIFO named like a package, a directory
//! holding no package, and a disk that fills up while a package is copied.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use peipkg_format::archive::{EntryKind, PayloadEntry};
use peipkg_testkit::packages::noise;

const T1: &str = "2026-05-07T01:00:00Z";

fn dir(path: &str) -> PayloadEntry {
    PayloadEntry {
        path: path.into(),
        kind: EntryKind::Directory,
    }
}

/// A signed package of `name` whose payload is `entries`; each file's
/// content is read from a scratch tree where it is created first (through
/// any symlink the entries make, as an extracting client would).
fn hostile(dir_out: &Path, name: &str, entries: Vec<PayloadEntry>) -> PathBuf {
    let root = dir_out.join(format!(".src-{name}"));
    fs::create_dir_all(&root).unwrap();
    for e in &entries {
        let at = root.join(&e.path);
        match &e.kind {
            EntryKind::Directory => fs::create_dir_all(&at).unwrap(),
            EntryKind::Symlink { target } => {
                fs::create_dir_all(at.parent().unwrap()).unwrap();
                std::os::unix::fs::symlink(target, &at).unwrap();
                // So a file "under" the link can be created through it.
                let _ = fs::create_dir_all(at.parent().unwrap().join(target));
            }
            EntryKind::File { .. } => {}
        }
    }
    let entries: Vec<PayloadEntry> = entries
        .into_iter()
        .map(|mut e| {
            if let EntryKind::File { .. } = e.kind {
                let at = root.join(&e.path);
                // The parent may be the symlink: write through it.
                fs::create_dir_all(at.parent().unwrap()).unwrap();
                fs::write(&at, b"payload\n").unwrap();
                e.kind = EntryKind::File { size: 8 };
            }
            e
        })
        .collect();
    let m = manifest(name, "1.0-1", "noarch", BUILT);
    let out = dir_out.join(format!("{name}_1.0-1_noarch.peipkg"));
    packages::write(&m, entries, &root, Some(&test_key()), &out);
    fs::remove_dir_all(root).unwrap();
    out
}

/// The payload of package `evil`: `usr/share/evil/x` is a symlink out of
/// the tree and `usr/share/evil/x/pwned` an entry under it.
fn under_a_symlink() -> Vec<PayloadEntry> {
    vec![
        dir("usr"),
        dir("usr/share"),
        dir("usr/share/evil"),
        link("usr/share/evil/x", "../../../etc"),
        file("usr/share/evil/x/pwned"),
    ]
}

fn file(path: &str) -> PayloadEntry {
    PayloadEntry {
        path: path.into(),
        kind: EntryKind::File { size: 0 },
    }
}

fn link(path: &str, target: &str) -> PayloadEntry {
    PayloadEntry {
        path: path.into(),
        kind: EntryKind::Symlink {
            target: target.into(),
        },
    }
}

#[test]
fn an_entry_under_a_symlink_is_refused_naming_both_paths() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    hostile(&new, "evil", under_a_symlink());
    refused(
        &repo,
        &new,
        T1,
        &[],
        &[
            "evil_1.0-1_noarch.peipkg",
            "usr/share/evil/x/pwned",
            "\"usr/share/evil/x\"",
        ],
    );
}

#[test]
fn files_outside_the_permitted_layout_are_refused_at_ingest() {
    for (i, bad) in [
        "root/.ssh/authorized_keys",
        "tmp/evil",
        "usr/local/evil",
        "var/lib/evil",
    ]
    .into_iter()
    .enumerate()
    {
        let t = tempfile::tempdir().unwrap();
        let repo = init_repo(t.path());
        let new = t.path().join("new");
        let mut entries = vec![dir("usr"), dir("usr/share"), file("usr/share/ok")];
        let parts: Vec<&str> = bad.split('/').collect();
        for d in 1..parts.len() {
            let d = parts[..d].join("/");
            if d != "usr" {
                entries.push(dir(&d));
            }
        }
        entries.push(file(bad));
        hostile(&new, &format!("bad{i}"), entries);
        let err = refused(&repo, &new, T1, &[], &[bad, "layout", "PSD-009 §3.4"]);
        assert!(!err.contains("usr/share/ok"), "{err}");
    }
}

#[test]
fn runtime_mountpoint_directories_stay_accepted() {
    // What the fsbase package ships: bare runtime mountpoints.
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    hostile(
        &new,
        "fsbase",
        vec![
            dir("dev"),
            dir("proc"),
            dir("run"),
            dir("sys"),
            dir("tmp"),
            dir("usr"),
            dir("usr/share"),
            dir("var"),
            dir("var/lib"),
            file("usr/share/marker"),
        ],
    );
    let (code, out, err) = publish(&repo, &new, T1, &[]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("+ fsbase_1.0-1_noarch.peipkg"), "{out}");
}

#[test]
fn a_fifo_named_like_a_package_is_refused_without_blocking() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    fs::create_dir_all(&new).unwrap();
    let fifo = new.join("a_1.0-1_noarch.peipkg");
    let st = Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(st.success());
    let before = snapshot(&repo);
    let key = test_key_path();
    let mut child = bin()
        .args(["publish", "--in", p(&repo), "--new", p(&new)])
        .args(["--sign-key", p(&key), "--timestamp", T1, "--out", p(&repo)])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if start.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("publish blocked on a FIFO in --new");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains(p(&fifo)) && err.contains("FIFO"), "{err}");
    assert_eq!(snapshot(&repo), before);
}

#[test]
fn a_new_dir_without_packages_is_an_error_naming_what_it_ignored() {
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    fs::create_dir_all(new.join("sub.peipkg")).unwrap();
    fs::write(new.join("README.txt"), "not a package").unwrap();
    fs::write(new.join("a_1.0-1_noarch.peipkg.part"), "partial").unwrap();
    let err = refused(
        &repo,
        &new,
        T1,
        &[],
        &[
            "no .peipkg file",
            "README.txt",
            "a_1.0-1_noarch.peipkg.part",
            "sub.peipkg/",
        ],
    );
    assert!(err.contains(p(&new)), "{err}");
    let active = fs::read_to_string(repo.join("index/active.json")).unwrap_or_default();
    assert!(
        active.is_empty() || active.contains("\"index_version\":1"),
        "{active}"
    );
}

/// Whether this process may mount a private tmpfs (root, as in CI).
fn can_mount() -> bool {
    Command::new("unshare")
        .args(["-m", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"])
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn a_full_disk_is_reported_as_an_io_error_not_a_corrupt_package() {
    assert!(
        can_mount(),
        "this test needs root and unshare to mount a small tmpfs (CI runs as root)"
    );
    let t = tempfile::tempdir().unwrap();
    let mnt = t.path().join("small");
    fs::create_dir_all(&mnt).unwrap();
    let new = t.path().join("new");
    // Incompressible, so the package is about as big as its content.
    package_with(
        &new,
        &manifest("big", "1.0-1", "noarch", "2026-05-06T00:00:00Z"),
        Some(&test_key()),
        &noise(2 << 20, 7),
    );
    let script = format!(
        "set -e; mount -t tmpfs -o size=1m tmpfs {mnt}; \
         {bin} init --name test-repo --sign-key {key} --timestamp 2026-05-07T00:00:00Z --out {mnt}/repo; \
         {bin} publish --in {mnt}/repo --new {new} --sign-key {key} --timestamp {T1} --out {mnt}/repo",
        mnt = p(&mnt),
        bin = env!("CARGO_BIN_EXE_peipkg-repo"),
        key = p(&test_key_path()),
        new = p(&new),
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("No space left on device"), "{err}");
    assert!(!err.contains("does not verify"), "{err}");
    assert!(!err.contains("corrupt"), "{err}");
}

/// `verify --mode hashes` on a state whose served package was swapped for
/// one with an entry under a symlink (indexes re-signed to match it, as an
/// attacker holding the key, or a state built by another tool, would have).
#[test]
fn deep_verify_refuses_a_served_package_with_an_entry_under_a_symlink() {
    use peipkg_format::repository::{Index, IndexKind};
    use sha2::Digest;
    let (t, repo) = fresh_repo();
    let new = t.path().join("new");
    hostile(
        &new,
        "evil",
        vec![
            dir("usr"),
            dir("usr/share"),
            dir("usr/share/evil"),
            file("usr/share/evil/ok"),
        ],
    );
    let (code, _, err) = publish(&repo, &new, T1, &[]);
    assert_eq!(code, 0, "{err}");
    let bad_dir = t.path().join("bad");
    let bad = hostile(&bad_dir, "evil", under_a_symlink());
    let bytes = fs::read(&bad).unwrap();
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    fs::write(repo.join("p/evil/1.0-1/evil_1.0-1_noarch.peipkg"), &bytes).unwrap();
    for (rel, kind) in [
        ("index/active.json", IndexKind::Active),
        ("index/archive.json", IndexKind::Archive),
    ] {
        let mut idx = Index::decode(&fs::read(repo.join(rel)).unwrap(), kind).unwrap();
        for e in &mut idx.packages {
            e.hash.value = sha.clone();
            e.size_compressed = bytes.len() as u64;
        }
        let doc = idx.to_bytes();
        fs::write(repo.join(rel), &doc).unwrap();
        fs::write(
            repo.join(format!("{rel}.sig")),
            peipkg_format::keys::sign_detached(&test_key(), &doc),
        )
        .unwrap();
    }
    // The default hashes check trusts the signed index for the bytes
    // (which this test re-signed); `--deep` re-reads every package, the
    // reader's rules included.
    let (code, out, err) = run(&["verify", "--repo", p(&repo), "--mode", "hashes", "--deep"]);
    assert_eq!(code, 1, "verify passed:\n{out}{err}");
    assert!(
        err.contains("usr/share/evil/x/pwned") && err.contains("\"usr/share/evil/x\""),
        "{err}"
    );
}
