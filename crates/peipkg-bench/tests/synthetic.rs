//! The synthetic tree is the benchmarks' workload: it must be the same on
//! every machine, keep the documented 2:2:1 mix, and (for `Content::W2`)
//! compress like the reference's W2 (shared/reference/baseline.md: zstd
//! level 3 takes its 270.9 MB tar to 97.1 MB, 0.358).

use peipkg_bench::synthetic::{write_tree, write_tree_with, Content, TreeSpec};
use std::path::Path;

const SPEC: TreeSpec = TreeSpec {
    total_bytes: 24 << 20,
    files: 300,
    symlinks: 5,
    seed: 1,
};

/// Every regular file's bytes, in path order (symlinks as their targets).
fn contents(root: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let e = e.unwrap();
            let ft = e.file_type().unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_symlink() {
                let t = std::fs::read_link(e.path()).unwrap();
                assert!(t.is_relative(), "{rel}: symlink target {t:?} is absolute");
                assert!(root.join(&rel).exists(), "{rel}: dangling symlink");
                out.push((rel, t.display().to_string().into_bytes()));
            } else {
                out.push((rel, std::fs::read(e.path()).unwrap()));
            }
        }
    }
    out.sort();
    out
}

fn ratio_at_level_3(files: &[(String, Vec<u8>)]) -> f64 {
    let all: Vec<u8> = files.iter().flat_map(|(_, b)| b.iter().copied()).collect();
    let z = zstd::stream::encode_all(&all[..], 3).unwrap();
    z.len() as f64 / all.len() as f64
}

#[test]
fn w2_tree_is_deterministic_mixed_and_compresses_like_the_reference() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let sa = write_tree_with(a.path(), &SPEC, Content::W2).unwrap();
    let sb = write_tree_with(b.path(), &SPEC, Content::W2).unwrap();
    let (ca, cb) = (contents(a.path()), contents(b.path()));
    assert!(ca == cb, "same spec gave different trees");
    assert_eq!(sa.bytes, SPEC.total_bytes);
    assert_eq!(sa.bytes, sb.bytes);
    assert_eq!(sa.files, SPEC.files);
    assert_eq!(sa.symlinks, SPEC.symlinks);
    assert_eq!(sa.text_bytes + sa.record_bytes + sa.random_bytes, sa.bytes);
    let share = |x: u64| x as f64 / sa.bytes as f64;
    for (what, got, want) in [
        ("text", share(sa.text_bytes), 0.4),
        ("records", share(sa.record_bytes), 0.4),
        ("random", share(sa.random_bytes), 0.2),
    ] {
        assert!(
            (got - want).abs() < 0.05,
            "{what} share {got:.3}, want about {want}"
        );
    }
    assert!(
        ca.iter().all(|(p, _)| p.starts_with("usr/")),
        "everything nests under usr/"
    );
    let r = ratio_at_level_3(&ca);
    assert!(
        (0.33..0.39).contains(&r),
        "W2 content compresses to {r:.3} at level 3, W2 to 0.358"
    );
}

#[test]
fn original_content_is_unchanged_and_compresses_worse() {
    // write_tree keeps writing what the earlier benchmark tables measured.
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    write_tree(a.path(), &SPEC).unwrap();
    write_tree_with(b.path(), &SPEC, Content::Original).unwrap();
    let ca = contents(a.path());
    assert!(ca == contents(b.path()), "write_tree is Content::Original");
    let r = ratio_at_level_3(&ca);
    assert!(r > 0.42, "original content compresses to {r:.3} at level 3");
}
