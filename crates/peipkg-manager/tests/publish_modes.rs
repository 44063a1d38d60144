//! The two ways the manager publishes (issue #15 item 2): in place with our
//! `peipkg-repo`, which says `atomic-publish` through its hidden
//! `capabilities` subcommand; into a copy of the state swapped in afterwards
//! with any other `peipkg-repo` (here ours behind a wrapper that hides the
//! subcommand, as the reference does not have it).

mod common;

use common::*;

fn publish_lines(farm: &FarmDir) -> Vec<String> {
    std::fs::read_to_string(farm.state.join("logs/publish.log"))
        .unwrap()
        .lines()
        .filter(|l| l.contains(" publish --in "))
        .map(str::to_string)
        .collect()
}

#[test]
fn our_peipkg_repo_publishes_in_place_another_into_a_copy() {
    let t = tempfile::tempdir().unwrap();
    let (up, farm) = one_release_farm(t.path(), |r| r);
    let out = std::process::Command::new(sibling("peipkg-repo"))
        .arg("capabilities")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout)
        .lines()
        .any(|l| l == "atomic-publish"));

    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let repo = farm.repo().display().to_string();
    let lines = publish_lines(&farm);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].contains(&format!("--in {repo} ")) && lines[0].contains(&format!("--out {repo} ")),
        "not in place: {}",
        lines[0]
    );
    assert!(farm.verify().status.success());

    // Another peipkg-repo: no `capabilities`, so the copy-and-swap path.
    let wrapper = t.path().join("other-peipkg-repo");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\n[ \"$1\" = capabilities ] && {{ echo 'unknown subcommand' >&2; exit 2; }}\nexec {} \"$@\"\n",
            sibling("peipkg-repo").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let text = std::fs::read_to_string(&farm.config).unwrap().replace(
        &format!("peipkg_repo = \"{}\"", sibling("peipkg-repo").display()),
        &format!("peipkg_repo = \"{}\"", wrapper.display()),
    );
    std::fs::write(&farm.config, text).unwrap();
    up.release("v1.1.0", "a.txt", "two", false);
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let lines = publish_lines(&farm);
    assert_eq!(lines.len(), 2, "{lines:?}");
    let next = farm.state.join("repo.next").display().to_string();
    assert!(
        lines[1].contains(&format!("--in {next} ")),
        "not into a copy: {}",
        lines[1]
    );
    assert!(!farm.state.join("repo.next").exists());
    assert_eq!(farm.archive().len(), 2);
    assert!(farm.verify().status.success());
}
