//! Shared helpers for the integration tests: the real binary, the shared
//! conformance fixtures, packages built with the real writer, and
//! snapshots of state directories.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use peipkg_format::archive::{write_package, EntryKind, PackOptions, PayloadEntry};
use peipkg_format::documents::{BuildInfo, Manifest};
use peipkg_format::keys::SigningKey;

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

pub fn manifest(name: &str, version: &str, arch: &str, ts: &str) -> Manifest {
    Manifest {
        schema_version: 1,
        name: name.into(),
        version: version.into(),
        architecture: arch.into(),
        description: format!("{name} test package"),
        license: "MIT".into(),
        homepage: "https://example.org".into(),
        dependencies: vec![],
        optional_dependencies: vec![],
        conflicts: vec![],
        provides: vec![],
        replaces: vec![],
        side_effects: vec![],
        size_installed: 0,
        sd_overrides: vec![],
        build: BuildInfo {
            timestamp: ts.into(),
            farm_id: "test-farm".into(),
            source_ref: format!("test://{name}"),
        },
    }
}

/// Build a real package with one file into `dir`, named canonically.
pub fn package(dir: &Path, m: &Manifest, key: Option<&SigningKey>) -> PathBuf {
    let content = format!("content of {} {}\n", m.name, m.version).into_bytes();
    package_with(dir, m, key, &content)
}

/// Pseudo-random bytes (incompressible, reproducible).
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
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
    write_package(
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
        &PackOptions {
            zstd_level: 3,
            signing_key: key.cloned(),
        },
        &out,
    )
    .unwrap();
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

/// Publishes `new` into `repo` in place (at `ts`, with `extra` flags) and
/// asserts that it fails, that stderr holds every one of `fragments` and
/// that the state is untouched; returns stderr.
pub fn refused(repo: &Path, new: &Path, ts: &str, extra: &[&str], fragments: &[&str]) -> String {
    let before = snapshot(repo);
    let (code, out, err) = publish(repo, new, ts, extra);
    assert_eq!(code, 1, "publish should fail:\n{out}\n{err}");
    for f in fragments {
        assert!(err.contains(f), "missing {f:?} in:\n{err}");
    }
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
    ok(&[
        "init",
        "--name",
        "test-repo",
        "--sign-key",
        p(&test_key_path()),
        "--timestamp",
        "2026-05-07T00:00:00Z",
        "--out",
        p(&repo),
    ]);
    repo
}

/// The conformance signing key.
pub fn test_key() -> SigningKey {
    SigningKey::load(&test_key_path()).unwrap()
}

/// Publish `new` into `repo` in place.
pub fn publish(repo: &Path, new: &Path, ts: &str, extra: &[&str]) -> (i32, String, String) {
    let key = test_key_path();
    let mut args = vec![
        "publish",
        "--in",
        p(repo),
        "--new",
        p(new),
        "--sign-key",
        p(&key),
        "--timestamp",
        ts,
        "--out",
        p(repo),
    ];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args);
    (code, out, err)
}
