//! The demo is the first thing a newcomer runs; it must keep working.

mod common;

#[test]
fn demo_runs_a_whole_farm_and_verifies_it() {
    // Make sure the sibling binaries the demo looks for are built.
    common::sibling("peipkg-build");
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("demo");
    let out = std::process::Command::new(common::manager())
        .args(["demo", "--dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("== demo succeeded: sweep exit 0, verify ok"),
        "{stdout}"
    );
    for f in [
        "p/libz/1.3.1-1/libz_1.3.1-1_x86_64.peipkg",
        "p/libz-dev/1.3.0-1/libz-dev_1.3.0-1_x86_64.peipkg",
        "p/busybox/1.37.0-1/busybox_1.37.0-1_noarch.peipkg",
    ] {
        assert!(
            dir.join("state/repo").join(f).is_file(),
            "{f} missing\n{stdout}"
        );
    }
    // min_version kept busybox 1.36.1 out; the rc tag did not match.
    assert!(!dir.join("state/repo/p/busybox/1.36.1-1").exists());
    assert!(stdout.contains("no-match"), "{stdout}");
}
