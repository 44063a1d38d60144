//! The writer reproduces every conformance package byte for byte (at the
//! decompressed tar level), and the verifier accepts every expected package.
//!
//! The writer is fed the same logical inputs the reference had: the manifest
//! from the expected package, the entry list (paths, kinds, link targets)
//! from the expected package, and file contents from the case's `source/`.

mod common;

use common::{conformance_dir, read_tar, test_key};
use peipkg_format::archive::{
    verify_package, write_package, EntryKind, PackOptions, PayloadEntry, SignatureStatus,
    VerifyOptions,
};
use peipkg_format::documents::Manifest;
use std::path::{Path, PathBuf};

struct Expected {
    case: PathBuf,
    tar: PathBuf,
    peipkg: PathBuf,
    signed: bool,
}

fn expected_packages() -> Vec<Expected> {
    let mut out = Vec::new();
    let root = conformance_dir();
    let mut cases: Vec<_> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("source").is_dir())
        .collect();
    cases.sort();
    for case in cases {
        for (sub, signed) in [("expected", false), ("expected-signed", true)] {
            let dir = case.join(sub);
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut tars: Vec<_> = rd
                .map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|e| e == "tar"))
                .collect();
            tars.sort();
            for tar in tars {
                out.push(Expected {
                    case: case.clone(),
                    peipkg: tar.with_extension("peipkg"),
                    tar,
                    signed,
                });
            }
        }
    }
    assert!(
        out.len() >= 7,
        "expected at least 7 conformance packages, found {}",
        out.len()
    );
    out
}

fn inputs_from(exp: &Expected) -> (Manifest, Vec<PayloadEntry>) {
    let tar = std::fs::read(&exp.tar).unwrap();
    let entries = read_tar(&tar);
    assert_eq!(entries[0].name, ".peipkg/manifest.json");
    let manifest = Manifest::decode(&entries[0].content).unwrap();
    let source = exp.case.join("source");
    let payload = entries
        .iter()
        .filter(|e| !e.name.starts_with(".peipkg/"))
        .map(|e| {
            let path = e.name.trim_end_matches('/').to_string();
            let kind = match e.typeflag {
                b'5' => EntryKind::Directory,
                b'2' => EntryKind::Symlink {
                    target: e.link.clone(),
                },
                _ => {
                    let size = std::fs::metadata(source.join(&path)).unwrap().len();
                    EntryKind::File { size }
                }
            };
            PayloadEntry { path, kind }
        })
        .collect();
    (manifest, payload)
}

fn write(exp: &Expected, out: &Path, level: i32) -> Vec<u8> {
    let (manifest, mut payload) = inputs_from(exp);
    // The writer must not depend on input order.
    payload.reverse();
    let opts = PackOptions {
        zstd_level: level,
        signing_key: exp.signed.then(test_key),
    };
    let outcome = write_package(&manifest, payload, &exp.case.join("source"), &opts, out).unwrap();
    let bytes = std::fs::read(out).unwrap();
    assert_eq!(outcome.size_compressed, bytes.len() as u64);
    bytes
}

#[test]
fn writer_reproduces_every_expected_tar() {
    let tmp = tempfile::tempdir().unwrap();
    for exp in expected_packages() {
        let out = tmp.path().join(exp.peipkg.file_name().unwrap());
        let bytes = write(&exp, &out, 3);
        let tar = zstd::stream::decode_all(bytes.as_slice()).unwrap();
        let want = std::fs::read(&exp.tar).unwrap();
        assert!(
            tar == want,
            "{}: decompressed tar differs from the reference",
            exp.tar.display()
        );
    }
}

#[test]
fn same_inputs_give_identical_package_bytes() {
    let tmp = tempfile::tempdir().unwrap();
    for exp in expected_packages() {
        let a = write(&exp, &tmp.path().join("a.peipkg"), 9);
        let b = write(&exp, &tmp.path().join("b.peipkg"), 9);
        assert_eq!(a, b, "{}", exp.tar.display());
    }
}

#[test]
fn verifier_accepts_expected_and_our_packages() {
    let tmp = tempfile::tempdir().unwrap();
    let key = test_key().public_key();
    for exp in expected_packages() {
        let ours = tmp.path().join("ours.peipkg");
        write(&exp, &ours, 3);
        for pkg in [&exp.peipkg, &ours] {
            let opts = VerifyOptions {
                trusted_keys: vec![key.clone()],
                require_signature: exp.signed,
                ..Default::default()
            };
            let v = verify_package(pkg, &opts).unwrap_or_else(|e| panic!("{}: {e}", pkg.display()));
            if exp.signed {
                assert_eq!(
                    v.signature,
                    SignatureStatus::Verified {
                        fingerprint: key.fingerprint()
                    }
                );
            } else {
                assert_eq!(v.signature, SignatureStatus::Unsigned);
            }
            assert_eq!(v.size_compressed, std::fs::metadata(pkg).unwrap().len());
            let file_hash = {
                use sha2::Digest;
                hex::encode(sha2::Sha256::digest(std::fs::read(pkg).unwrap()))
            };
            assert_eq!(v.sha256, file_hash);
            // The index-declared hash and sizes are enforced when given.
            let strict = VerifyOptions {
                expected_sha256: Some(file_hash),
                expected_size_compressed: Some(v.size_compressed),
                expected_size_installed: Some(v.manifest.size_installed),
                ..opts
            };
            verify_package(pkg, &strict).unwrap();
        }
    }
}
