//! Shared helpers for the integration tests: the real binary, the shared
//! conformance fixtures, packages built with the real writer, and
//! snapshots of state directories.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use peipkg_format::archive::{EntryKind, PayloadEntry};
use peipkg_format::documents::Manifest;
use peipkg_format::keys::SigningKey;
pub use peipkg_testkit::packages::{self, manifest};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_peipkg-repo"))
}

/// Run the binary; returns (exit code, stdout, stderr).
pub fn run(args: &[&str]) -> (i32, String, String) {
    let out: Output = bin().args(args).output().expect("spawn peipkg-repo");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run and insist on success.
pub fn ok(args: &[&str]) -> String {
    let (code, stdout, stderr) = run(args);
    assert_eq!(code, 0, "peipkg-repo {args:?} failed:\n{stderr}\n{stdout}");
    stdout
}

pub fn conformance() -> PathBuf {
    if let Ok(dir) = std::env::var("PEIPKG_CONFORMANCE_DIR") {
        return PathBuf::from(dir);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
}

pub fn test_key_path() -> PathBuf {
    conformance().join("keys/test-signing.ed25519")
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A raw 32-byte seed key file.
pub fn seed_key(dir: &Path, name: &str, byte: u8) -> (PathBuf, SigningKey) {
    let seed = [byte; 32];
    let path = dir.join(name);
    fs::write(&path, seed).unwrap();
    (path, SigningKey::from_seed(&seed))
}

/// Build a real package with one file into `dir`, named canonically.
pub fn package(dir: &Path, m: &Manifest, key: Option<&SigningKey>) -> PathBuf {
    let content = format!("content of {} {}\n", m.name, m.version).into_bytes();
    package_with(dir, m, key, &content)
}

/// Build a real package whose one file holds `content`.
pub fn package_with(dir: &Path, m: &Manifest, key: Option<&SigningKey>, content: &[u8]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let root = dir.join(format!(".src-{}-{}", m.name, m.version));
    let rel = format!("usr/share/{}.txt", m.name);
    fs::create_dir_all(root.join("usr/share")).unwrap();
    fs::write(root.join(&rel), content).unwrap();
    let size = content.len() as u64;
    let out = dir.join(format!(
        "{}_{}_{}.peipkg",
        m.name, m.version, m.architecture
    ));
    packages::write(
        m,
        vec![
            PayloadEntry {
                path: "usr".into(),
                kind: EntryKind::Directory,
            },
            PayloadEntry {
                path: "usr/share".into(),
                kind: EntryKind::Directory,
            },
            PayloadEntry {
                path: rel,
                kind: EntryKind::File { size },
            },
        ],
        &root,
        key,
        &out,
    );
    fs::remove_dir_all(root).unwrap();
    out
}

/// Every file under `dir` (relative path -> bytes), for "left untouched"
/// assertions.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = fs::read_dir(&d) else { continue };
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                out.insert(
                    format!("{}/", path.strip_prefix(dir).unwrap().display()),
                    vec![],
                );
                stack.push(path);
            } else {
                out.insert(
                    path.strip_prefix(dir).unwrap().display().to_string(),
                    fs::read(&path).unwrap_or_default(),
                );
            }
        }
    }
    out
}

/// When a test package was built, unless its test is about build times.
pub const BUILT: &str = "2026-05-06T00:00:00Z";

/// `package` of the usual kind: built at [`BUILT`].
pub fn pkg(dir: &Path, name: &str, version: &str, arch: &str, key: Option<&SigningKey>) -> PathBuf {
    package(dir, &manifest(name, version, arch, BUILT), key)
}

/// [`pkg`] signed with the conformance key, as a farm would sign it.
pub fn signed(dir: &Path, name: &str, version: &str, arch: &str) -> PathBuf {
    pkg(dir, name, version, arch, Some(&test_key()))
}

/// Runs the binary and asserts what [`failed`] does.
pub fn fails(code: i32, args: &[&str], fragments: &[&str]) -> String {
    failed(code, run(args), fragments)
}

/// Asserts that a run exited with `code` and that its stderr holds every
/// one of `fragments`; returns stderr.
pub fn failed(code: i32, (got, out, err): (i32, String, String), fragments: &[&str]) -> String {
    assert_eq!(got, code, "unexpected exit status:\n{err}\n{out}");
    for f in fragments {
        assert!(err.contains(f), "missing {f:?} in:\n{err}");
    }
    err
}

/// The repo-basic conformance case's inputs, in the order they are
/// published, with the time of each publish.
pub const CONFORMANCE_RUNS: [(&str, &str); 2] = [
    ("in-1", "2026-05-07T01:00:00Z"),
    ("in-2", "2026-05-07T03:00:00Z"),
];

/// The flags every command that writes a state takes: the key it signs
/// with, the time it records and where the state goes.
pub fn signing_flags<'a>(key: &'a Path, ts: &'a str, out: &'a Path) -> [&'a str; 6] {
    ["--sign-key", p(key), "--timestamp", ts, "--out", p(out)]
}

/// The arguments of `init` with its four required flags.
pub fn init_args<'a>(name: &'a str, key: &'a Path, ts: &'a str, out: &'a Path) -> Vec<&'a str> {
    [&["init", "--name", name][..], &signing_flags(key, ts, out)].concat()
}

/// The arguments of a publish of `new` from `from` into `out`.
pub fn publish_args<'a>(
    from: &'a Path,
    new: &'a Path,
    key: &'a Path,
    ts: &'a str,
    out: &'a Path,
) -> Vec<&'a str> {
    let head = ["publish", "--in", p(from), "--new", p(new)];
    [&head[..], &signing_flags(key, ts, out)].concat()
}

/// Copies the tree `from` to `to` (which need not exist yet).
pub fn copy_tree(from: &Path, to: &Path) {
    for (rel, bytes) in snapshot(from) {
        let dst = to.join(&rel);
        if rel.ends_with('/') {
            fs::create_dir_all(&dst).unwrap();
        } else {
            fs::create_dir_all(dst.parent().unwrap()).unwrap();
            fs::write(dst, bytes).unwrap();
        }
    }
}

/// Publishes `new` into `repo` in place (at `ts`, with `extra` flags) and
/// asserts that it fails, that stderr holds every one of `fragments` and
/// that the state is untouched; returns stderr.
pub fn refused(repo: &Path, new: &Path, ts: &str, extra: &[&str], fragments: &[&str]) -> String {
    let before = snapshot(repo);
    let err = failed(1, publish(repo, new, ts, extra), fragments);
    assert_eq!(
        snapshot(repo),
        before,
        "a refused publish changed the state"
    );
    err
}

/// A fresh repository named `test-repo`, signed with the conformance key.
pub fn init_repo(dir: &Path) -> PathBuf {
    let repo = dir.join("repo");
    let key = test_key_path();
    ok(&init_args("test-repo", &key, "2026-05-07T00:00:00Z", &repo));
    repo
}

/// A temporary directory holding a fresh repository (see [`init_repo`]).
pub fn fresh_repo() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let repo = init_repo(t.path());
    (t, repo)
}

/// Asserts that the file at `path` holds `fragment`.
pub fn assert_file_holds(path: &Path, fragment: &str) {
    let text = fs::read_to_string(path).unwrap();
    assert!(
        text.contains(fragment),
        "{} lacks {fragment:?}:\n{text}",
        path.display()
    );
}

/// The conformance signing key.
pub fn test_key() -> SigningKey {
    SigningKey::load(&test_key_path()).unwrap()
}

/// Publish `new` into `repo` in place.
pub fn publish(repo: &Path, new: &Path, ts: &str, extra: &[&str]) -> (i32, String, String) {
    let key = test_key_path();
    let mut args = publish_args(repo, new, &key, ts, repo);
    args.extend_from_slice(extra);
    run(&args)
}
