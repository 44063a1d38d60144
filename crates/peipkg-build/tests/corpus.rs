//! Every real recipe in the shared corpus must load, and the tolerated rule
//! departures must be reported as warnings that name the rule.

mod common;

use peipkg_build::recipe;

#[test]
fn every_corpus_recipe_loads() {
    let dir = common::corpus_dir();
    let mut entries: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("read corpus {}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    entries.sort();
    assert!(entries.len() >= 10, "corpus looks incomplete: {entries:?}");
    let mut failures = Vec::new();
    for path in &entries {
        match recipe::load(path) {
            Ok(loaded) => {
                assert!(!loaded.recipe.packages.is_empty(), "{}", path.display());
                assert_eq!(
                    loaded.recipe.meta.build_script,
                    "build.sh",
                    "{}",
                    path.display()
                );
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn busybox_non_ascii_description_is_a_warning_naming_the_rule() {
    let path = common::corpus_dir().join("busybox.peipkg.toml");
    let loaded = recipe::load(&path).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    let warning = &loaded.warnings[0];
    assert!(warning.contains("busybox.peipkg.toml:9:"), "{warning}");
    assert!(warning.contains("description"), "{warning}");
    assert!(warning.contains("PSD-009 §3.3.6"), "{warning}");
    assert!(warning.contains("printable ASCII"), "{warning}");
}

#[test]
fn sign_stanzas_are_parsed() {
    let loaded = recipe::load(&common::corpus_dir().join("prelude.peipkg.toml")).unwrap();
    let signs: Vec<(&str, &str)> = loaded
        .recipe
        .signs
        .iter()
        .map(|s| (s.path.as_str(), s.key.as_str()))
        .collect();
    assert_eq!(
        signs,
        [("boot/initramfs/init", "tcb"), ("usr/bin/seed-sd", "tcb")]
    );
}

#[test]
fn fsbase_directory_patterns_are_directory_claims() {
    let loaded = recipe::load(&common::corpus_dir().join("fsbase.peipkg.toml")).unwrap();
    let files = &loaded.recipe.packages[0].files;
    assert_eq!(files.len(), 6);
    assert!(files.iter().all(|f| f.glob.is_dir_pattern()));
}
