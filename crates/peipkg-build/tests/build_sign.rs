//! `[[sign]]` in `peipkg-build build`: a recipe whose script compiles a C
//! program, signed after the script and before packing, so the package
//! carries the signed bytes and `files.json` hashes them.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use common::elf_check::{package_entries, public_of_seed, verify_signature};
use common::{assert_fails, stderr, Fixture, BIN};
use sha2::{Digest, Sha256};

const SEED: [u8; 32] = [3u8; 32];

const SCRIPT: &str = r#"set -eu
mkdir -p "$DESTDIR/usr/bin" "$DESTDIR/usr/share/hello"
cc -O1 -o "$DESTDIR/usr/bin/hello-1.0" "$SOURCE_DIR/prog.c"
ln -s hello-1.0 "$DESTDIR/usr/bin/hello"
cc -s -o "$DESTDIR/usr/bin/helper" "$SOURCE_DIR/prog.c"
ln -s ../bin/./helper "$DESTDIR/usr/bin/helper-rel"
echo hi > "$DESTDIR/usr/share/hello/MESSAGE"
"#;

fn recipe(signs: &[&str]) -> String {
    let mut text = format!(
        "[meta]\nlicense = \"MIT\"\nhomepage = \"https://example.org\"\nbuild_script = \"build.sh\"\n\n[[package]]\nname = \"hello\"\narchitecture = \"{}\"\ndescription = \"test package\"\nfiles = [\"usr/**\"]\n",
        std::env::consts::ARCH
    );
    for s in signs {
        text.push_str(&format!("\n[[sign]]\npath = \"{s}\"\nkey = \"tcb\"\n"));
    }
    text
}

fn fixture(signs: &[&str]) -> Fixture {
    let f = Fixture::new(&recipe(signs), SCRIPT);
    f.write_source(
        "prog.c",
        "#include <stdio.h>\nint main(void) { puts(\"hello, signed\"); return 0; }\n",
    );
    fs::write(f.path("tcb.key"), SEED).unwrap();
    f
}

fn tcb_flag(f: &Fixture) -> String {
    format!("tcb={}", f.path("tcb.key").display())
}

fn package(f: &Fixture) -> std::path::PathBuf {
    f.path(&format!(
        "out/hello_1.0-1_{}.peipkg",
        std::env::consts::ARCH
    ))
}

#[test]
fn signed_binaries_are_packed_and_hashed_as_signed() {
    let f = fixture(&["usr/bin/hello", "usr/bin/helper-rel"]);
    let pkg_key = f.path("pkg.key");
    fs::write(&pkg_key, [5u8; 32]).unwrap();
    let flag = tcb_flag(&f);
    // The build, run twice: signed packages must be reproducible.
    let signed_build = || {
        let o = f.build(&[
            "--binary-sign-key",
            &flag,
            "--sign-key",
            pkg_key.to_str().unwrap(),
        ]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        o
    };
    let o = signed_build();
    let hex_seed: String = SEED.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!stderr(&o).contains(&hex_seed));
    let pkg = package(&f);

    let (files, links) = package_entries(&pkg);
    // The symlinks stay symlinks; their targets are signed.
    assert!(
        links.contains(&("usr/bin/hello".into(), "hello-1.0".into())),
        "{links:?}"
    );
    assert!(links.contains(&("usr/bin/helper-rel".into(), "../bin/./helper".into())));
    let public = public_of_seed(&SEED);
    let file = |name: &str| {
        files
            .iter()
            .find(|(p, _)| p == name)
            .unwrap_or_else(|| panic!("{name} not in package"))
            .1
            .clone()
    };
    for name in ["usr/bin/hello-1.0", "usr/bin/helper"] {
        verify_signature(&file(name), &public).unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    // inspect shows files.json hashes of exactly those bytes, and verify
    // (the consumer's checks) passes.
    let inspect = Command::new(BIN)
        .args(["inspect", "--json"])
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(inspect.status.code(), Some(0), "{}", stderr(&inspect));
    let doc: serde_json::Value = serde_json::from_slice(&inspect.stdout).unwrap();
    let payload = doc["payload"].as_array().unwrap();
    for name in ["usr/bin/hello-1.0", "usr/bin/helper"] {
        let entry = payload.iter().find(|e| e["path"] == name).unwrap();
        let want = hex(&Sha256::digest(file(name)));
        assert_eq!(entry["sha256"].as_str(), Some(want.as_str()), "{name}");
    }
    let pub_path = f.path("pkg.pub");
    fs::write(&pub_path, public_of_seed(&[5u8; 32])).unwrap();
    let v = Command::new(BIN)
        .args(["verify", "--key"])
        .arg(&pub_path)
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));

    // The packed, signed program still runs.
    let exe = f.path("extracted-hello");
    fs::write(&exe, file("usr/bin/hello-1.0")).unwrap();
    fs::set_permissions(&exe, fs::Permissions::from_mode(0o755)).unwrap();
    let run = Command::new(&exe).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&run.stdout), "hello, signed\n");

    // Byte-reproducible: a second build gives the same package.
    let first = fs::read(&pkg).unwrap();
    signed_build();
    assert!(fs::read(&pkg).unwrap() == first, "not reproducible");
    assert!(f.leftover_tmp().is_empty(), "{:?}", f.leftover_tmp());
}

#[test]
fn without_its_key_nothing_is_built() {
    let f = fixture(&["usr/bin/hello"]);
    let o = f.build(&[]);
    assert_fails(
        &o,
        1,
        &[
            "[[sign]] #1 (\"usr/bin/hello\")",
            "no signing key named \"tcb\"",
            "--binary-sign-key tcb=PATH",
        ],
    );
    assert!(!common::exists(&f.path("out")));
    assert!(f.leftover_tmp().is_empty());
}

#[test]
fn a_symlink_leading_out_of_destdir_is_refused() {
    let f = fixture(&["usr/bin/escape"]);
    let script =
        format!("{SCRIPT}ln -s ../../../../../../../../../bin/sh \"$DESTDIR/usr/bin/escape\"\n");
    fs::write(f.path("recipe/build.sh"), script).unwrap();
    let flag = tcb_flag(&f);
    let o = f.build(&["--binary-sign-key", &flag]);
    assert_fails(
        &o,
        1,
        &["[[sign]] #1 (\"usr/bin/escape\")", "leads outside $DESTDIR"],
    );
    assert!(!common::exists(&f.path("out")));
    assert!(f.leftover_tmp().is_empty());
}

#[test]
fn a_stanza_naming_a_non_elf_file_fails_with_the_binsign_text() {
    let f = fixture(&["usr/bin/hello", "usr/share/hello/MESSAGE"]);
    let flag = tcb_flag(&f);
    let o = f.build(&["--binary-sign-key", &flag]);
    assert_fails(
        &o,
        1,
        &[
            "[[sign]] #2 (\"usr/share/hello/MESSAGE\")",
            "binsign: not a little-endian ELF64 binary",
        ],
    );
    assert!(!common::exists(&f.path("out")));
    assert!(f.leftover_tmp().is_empty());

    let f = fixture(&["usr/bin/missing"]);
    let o = f.build(&["--binary-sign-key", &flag]);
    assert_fails(
        &o,
        1,
        &["[[sign]] #1 (\"usr/bin/missing\")", "No such file"],
    );
}

#[test]
fn an_unused_key_is_a_warning() {
    let f = fixture(&[]);
    let flag = tcb_flag(&f);
    let o = f.build(&["--binary-sign-key", &flag]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("--binary-sign-key tcb: no [[sign]] stanza uses this key"));
    let (files, _) = package_entries(&package(&f));
    let exe = &files
        .iter()
        .find(|(p, _)| p == "usr/bin/hello-1.0")
        .unwrap()
        .1;
    assert!(verify_signature(exe, &public_of_seed(&SEED)).is_err());
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn binary_sign_key_flags_are_checked_before_the_script_runs() {
    let f = fixture(&["usr/bin/hello"]);
    let marker = f.path("script-ran");
    fs::write(
        f.path("recipe/build.sh"),
        format!("touch '{}'\n{SCRIPT}", marker.display()),
    )
    .unwrap();
    for bad in ["NOEQUALS", "=path", "tcb="] {
        let o = f.build(&["--binary-sign-key", bad]);
        assert_fails(
            &o,
            1,
            &[&format!("--binary-sign-key {bad:?}: expected NAME=PATH")],
        );
    }
    let flag = tcb_flag(&f);
    let o = f.build(&["--binary-sign-key", &flag, "--binary-sign-key", &flag]);
    assert_fails(&o, 1, &["--binary-sign-key \"tcb\": given more than once"]);
    let missing = format!("tcb={}", f.path("absent.key").display());
    let o = f.build(&["--binary-sign-key", &missing]);
    assert_fails(&o, 1, &["--binary-sign-key tcb: read key", "absent.key"]);
    fs::write(f.path("bad.key"), "not a key").unwrap();
    let bad = format!("tcb={}", f.path("bad.key").display());
    let o = f.build(&["--binary-sign-key", &bad]);
    assert_fails(
        &o,
        1,
        &[
            "--binary-sign-key tcb: key",
            "bad.key",
            "32-byte raw Ed25519 seed",
        ],
    );
    assert!(
        !marker.exists(),
        "the build script ran before the keys were checked"
    );
    assert!(!common::exists(&f.path("out")));
}
