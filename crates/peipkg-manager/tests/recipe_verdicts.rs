//! One recipe reader, one verdict: every corpus recipe and every recipe
//! fixture (peipkg-recipe's `tests/fixtures`) is run through the real
//! `peipkg-build build` and the real `peipkg-manager check`, and both must
//! agree on whether it is valid and, when it is not, on the line of the
//! first problem.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{sibling, FarmDir};

/// `None`: the recipe is valid. `Some(line)`: refused, first problem at
/// `line` (`None` when the problem is about the whole file).
type Verdict = Option<Option<usize>>;

fn shared_dir() -> PathBuf {
    std::env::var_os("PEIPKG_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"))
}

/// Every recipe to judge, by recipe ID, with the file it comes from.
fn recipes() -> BTreeMap<String, PathBuf> {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../peipkg-recipe/tests/fixtures");
    let mut out = BTreeMap::new();
    for (prefix, dir) in [
        ("corpus", shared_dir().join("recipes-corpus")),
        ("malformed", fixtures.join("malformed")),
        ("valid", fixtures.join("valid")),
    ] {
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        for entry in entries {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if let Some(stem) = name.strip_suffix(".peipkg.toml") {
                out.insert(format!("{prefix}-{stem}"), path);
            }
        }
    }
    out
}

/// The line in `path:LINE: ...` (or `None` for `path: ...`).
fn located(rest: &str) -> Option<usize> {
    let rest = rest.strip_prefix(':')?;
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// peipkg-build's verdict: the recipe is refused when the error is the
/// recipe's; any later failure (here: no build script) means it loaded.
fn build_verdict(recipe: &Path, out: &Path) -> Verdict {
    let o = Command::new(sibling("peipkg-build"))
        .args(["build", "--recipe"])
        .arg(recipe)
        .arg("--out")
        .arg(out)
        .args(["--source", "/nonexistent/source", "--version", "1.0-1"])
        .args([
            "--timestamp",
            "2024-01-01T00:00:00Z",
            "--farm-id",
            "verdicts",
        ])
        .args(["--source-ref", "test", "--sandbox", "none"])
        .output()
        .unwrap();
    assert!(!o.status.success(), "{}: a build ran", recipe.display());
    let stderr = String::from_utf8_lossy(&o.stderr);
    let shown = recipe.display().to_string();
    let head = format!("peipkg-build: recipe {shown} ");
    // Any other first line is a later failure: the recipe loaded.
    let first = stderr.lines().next().and_then(|l| l.strip_prefix(&head))?;
    if first.starts_with("is not valid TOML") {
        let at = first.split("at line ").nth(1).unwrap_or_default();
        let digits: String = at.chars().take_while(char::is_ascii_digit).collect();
        return Some(digits.parse().ok());
    }
    if first.starts_with("is invalid (") {
        let problem = stderr.lines().nth(1).unwrap_or_default();
        let rest = problem
            .trim_start()
            .strip_prefix(&shown)
            .unwrap_or_default();
        return Some(located(rest));
    }
    // Unreadable or not UTF-8: about the whole file.
    Some(None)
}

#[test]
fn build_and_manager_give_every_recipe_the_same_verdict() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    let recipes = recipes();
    assert!(recipes.len() >= 50, "only {} recipes", recipes.len());
    let mut build = BTreeMap::new();
    for (id, source) in &recipes {
        let dir = farm.recipes.join(id);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("peipkg.toml");
        std::fs::copy(source, &path).unwrap();
        build.insert(id.clone(), build_verdict(&path, &t.path().join("out")));
    }

    // `check` lists each broken recipe's problems in order, one per line:
    // `error: <recipes>/<id>/peipkg.toml:LINE: message`.
    let run = farm.subcommand(&["check"]);
    let mut manager: BTreeMap<String, Verdict> =
        recipes.keys().map(|id| (id.clone(), None)).collect();
    for line in run.stderr.lines() {
        for (id, verdict) in manager.iter_mut() {
            let shown = farm
                .recipes
                .join(id)
                .join("peipkg.toml")
                .display()
                .to_string();
            if let Some(rest) = line.strip_prefix(&format!("error: {shown}")) {
                if verdict.is_none() {
                    *verdict = Some(located(rest));
                }
            }
        }
    }

    let mut disagree = Vec::new();
    for (id, b) in &build {
        let m = &manager[id];
        let expect_valid = id.starts_with("corpus-") || id.starts_with("valid-");
        if b != m || b.is_none() != expect_valid {
            disagree.push(format!("{id}: peipkg-build {b:?}, peipkg-manager {m:?}"));
        }
    }
    assert!(
        disagree.is_empty(),
        "verdicts differ (None = valid, Some(line) = refused at line):\n{}\n--- check stderr:\n{}",
        disagree.join("\n"),
        run.stderr
    );
}
