//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod elf_check;

use std::path::PathBuf;

/// The read-only shared material (reference docs, corpus, fixtures):
/// `$PEIPKG_SHARED_DIR`, or `../shared` beside the workspace.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("PEIPKG_SHARED_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared"),
    }
}

/// The conformance fixtures: `$PEIPKG_CONFORMANCE_DIR`, or `conformance/`
/// in the shared material.
pub fn conformance_dir() -> PathBuf {
    match std::env::var_os("PEIPKG_CONFORMANCE_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => shared_dir().join("conformance"),
    }
}

pub fn corpus_dir() -> PathBuf {
    shared_dir().join("recipes-corpus")
}

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_peipkg-build");

/// A scratch recipe + source + output layout in a temp dir, and a way to
/// run `peipkg-build build` on it with the conformance-style inputs.
pub struct Fixture {
    pub dir: tempfile::TempDir,
}

impl Fixture {
    /// `toml` is the recipe text; `script` the build.sh body.
    pub fn new(toml: &str, script: &str) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("recipe")).unwrap();
        fs::create_dir_all(dir.path().join("source")).unwrap();
        fs::create_dir_all(dir.path().join("tmp")).unwrap();
        fs::write(dir.path().join("recipe/peipkg.toml"), toml).unwrap();
        fs::write(dir.path().join("recipe/build.sh"), script).unwrap();
        Fixture { dir }
    }

    pub fn path(&self, rel: &str) -> std::path::PathBuf {
        self.dir.path().join(rel)
    }

    pub fn write_source(&self, rel: &str, content: &str) {
        let p = self.path("source").join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, content).unwrap();
    }

    /// The standard build flags, then `extra` (later flags win).
    pub fn build_args(&self, extra: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec![
            "build".into(),
            "--recipe".into(),
            self.path("recipe/peipkg.toml").display().to_string(),
            "--source".into(),
            self.path("source").display().to_string(),
            "--version".into(),
            "1.0-1".into(),
            "--source-ref".into(),
            "test://fixture".into(),
            "--farm-id".into(),
            "test-farm".into(),
            "--timestamp".into(),
            "2026-05-06T12:00:00Z".into(),
            "--out".into(),
            self.path("out").display().to_string(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args
    }

    /// Runs the binary with TMPDIR inside the fixture, so tests can check
    /// that no staging directory is left behind.
    pub fn run(&self, args: &[String]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("TMPDIR", self.path("tmp"))
            .output()
            .unwrap()
    }

    pub fn build(&self, extra: &[&str]) -> Output {
        self.run(&self.build_args(extra))
    }

    /// Names left in the fixture's TMPDIR.
    pub fn leftover_tmp(&self) -> Vec<String> {
        fs::read_dir(self.path("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect()
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Asserts the exit status and that stderr mentions every needle.
pub fn assert_fails(o: &Output, code: i32, needles: &[&str]) {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(code),
        "stderr:\n{err}\nstdout:\n{}",
        stdout(o)
    );
    for needle in needles {
        assert!(err.contains(needle), "{needle:?} not in stderr:\n{err}");
    }
}

/// A recipe with one noarch stanza claiming `files`.
pub fn simple_recipe(name: &str, files: &str) -> String {
    format!(
        "[meta]\nlicense = \"MIT\"\nhomepage = \"https://example.org\"\nbuild_script = \"build.sh\"\n\n[[package]]\nname = \"{name}\"\narchitecture = \"noarch\"\ndescription = \"test package\"\nfiles = [{files}]\n"
    )
}

pub const COPY_SCRIPT: &str = "set -eu\ncp -a \"$SOURCE_DIR/.\" \"$DESTDIR/\"\n";

pub fn exists(p: &Path) -> bool {
    fs::symlink_metadata(p).is_ok()
}
