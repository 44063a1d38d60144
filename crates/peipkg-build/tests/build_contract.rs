//! The build-script contract and the build's observable behaviour, through
//! the real binary: environment, working directory, output streams,
//! signals, timeouts, `--keep-failed`, partition details and warnings.

mod common;

use common::*;
use std::fs;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn script_environment_is_exactly_the_contract() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "set -eu\nmkdir -p \"$DESTDIR/usr/share/hello\"\n\
         env > \"$REPORT.env\"\npwd > \"$REPORT.pwd\"\n\
         if read -r line; then echo yes > \"$REPORT.stdin\"; fi\n\
         echo data > \"$DESTDIR/usr/share/hello/f\"\n",
    );
    let report = f.path("report").display().to_string();
    // Unsandboxed: the reference's contract (the report is written outside
    // DESTDIR, which the sandbox forbids; tests/sandbox.rs checks the
    // sandboxed environment).
    let o = Command::new(BIN)
        .args(f.build_args(&[
            "--sandbox",
            "none",
            "--build-env",
            &format!("REPORT={report}"),
            "--build-env",
            "ZED=a=b",
        ]))
        .env("TMPDIR", f.path("tmp"))
        .env("LEAKY_SECRET", "must-not-pass")
        .env("HOME", "/root-home")
        .stdin(Stdio::piped())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let env = fs::read_to_string(format!("{report}.env")).unwrap();
    let mut names: Vec<&str> = env
        .lines()
        .map(|l| l.split('=').next().unwrap())
        .filter(|n| !matches!(*n, "PWD" | "SHLVL" | "_" | "OLDPWD"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "DESTDIR",
            "LC_ALL",
            "PATH",
            "REPORT",
            "SOURCE_DATE_EPOCH",
            "SOURCE_DIR",
            "TZ",
            "ZED"
        ],
        "{env}"
    );
    assert!(env.contains("SOURCE_DATE_EPOCH=1778068800\n"), "{env}");
    assert!(
        env.contains(&format!("SOURCE_DIR={}\n", f.path("source").display())),
        "{env}"
    );
    assert!(env.contains("LC_ALL=C\n") && env.contains("TZ=UTC\n") && env.contains("ZED=a=b\n"));
    let pwd = fs::read_to_string(format!("{report}.pwd")).unwrap();
    assert!(pwd.trim_end().ends_with("/work"), "{pwd}");
    assert!(
        pwd.starts_with(&f.path("tmp").display().to_string()),
        "{pwd}"
    );
    assert!(
        !f.path("report.stdin").exists(),
        "the script could read stdin"
    );
    assert!(f.leftover_tmp().is_empty());
}

#[test]
fn stdout_carries_only_package_paths() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "echo 'noise on stdout'\necho 'noise on stderr' >&2\nmkdir -p \"$DESTDIR/usr/bin\"\necho x > \"$DESTDIR/usr/bin/tool\"\n",
    );
    let o = f.build(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        format!("{}\n", f.path("out/hello_1.0-1_noarch.peipkg").display())
    );
    let err = stderr(&o);
    assert!(
        err.contains("noise on stdout") && err.contains("noise on stderr"),
        "{err}"
    );
}

#[test]
fn multi_package_paths_are_printed_in_stanza_order() {
    let recipe = "[meta]\nbuild_script = \"build.sh\"\n\n\
        [[package]]\nname = \"zeta\"\narchitecture = \"noarch\"\nfiles = [\"usr/share/z/**\"]\n\n\
        [[package]]\nname = \"alpha\"\narchitecture = \"x86_64\"\nfiles = [\"usr/bin/*\"]\n\
        dependencies = [{ name = \"zeta\", same_build = true }, { name = \"libc\" }]\n";
    let f = Fixture::new(recipe, COPY_SCRIPT);
    f.write_source("usr/share/z/data", "z");
    f.write_source("usr/bin/alpha", "a");
    let o = f.build(&["--version", "2:1.0~rc1-3"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = f.path("out");
    assert_eq!(
        stdout(&o),
        format!(
            "{}\n{}\n",
            out.join("zeta_2:1.0~rc1-3_noarch.peipkg").display(),
            out.join("alpha_2:1.0~rc1-3_x86_64.peipkg").display()
        )
    );
    let inspected = Command::new(BIN)
        .args(["inspect", "--json"])
        .arg(out.join("alpha_2:1.0~rc1-3_x86_64.peipkg"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(
        v["manifest"]["dependencies"],
        serde_json::json!([{"name": "libc"}, {"name": "zeta", "constraint": "= 2:1.0~rc1-3"}])
    );
}

#[test]
fn keep_failed_keeps_and_names_the_staging_directory() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "mkdir -p \"$DESTDIR/usr/share/x\"\necho partial > \"$DESTDIR/usr/share/x/f\"\nexit 1\n",
    );
    let o = f.build(&["--keep-failed"]);
    assert_fails(&o, 1, &["kept the staging directory of the failed build: "]);
    let err = stderr(&o);
    let kept = err
        .lines()
        .find_map(|l| l.split("failed build: ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .unwrap()
        .to_string();
    assert!(
        kept.starts_with(&f.path("tmp").display().to_string()),
        "{kept}"
    );
    assert_eq!(
        fs::read_to_string(format!("{kept}/destdir/usr/share/x/f")).unwrap(),
        "partial\n"
    );
    assert!(std::path::Path::new(&kept).join("work").is_dir());
    // Without the flag the same failure leaves nothing.
    let f2 = Fixture::new(&simple_recipe("hello", "\"usr/**\""), "exit 1\n");
    assert_fails(&f2.build(&[]), 1, &["exit status 1"]);
    assert!(!stderr(&f2.build(&[])).contains("kept"));
    assert!(f2.leftover_tmp().is_empty());
}

#[test]
fn keep_failed_is_silent_on_success() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "mkdir -p \"$DESTDIR/usr/bin\"\ntouch \"$DESTDIR/usr/bin/x\"\n",
    );
    let o = f.build(&["--keep-failed"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(f.leftover_tmp().is_empty());
}

#[test]
fn timeout_kills_the_script_and_its_children() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "(sleep 2; touch \"$MARK.late\") &\nsleep 60\n",
    );
    let mark = f.path("mark").display().to_string();
    let started = Instant::now();
    let o = f.build(&["--timeout", "500ms", "--build-env", &format!("MARK={mark}")]);
    assert_fails(
        &o,
        1,
        &[
            "did not finish within 500ms (--timeout)",
            "process group was killed",
        ],
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert!(f.leftover_tmp().is_empty());
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !f.path("mark.late").exists(),
        "a background job outlived the timeout"
    );
}

#[test]
fn sigterm_kills_the_process_group_and_cleans_up() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "(sleep 2; touch \"$MARK.late\") &\necho started > \"$MARK\"\nsleep 60\n",
    );
    let mark = f.path("mark");
    let child = Command::new(BIN)
        // The mark is written outside DESTDIR, so this runs unsandboxed;
        // tests/sandbox.rs checks the sandboxed kill.
        .args(f.build_args(&[
            "--sandbox",
            "none",
            "--build-env",
            &format!("MARK={}", mark.display()),
        ]))
        .env("TMPDIR", f.path("tmp"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "the build script never started");
        std::thread::sleep(Duration::from_millis(20));
    }
    let signalled = Instant::now();
    peipkg_os::process::kill(child.id() as i32, libc::SIGTERM).unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(10));
    assert_fails(
        &o,
        1,
        &[
            "interrupted by SIGTERM while the build script ran",
            "process group was killed",
        ],
    );
    assert!(f.leftover_tmp().is_empty(), "{:?}", f.leftover_tmp());
    std::thread::sleep(Duration::from_millis(2500));
    assert!(
        !f.path("mark.late").exists(),
        "a background job outlived the build"
    );
}

#[test]
fn hardlinks_become_independent_files() {
    let f = Fixture::new(
        &simple_recipe("hello", "\"usr/**\""),
        "set -eu\nmkdir -p \"$DESTDIR/usr/share/h\"\necho same > \"$DESTDIR/usr/share/h/a\"\nln \"$DESTDIR/usr/share/h/a\" \"$DESTDIR/usr/share/h/b\"\n",
    );
    let o = f.build(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pkg = f.path("out/hello_1.0-1_noarch.peipkg");
    let inspected = Command::new(BIN)
        .args(["inspect", "--json"])
        .arg(&pkg)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let files: Vec<(String, u64)> = v["payload"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "file")
        .map(|e| {
            (
                e["path"].as_str().unwrap().to_string(),
                e["size"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        files,
        [
            ("usr/share/h/a".to_string(), 5),
            ("usr/share/h/b".to_string(), 5)
        ]
    );
    assert_eq!(v["manifest"]["size_installed"], 10);
}

#[test]
fn directory_claims_and_empty_directories() {
    let recipe = "[meta]\nbuild_script = \"build.sh\"\n\n\
        [[package]]\nname = \"state\"\narchitecture = \"noarch\"\nfiles = [\"var/lib/state/\", \"usr/share/state/**\"]\n";
    let f = Fixture::new(
        recipe,
        "set -eu\nmkdir -p \"$DESTDIR/var/lib/state\" \"$DESTDIR/usr/share/state\" \"$DESTDIR/usr/share/unclaimed\"\n\
         echo x > \"$DESTDIR/usr/share/state/f\"\n",
    );
    let o = f.build(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o)
            .contains("warning: empty directory usr/share/unclaimed is claimed by no package"),
        "{}",
        stderr(&o)
    );
    let inspected = Command::new(BIN)
        .args(["inspect", "--json"])
        .arg(f.path("out/state_1.0-1_noarch.peipkg"))
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&inspected.stdout).unwrap();
    let paths: Vec<&str> = v["payload"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "usr",
            "usr/share",
            "usr/share/state",
            "usr/share/state/f",
            "var",
            "var/lib",
            "var/lib/state"
        ]
    );
}

#[test]
fn non_ascii_description_builds_with_a_warning_naming_the_rule() {
    let recipe = simple_recipe("busybox", "\"usr/bin/**\"")
        .replace("test package", "The Swiss army knife \u{2014} utilities");
    let f = Fixture::new(&recipe, COPY_SCRIPT);
    f.write_source("usr/bin/busybox", "elf");
    let o = f.build(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("warning:") && err.contains("PSD-009 §3.3.6"),
        "{err}"
    );
    assert!(err.contains("MUST be printable ASCII"), "{err}");
}

#[test]
fn signed_build_with_a_generated_key_verifies() {
    let f = Fixture::new(&simple_recipe("hello", "\"usr/**\""), COPY_SCRIPT);
    f.write_source("usr/share/hello/MESSAGE", "hi\n");
    let key = f.path("farm.key");
    let gen = Command::new(BIN)
        .arg("keygen")
        .arg("--out")
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(gen.status.code(), Some(0), "{}", stderr(&gen));
    let raw_fp = stdout(&gen)
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint (raw): "))
        .unwrap()
        .to_string();
    let o = f.build(&["--sign-key", key.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let pkg = f.path("out/hello_1.0-1_noarch.peipkg");
    let v = Command::new(BIN)
        .args(["verify", "--fingerprint", &raw_fp])
        .arg(&pkg)
        .output()
        .unwrap();
    assert_eq!(v.status.code(), Some(0), "{}", stderr(&v));
    assert!(stdout(&v).contains("was NOT checked"), "{}", stdout(&v));
}
