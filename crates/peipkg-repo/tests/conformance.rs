//! The repo-basic conformance case: the reference's three runs, replayed
//! with our binary, must give every expected file byte for byte.

mod common;

use std::fs;
use std::path::Path;

use common::*;

fn expected_files(root: &Path) -> Vec<String> {
    let mut out: Vec<String> = snapshot(root)
        .into_keys()
        .filter(|k| !k.ends_with('/'))
        .collect();
    out.sort();
    out
}

fn replay(out: &Path, in_place: bool) {
    let case = conformance().join("repo-basic");
    let key = test_key_path();
    let s0 = out.join("state-0");
    let mut init = init_args("test-repo", &key, "2026-05-07T00:00:00Z", &s0);
    init.extend(["--description", "Conformance repository"]);
    ok(&init);
    let mut prev = s0.clone();
    for (i, (input, ts)) in CONFORMANCE_RUNS.into_iter().enumerate() {
        let next = out.join(format!("state-{}", i + 1));
        let target = if in_place {
            // Copy the previous state and publish into the copy in place,
            // spelling the directory differently for --in and --out.
            copy_tree(&prev, &next);
            next.clone()
        } else {
            next.clone()
        };
        let out_arg = if in_place {
            format!("{}/./", target.display())
        } else {
            target.display().to_string()
        };
        let src = if in_place { &target } else { &prev };
        let new = case.join(input);
        ok(&publish_args(src, &new, &key, ts, Path::new(&out_arg)));
        prev = next;
    }
}

fn compare(out: &Path) {
    let expected = conformance().join("repo-basic/expected");
    let mut n = 0;
    for state in ["state-0", "state-1", "state-2"] {
        for rel in expected_files(&expected.join(state)) {
            let want = fs::read(expected.join(state).join(&rel)).unwrap();
            let got = fs::read(out.join(state).join(&rel))
                .unwrap_or_else(|e| panic!("{state}/{rel} missing from our output: {e}"));
            assert!(
                got == want,
                "{state}/{rel} differs from the reference output"
            );
            n += 1;
        }
    }
    assert!(n >= 30, "only {n} expected files compared");
}

#[test]
fn out_of_place_replay_is_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    replay(t.path(), false);
    compare(t.path());
    for state in ["state-0", "state-1", "state-2"] {
        assert_eq!(ok(&["verify", "--repo", p(&t.path().join(state))]), "OK\n");
    }
}

#[test]
fn in_place_replay_is_byte_identical() {
    let t = tempfile::tempdir().unwrap();
    replay(t.path(), true);
    compare(t.path());
    assert_eq!(
        ok(&["verify", "--repo", p(&t.path().join("state-2"))]),
        "OK\n"
    );
}

#[test]
fn replay_script_runs_with_our_binary_first_on_path() {
    let t = tempfile::tempdir().unwrap();
    let bindir = t.path().join("bin");
    fs::create_dir(&bindir).unwrap();
    std::os::unix::fs::symlink(
        env!("CARGO_BIN_EXE_peipkg-repo"),
        bindir.join("peipkg-repo"),
    )
    .unwrap();
    let path = format!(
        "{}:{}",
        bindir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = std::process::Command::new("sh")
        .arg(conformance().join("repo-basic/replay.sh"))
        .arg(t.path().join("out"))
        .env("PATH", path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("initialised repository \"test-repo\" at "),
        "{stdout}"
    );
    assert!(stdout.contains("published index_version 2 (4 new packages)\n  + hello_0.1-1_noarch.peipkg\n  + libfoo-dev_1:1.2.3~rc1-2_x86_64.peipkg\n  + libfoo-doc_1:1.2.3~rc1-2_noarch.peipkg\n  + libfoo_1:1.2.3~rc1-2_x86_64.peipkg\n"), "{stdout}");
    assert!(
        stdout.contains(
            "published index_version 3 (1 new packages)\n  + hello_0.2-1_noarch.peipkg\n"
        ),
        "{stdout}"
    );
    compare(&t.path().join("out"));
}
