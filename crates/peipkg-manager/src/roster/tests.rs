use super::*;
use std::fs;

fn write_recipe(root: &Path, id: &str, text: &str) {
    fs::create_dir_all(root.join(id)).unwrap();
    fs::write(root.join(id).join(RECIPE_FILE), text).unwrap();
}

const GOOD: &str = r#"
[meta]
license = "Zlib"
build_script = "build.sh"

[[package]]
name = "libz"
architecture = "x86_64"
files = ["usr/lib/libz.so.*"]

[[package]]
name = "libz-dev"
architecture = "x86_64"
dependencies = [{ name = "libz", same_build = true }]
files = ["usr/include/**"]

[upstream]
git = "https://github.com/madler/zlib"
tag_pattern = "^v(\\d+\\.\\d+\\.\\d+)$"
peios_revision = 2

[watch]
github_webhook = true
poll_interval = "30m"
"#;

#[test]
fn reads_upstream_watch_and_package_names() {
    let d = tempfile::tempdir().unwrap();
    write_recipe(d.path(), "zlib", GOOD);
    let r = load_recipe("zlib", &d.path().join("zlib")).unwrap();
    assert_eq!(r.packages, vec!["libz", "libz-dev"]);
    let u = r.upstream.as_ref().unwrap();
    assert_eq!(u.git, "https://github.com/madler/zlib");
    assert_eq!(u.peios_revision, 2);
    assert!(!u.submodules);
    assert!(r.watch.github_webhook);
    assert_eq!(
        r.poll_interval(Duration::from_secs(3600)),
        Duration::from_secs(1800)
    );
    assert_ne!(r.digest, [0; 32]);
}

#[test]
fn typos_in_owned_tables_are_errors_with_lines() {
    let d = tempfile::tempdir().unwrap();
    let text = GOOD
        .replace(
            "peios_revision = 2",
            "peios_revision = 2\nmin_verison = \"1.0\"",
        )
        .replace(
            "poll_interval = \"30m\"",
            "poll_interval = \"10s\"\npoll_intervall = \"1h\"",
        );
    write_recipe(d.path(), "zlib", &text);
    let e = load_recipe("zlib", &d.path().join("zlib")).unwrap_err();
    let m: Vec<String> = e.0.iter().map(|p| p.to_string()).collect();
    assert!(
        m.iter()
            .any(|l| l.contains("unknown key \"min_verison\" in [upstream]") && l.contains(":21:")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|l| l.contains("unknown key \"poll_intervall\" in [watch]")),
        "{m:?}"
    );
    assert!(
        m.iter().any(|l| l.contains("less than the 1m0s minimum")),
        "{m:?}"
    );
}

#[test]
fn upstream_values_are_validated_when_the_recipe_loads() {
    let d = tempfile::tempdir().unwrap();
    for (i, (from, to, want)) in [
        (
            "git = \"https://github.com/madler/zlib\"",
            "git = \"--upload-pack=touch /tmp/x\"",
            "must not begin with '-'",
        ),
        (
            "git = \"https://github.com/madler/zlib\"",
            "git = \"ext::sh -c touch% /tmp/pwned\"",
            "contains whitespace",
        ),
        (
            "git = \"https://github.com/madler/zlib\"",
            "git = \"ext::ssh\"",
            "remote helper",
        ),
        (
            "peios_revision = 2",
            "peios_revision = 0",
            "must be 1 or greater",
        ),
        (
            "peios_revision = 2",
            "peios_revision = \"1\"",
            "expected an integer",
        ),
        (
            "peios_revision = 2",
            "min_version = \"not valid!\"",
            "min_version \"not valid!\"",
        ),
        (
            "tag_pattern = \"^v(\\\\d+\\\\.\\\\d+\\\\.\\\\d+)$\"",
            "tag_pattern = \"^v\\\\d+$\"",
            "capture group",
        ),
        (
            "tag_pattern = \"^v(\\\\d+\\\\.\\\\d+\\\\.\\\\d+)$\"",
            "",
            "tag_pattern is required",
        ),
    ]
    .iter()
    .enumerate()
    {
        let text = GOOD.replace(from, to);
        assert_ne!(text, GOOD, "case {i} did not apply");
        let id = format!("r{i}");
        write_recipe(d.path(), &id, &text);
        let e = load_recipe(&id, &d.path().join(&id))
            .unwrap_err()
            .to_string();
        assert!(e.contains(want), "case {i}: {e}");
    }
}

#[test]
fn one_broken_recipe_does_not_hide_the_others() {
    let d = tempfile::tempdir().unwrap();
    write_recipe(d.path(), "alpha", GOOD);
    write_recipe(d.path(), "broken", "[upstream\n");
    write_recipe(d.path(), "manual", "[meta]\nbuild_script = \"build.sh\"\n[[package]]\nname = \"manual\"\narchitecture = \"noarch\"\n");
    let no_watch = &GOOD[..GOOD.find("[watch]").unwrap()];
    write_recipe(d.path(), "ondemand", no_watch);
    fs::create_dir_all(d.path().join("scratch")).unwrap();
    fs::write(d.path().join("README.md"), "notes").unwrap();
    std::os::unix::fs::symlink(d.path().join("alpha"), d.path().join("link")).unwrap();
    let roster = load_roster(d.path()).unwrap();
    assert_eq!(
        roster.recipes.keys().collect::<Vec<_>>(),
        vec!["alpha", "manual", "ondemand"]
    );
    assert_eq!(roster.broken.keys().collect::<Vec<_>>(), vec!["broken"]);
    assert!(roster.broken["broken"].to_string().contains("invalid TOML"));
    assert_eq!(roster.skipped.len(), 1);
    assert_eq!(
        roster.all_ids(),
        vec!["alpha", "broken", "manual", "ondemand"]
    );
    // Without [watch], PSD-009 A.2: built only on operator request.
    assert_eq!(
        roster.watched().map(|r| r.id.as_str()).collect::<Vec<_>>(),
        vec!["alpha"]
    );
    assert_eq!(
        roster
            .on_request()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        vec!["ondemand"]
    );
    assert!(roster.get("manual").unwrap().upstream.is_none());
}

#[test]
fn missing_recipes_dir_is_an_error_naming_it() {
    let e = load_roster(Path::new("/nonexistent/recipes")).unwrap_err();
    assert!(e.to_string().contains("/nonexistent/recipes"));
}

#[test]
fn every_corpus_recipe_loads() {
    // The shared material: $PEIPKG_SHARED_DIR, or ../shared beside the
    // workspace (as the other crates' tests find it).
    let shared = std::env::var_os("PEIPKG_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared"));
    let corpus = shared.join("recipes-corpus");
    let Ok(entries) = fs::read_dir(&corpus) else {
        panic!("recipes corpus not found at {}", corpus.display());
    };
    let mut n = 0;
    for e in entries {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(id) = name.strip_suffix(".peipkg.toml") else {
            continue;
        };
        let text = fs::read_to_string(e.path()).unwrap();
        let r = parse_recipe(id, &corpus, &e.path(), text, Default::default())
            .unwrap_or_else(|p| panic!("{id}: {p}"));
        assert_eq!(r.packages, vec![id.to_string()], "{id}");
        assert!(r.upstream.is_some(), "{id}");
        n += 1;
    }
    assert!(n >= 10, "only {n} corpus recipes found");
}

#[test]
fn a_zero_or_negative_poll_interval_is_an_error_not_a_crash() {
    // The reference's ticker panicked on these, crash-looping the daemon.
    let d = tempfile::tempdir().unwrap();
    for (i, v) in ["\"0s\"", "\"-5m\"", "\"0\"", "\"59s\""].iter().enumerate() {
        let id = format!("p{i}");
        write_recipe(
            d.path(),
            &id,
            &GOOD.replace("poll_interval = \"30m\"", &format!("poll_interval = {v}")),
        );
        let e = load_recipe(&id, &d.path().join(&id))
            .unwrap_err()
            .to_string();
        assert!(e.contains("[watch].poll_interval"), "{v}: {e}");
    }
}
