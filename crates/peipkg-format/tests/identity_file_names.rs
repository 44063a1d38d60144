//! Package file names (PSD-009 §2.1.4) and the identity values in the
//! conformance fixtures, which come from the reference tools and the real
//! client and must all be accepted.

use std::path::{Path, PathBuf};

use peipkg_format::identity::{
    package_file_name, parse_package_file_name, Architecture, Constraint, PackageName, SideEffect,
    Version,
};

#[test]
fn spec_examples_round_trip() {
    for (file, name, version, arch) in [
        (
            "nginx_1.26.2-3_x86_64.peipkg",
            "nginx",
            "1.26.2-3",
            "x86_64",
        ),
        ("jq_1.7.1-2_x86_64.peipkg", "jq", "1.7.1-2", "x86_64"),
        (
            "peios-docs_0.22-1_noarch.peipkg",
            "peios-docs",
            "0.22-1",
            "noarch",
        ),
        ("hello_0.1-1_noarch.peipkg", "hello", "0.1-1", "noarch"),
        (
            "libfoo-doc_1:1.2.3~rc1-2_noarch.peipkg",
            "libfoo-doc",
            "1:1.2.3~rc1-2",
            "noarch",
        ),
        ("x_1.0-1_aarch64.peipkg", "x", "", ""),
    ] {
        if name == "x" {
            // A one-character name is not a package name (§2.1.2).
            assert_eq!(
                parse_package_file_name(file).unwrap_err().section(),
                "§2.1.2"
            );
            continue;
        }
        let (n, v, a) = parse_package_file_name(file).unwrap();
        assert_eq!((n.as_str(), v.as_str(), a.as_str()), (name, version, arch));
        assert_eq!(package_file_name(&n, &v, &a), file);
    }
}

/// §2.1.4 says "the last underscore separates version from architecture",
/// which would split `x86_64` itself. Names and versions cannot contain `_`,
/// so the architecture is everything after the second underscore.
#[test]
fn architecture_with_underscore_is_split_after_second_underscore() {
    let (_, v, a) = parse_package_file_name("nginx_1.26.2-3_x86_64.peipkg").unwrap();
    assert_eq!(v.as_str(), "1.26.2-3");
    assert_eq!(a, Architecture::X86_64);
}

/// The spec's own example `libstdc++_13.2.1-4_x86_64.peipkg` breaks the
/// normative name rules of §2.1.2 (trailing `+`, `++`); we reject it.
#[test]
fn libstdcxx_file_name_example_is_rejected() {
    let e = parse_package_file_name("libstdc++_13.2.1-4_x86_64.peipkg").unwrap_err();
    assert_eq!(e.section(), "§2.1.2");
    assert!(e.to_string().contains("name field \"libstdc++\""), "{e}");
}

#[test]
fn malformed_file_names() {
    for (bad, section) in [
        ("hello_0.1-1_noarch", "§2.1.4"),
        ("hello_0.1-1_noarch.tar", "§2.1.4"),
        ("hello-0.1-1-noarch.peipkg", "§2.1.4"),
        ("hello_0.1-1.peipkg", "§2.1.4"),
        ("hello_0.1_noarch.peipkg", "§2.2.1"),
        ("hello_0.1-1_.peipkg", "§2.3.1"),
        ("hello_0.1-1_x86-64.peipkg", "§2.3.1"),
        ("../hello_0.1-1_noarch.peipkg", "§2.1.1"),
        ("hello_0.1-1_noarch/x.peipkg", "§2.3.1"),
    ] {
        let e = parse_package_file_name(bad).unwrap_err();
        assert_eq!(e.section(), section, "{bad}: {e}");
        assert!(
            e.to_string().starts_with("invalid package file name "),
            "{e}"
        );
    }
}

#[test]
fn non_canonical_zero_epoch_is_accepted_and_canonicalised() {
    let (n, v, a) = parse_package_file_name("hello_0:0.1-1_noarch.peipkg").unwrap();
    assert_eq!(package_file_name(&n, &v, &a), "hello_0.1-1_noarch.peipkg");
}

fn conformance_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PEIPKG_CONFORMANCE_DIR") {
        return PathBuf::from(d);
    }
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let entries = std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    for entry in entries {
        let path = entry.unwrap().path();
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Every `.peipkg` the reference tools produced has a name we parse back to
/// the same text, and every repository path `p/<name>/<version>/` agrees.
#[test]
fn conformance_package_file_names() {
    let root = conformance_dir();
    assert!(
        root.join("README.md").exists(),
        "fixtures missing at {}",
        root.display()
    );
    let mut files = Vec::new();
    walk(&root, &mut files);
    let packages: Vec<&PathBuf> = files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "peipkg"))
        .collect();
    assert!(packages.len() >= 7, "found {}", packages.len());
    for p in packages {
        let file = p.file_name().unwrap().to_str().unwrap();
        let (n, v, a) = parse_package_file_name(file).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(package_file_name(&n, &v, &a), file);
        let dirs: Vec<&str> = p
            .iter()
            .rev()
            .skip(1)
            .take(3)
            .map(|c| c.to_str().unwrap())
            .collect();
        if dirs.get(2) == Some(&"p") {
            assert_eq!(
                (dirs[1], dirs[0]),
                (n.as_str(), v.as_str()),
                "{}",
                p.display()
            );
        }
    }
}

/// Every name, version, architecture, constraint and side effect in the
/// fixtures' JSON documents is valid. Pulled out with a plain scan so the
/// test does not depend on the document types.
#[test]
fn conformance_json_identity_values() {
    let root = conformance_dir();
    let mut files = Vec::new();
    walk(&root, &mut files);
    let mut seen = 0;
    for p in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
    {
        let text = std::fs::read_to_string(p).unwrap();
        let doc: serde_json::Value = match serde_json::from_str(&text) {
            Ok(d) => d,
            Err(_) => continue,
        };
        visit(&doc, &mut |key, value| {
            seen += 1;
            let ok = match key {
                "version" => Version::parse(value).map(|_| ()),
                "constraint" => Constraint::parse(value).map(|_| ()),
                "architecture" => Architecture::parse(value).map(|_| ()),
                "side_effects" => SideEffect::parse(value).map(|_| ()),
                _ => Ok(()),
            };
            if let Err(e) = ok {
                panic!("{}: {key}: {e}", p.display());
            }
        });
    }
    assert!(seen > 20, "only {seen} identity values found");
    // Package names in manifests and indexes (not the repository's own name).
    for c in [">= 1.0, < 2.0", "< 1.0", "= 1:1.2.3~rc1-2"] {
        assert_eq!(
            Constraint::parse(c).unwrap().to_string(),
            c,
            "fixture text is canonical"
        );
    }
    for n in [
        "libfoo",
        "libfoo-dev",
        "libfoo-doc",
        "libfoo-legacy-dev",
        "foo-abi",
        "foo-devel",
        "libc-dev",
        "pkgconf",
    ] {
        PackageName::parse(n).unwrap();
    }
}

fn visit(v: &serde_json::Value, f: &mut impl FnMut(&str, &str)) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, val) in m {
                match val {
                    serde_json::Value::String(s) => f(k, s),
                    serde_json::Value::Array(items) if k == "side_effects" => {
                        for it in items {
                            if let Some(s) = it.as_str() {
                                f(k, s);
                            }
                        }
                    }
                    _ => visit(val, f),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|i| visit(i, f)),
        _ => {}
    }
}
