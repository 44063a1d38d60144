//! Builds every package case in the shared conformance fixtures from its
//! recipe with the real binary, and compares the decompressed tar stream
//! with the reference's expected `.tar` byte for byte (see the fixtures'
//! README.md). Also checks that the same inputs give the same `.peipkg`
//! bytes twice.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_peipkg-build");

/// Files that are symlinks in the reference fixtures. The shared copy
/// stores each as a regular file holding its target (as git does without
/// symlink support), so the tests turn them back into symlinks.
const SYMLINKS: &[(&str, &str)] = &[
    ("layout-edge", "usr/bin/edge-data"),
    ("layout-edge", "usr/share/layout-edge/long-link"),
    ("libfoo-split", "usr/lib/x86_64-linux-peios/libfoo.so"),
    ("libfoo-split", "usr/lib/x86_64-linux-peios/libfoo.so.1"),
];

fn inputs(case: &Path) -> BTreeMap<String, String> {
    let text = fs::read_to_string(case.join("inputs.env")).unwrap();
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().trim_matches('"').to_string()))
        .collect()
}

/// Copies `from` to `to`, restoring the fixture's symlinks.
fn materialise(case_name: &str, from: &Path, to: &Path, rel: &str) {
    fs::create_dir_all(to).unwrap();
    let mut children: Vec<_> = fs::read_dir(from).unwrap().map(|e| e.unwrap()).collect();
    children.sort_by_key(|e| e.file_name());
    for child in children {
        let name = child.file_name().into_string().unwrap();
        let child_rel = if rel.is_empty() {
            name.clone()
        } else {
            format!("{rel}/{name}")
        };
        let src = child.path();
        let dst = to.join(&name);
        let meta = fs::symlink_metadata(&src).unwrap();
        if meta.file_type().is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if meta.is_dir() {
            materialise(case_name, &src, &dst, &child_rel);
        } else if SYMLINKS.contains(&(case_name, child_rel.as_str())) {
            let target = fs::read_to_string(&src).unwrap();
            assert!(!target.contains('\n'), "{child_rel}: {target:?}");
            std::os::unix::fs::symlink(target, &dst).unwrap();
        } else {
            fs::copy(&src, &dst).unwrap();
        }
    }
}

struct Built {
    printed: Vec<PathBuf>,
}

fn build_case(case: &Path, source: &Path, out: &Path, signed: bool) -> Built {
    let env = inputs(case);
    let mut cmd = Command::new(BIN);
    cmd.arg("build")
        .arg("--recipe")
        .arg(case.join("recipe/peipkg.toml"))
        .arg("--source")
        .arg(source)
        .args(["--version", &env["VERSION"]])
        .args(["--source-ref", &env["SOURCE_REF"]])
        .args(["--farm-id", &env["FARM_ID"]])
        .args(["--timestamp", &env["TIMESTAMP"]])
        .arg("--out")
        .arg(out);
    if signed {
        cmd.arg("--sign-key")
            .arg(common::conformance_dir().join("keys/test-signing.ed25519"));
    }
    let output = cmd.output().unwrap();
    assert!(
        output.status.success(),
        "build of {} failed: {}",
        case.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).unwrap();
    Built {
        printed: stdout.lines().map(PathBuf::from).collect(),
    }
}

fn decompress(path: &Path) -> Vec<u8> {
    zstd::decode_all(fs::File::open(path).unwrap()).unwrap()
}

/// Names the tar entry holding `offset`, for a readable mismatch report.
fn entry_at(tar: &[u8], offset: usize) -> String {
    let mut pos = 0;
    while pos + 512 <= tar.len() {
        let header = &tar[pos..pos + 512];
        if header.iter().all(|&b| b == 0) {
            return format!("end-of-archive block at {pos}");
        }
        let name_end = header[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let name = String::from_utf8_lossy(&header[..name_end]).to_string();
        let size_text = String::from_utf8_lossy(&header[124..135]).to_string();
        let size =
            usize::from_str_radix(size_text.trim_matches(char::from(0)).trim(), 8).unwrap_or(0);
        let end = pos + 512 + size.div_ceil(512) * 512;
        if offset < end {
            let part = if offset < pos + 512 {
                "header"
            } else {
                "content"
            };
            return format!(
                "{part} of entry {name:?} (header at {pos}), byte {}",
                offset - pos
            );
        }
        pos = end;
    }
    "past the end".into()
}

fn compare_case(case_name: &str, expected_dir: &str, signed: bool) {
    let case = common::conformance_dir().join(case_name);
    let expected = case.join(expected_dir);
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    materialise(case_name, &case.join("source"), &source, "");
    let out = work.path().join("out");
    let built = build_case(&case, &source, &out, signed);

    let mut expected_names: Vec<String> = fs::read_dir(&expected)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tar"))
        .map(|n| n.trim_end_matches(".tar").to_string() + ".peipkg")
        .collect();
    expected_names.sort();
    let mut printed_names: Vec<String> = built
        .printed
        .iter()
        .map(|p| {
            assert!(
                p.is_absolute(),
                "printed path {} is not absolute",
                p.display()
            );
            assert_eq!(p.parent().unwrap(), out, "printed path outside --out");
            p.file_name().unwrap().to_str().unwrap().to_string()
        })
        .collect();
    printed_names.sort();
    assert_eq!(
        printed_names, expected_names,
        "{case_name}: packages written"
    );

    for name in &expected_names {
        let ours = decompress(&out.join(name));
        let theirs = fs::read(expected.join(name.replace(".peipkg", ".tar"))).unwrap();
        if ours != theirs {
            let first = ours
                .iter()
                .zip(&theirs)
                .position(|(a, b)| a != b)
                .unwrap_or(ours.len().min(theirs.len()));
            panic!(
                "{case_name}/{expected_dir}/{name}: tar differs from the reference at byte {first} ({}); ours {} bytes, reference {} bytes",
                entry_at(&theirs, first),
                ours.len(),
                theirs.len()
            );
        }
    }
}

#[test]
fn hello_noarch_unsigned_matches_reference() {
    compare_case("hello-noarch", "expected", false);
}

#[test]
fn hello_noarch_signed_matches_reference() {
    compare_case("hello-noarch", "expected-signed", true);
}

#[test]
fn layout_edge_unsigned_matches_reference() {
    compare_case("layout-edge", "expected", false);
}

#[test]
fn layout_edge_signed_matches_reference() {
    compare_case("layout-edge", "expected-signed", true);
}

#[test]
fn libfoo_split_signed_matches_reference() {
    compare_case("libfoo-split", "expected-signed", true);
}

#[test]
fn every_fixture_case_is_covered() {
    let mut cases: Vec<(String, String)> = Vec::new();
    for case in fs::read_dir(common::conformance_dir()).unwrap() {
        let case = case.unwrap().path();
        if !case.join("recipe").is_dir() {
            continue;
        }
        for expected in ["expected", "expected-signed"] {
            if case.join(expected).is_dir() {
                cases.push((
                    case.file_name().unwrap().to_str().unwrap().to_string(),
                    expected.to_string(),
                ));
            }
        }
    }
    cases.sort();
    let covered = [
        ("hello-noarch", "expected"),
        ("hello-noarch", "expected-signed"),
        ("layout-edge", "expected"),
        ("layout-edge", "expected-signed"),
        ("libfoo-split", "expected-signed"),
    ];
    let covered: Vec<(String, String)> = covered
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(cases, covered, "a fixture case has no test above");
}

#[test]
fn same_inputs_give_identical_package_bytes() {
    let case = common::conformance_dir().join("libfoo-split");
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    materialise("libfoo-split", &case.join("source"), &source, "");
    let first = build_case(&case, &source, &work.path().join("a"), true);
    let second = build_case(&case, &source, &work.path().join("b"), true);
    assert_eq!(first.printed.len(), 3);
    for (a, b) in first.printed.iter().zip(&second.printed) {
        assert_eq!(a.file_name(), b.file_name());
        assert_eq!(
            fs::read(a).unwrap(),
            fs::read(b).unwrap(),
            "{}",
            a.display()
        );
    }
}

#[test]
fn signed_output_verifies_with_the_test_key() {
    let case = common::conformance_dir().join("libfoo-split");
    let work = tempfile::tempdir().unwrap();
    let source = work.path().join("source");
    materialise("libfoo-split", &case.join("source"), &source, "");
    let built = build_case(&case, &source, &work.path().join("out"), true);
    let key = common::conformance_dir().join("keys/test-signing.pub");
    for package in &built.printed {
        let output = Command::new(BIN)
            .arg("verify")
            .arg(package)
            .arg("--key")
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(
            stdout.contains("signature verified with key 5a49 1c24"),
            "{stdout}"
        );
    }
}
