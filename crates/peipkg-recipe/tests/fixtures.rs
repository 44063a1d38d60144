//! The recipe fixtures: every file under `fixtures/malformed` is refused,
//! with the problem its `# expect:` line names first; every file under
//! `fixtures/valid` loads. peipkg-manager's `recipe_verdicts` test runs the
//! same files through both real binaries.

use std::path::{Path, PathBuf};

use peipkg_recipe::{load, RecipeError};

fn fixtures(kind: &str) -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".peipkg.toml"))
        .collect();
    files.sort();
    files
}

/// The text after `# expect: ` on the fixture's first line.
fn expectation(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let first = String::from_utf8_lossy(first);
    first
        .strip_prefix("# expect: ")
        .unwrap_or_else(|| panic!("{}: no `# expect:` first line", path.display()))
        .to_string()
}

#[test]
fn every_malformed_fixture_is_refused_with_its_first_problem() {
    let files = fixtures("malformed");
    assert!(files.len() >= 40, "only {} malformed fixtures", files.len());
    let mut wrong = Vec::new();
    for path in files {
        let want = expectation(&path);
        let first = match load(&path) {
            Ok(_) => "(it loaded)".to_string(),
            Err(RecipeError::Invalid { problems, .. }) => problems[0].message.clone(),
            Err(e) => e.to_string(),
        };
        if !first.contains(&want) {
            wrong.push(format!(
                "{}: {first:?} does not mention {want:?}",
                path.display()
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn every_valid_fixture_loads() {
    let files = fixtures("valid");
    assert!(!files.is_empty());
    for path in files {
        assert_eq!(expectation(&path), "valid", "{}", path.display());
        if let Err(e) = load(&path) {
            panic!("{e}");
        }
    }
}
