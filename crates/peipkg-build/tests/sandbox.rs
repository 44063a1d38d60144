//! The build sandbox, driven through the real binary and real bubblewrap: a
//! hostile build script tries each escape and records what worked into its
//! own payload; every attempt must fail while the legitimate part of the
//! build still succeeds. The same probes run unsandboxed (`--sandbox none`)
//! as a control, so a probe that cannot detect an escape fails the test.

mod common;

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use common::{assert_fails, conformance_dir, stderr, stdout, Fixture, BIN};

/// Every probe prints `NAME=escaped` or `NAME=blocked` into
/// `$DESTDIR/usr/share/probe/results` using shell builtins only (the
/// process-limit probe may leave no room to fork).
const HOSTILE: &str = r#"
set -u
P="$DESTDIR/usr/share/probe"
mkdir -p "$P" "$DESTDIR/usr/share/hello"
echo legit > "$DESTDIR/usr/share/hello/f"
R=""
rec() { R="$R$1=$2
"; }

# 1. a key file whose path the script knows (given as --sign-key)
if [ -s "$KEY" ]; then rec key escaped; cp "$KEY" "$P/stolen-key"; else rec key blocked; fi
# 2. a directory the operator hid with --sandbox-hide, inside the recipe dir
if [ -s "$HIDDEN/secret" ]; then rec hidden escaped; else rec hidden blocked; fi
# 2b. a file inside SOURCE_DIR the caller hid
if [ -s "$SOURCE_DIR/.farm-secret" ]; then rec source-hidden escaped; else rec source-hidden blocked; fi
# 3. /root and /home
if [ -n "$(ls -A /root 2>/dev/null)" ]; then rec root escaped; else rec root blocked; fi
if [ -n "$(ls -A /home 2>/dev/null)" ]; then rec home escaped; else rec home blocked; fi
# 4. the host's password hashes
if [ -s /etc/shadow ]; then rec shadow-read escaped; else rec shadow-read blocked; fi
# 5. writes through $DESTDIR/.. and beside SOURCE_DIR, and into the recipe
echo x > "$DESTDIR/../escape1" 2>/dev/null
echo x > "$DESTDIR/../../escape2" 2>/dev/null
echo x > "$SOURCE_DIR/../escape3" 2>/dev/null
if echo x > "$RECIPE_DIR/escape4" 2>/dev/null; then rec recipe-write escaped; else rec recipe-write blocked; fi
# 6. hard links to host files
if ln /etc/shadow "$P/shadow" 2>/dev/null; then rec link-shadow escaped; else rec link-shadow blocked; fi
if ln /etc/passwd "$P/passwd" 2>/dev/null; then rec link-passwd escaped; else rec link-passwd blocked; fi
# 7. the host's loopback
if timeout 5 bash -c "echo hi > /dev/tcp/127.0.0.1/$PORT" 2>/dev/null; then rec network escaped; else rec network blocked; fi
# 8. a survivor
setsid sleep "$SLEEP_MARK" </dev/null >/dev/null 2>&1 &
# 9. more processes than the limit
W=$(pwd)
(
  i=0
  while [ $i -lt 200 ]; do
    sleep 30 &
    echo $! >> "$W/pids"
    i=$((i + 1))
    echo $i > "$W/count"
  done
) 2>/dev/null
read count < "$W/count"
while read p; do kill $p 2>/dev/null; done < "$W/pids"
if [ "$count" -ge 200 ]; then rec forks escaped; else rec forks blocked; fi
env > "$P/env"
printf '%s' "$R" > "$P/results"
"#;

const RECIPE: &str = "[meta]\nlicense = \"MIT\"\nhomepage = \"https://example.org\"\nbuild_script = \"build.sh\"\n\n[[package]]\nname = \"hostile\"\narchitecture = \"noarch\"\ndescription = \"tries to escape\"\nfiles = [\"usr/**\"]\n";

/// The `(name, content)` of each regular file in a package (zstd ustar).
fn package_files(path: &Path) -> Vec<(String, Vec<u8>)> {
    let tar = zstd::decode_all(fs::File::open(path).unwrap()).unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let field = |r: std::ops::Range<usize>| {
            let f = &h[r];
            let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
            String::from_utf8_lossy(&f[..end]).into_owned()
        };
        let size = usize::from_str_radix(field(124..136).trim(), 8).unwrap();
        let prefix = field(345..500);
        let name = if prefix.is_empty() {
            field(0..100)
        } else {
            format!("{prefix}/{}", field(0..100))
        };
        let body = tar[at + 512..at + 512 + size].to_vec();
        if h[156] == b'0' || h[156] == 0 {
            out.push((name, body));
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    out
}

fn file<'a>(files: &'a [(String, Vec<u8>)], suffix: &str) -> Option<&'a [u8]> {
    files
        .iter()
        .find(|(n, _)| n.ends_with(suffix))
        .map(|(_, b)| b.as_slice())
}

/// Pids of running processes whose command line is `sleep <mark>`.
fn sleepers(mark: &str) -> Vec<String> {
    let wanted = format!("sleep\0{mark}\0");
    let mut found = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(cmdline) = fs::read(entry.path().join("cmdline")) {
            if cmdline.ends_with(wanted.as_bytes()) {
                found.push(name);
            }
        }
    }
    found
}

struct Probe {
    f: Fixture,
    listener: TcpListener,
    key: Vec<u8>,
    mark: String,
}

impl Probe {
    fn new() -> Probe {
        let f = Fixture::new(RECIPE, HOSTILE);
        let key_src = conformance_dir().join("keys/test-signing.ed25519");
        let key = fs::read(&key_src).unwrap();
        // The key sits in the recipe directory, which the sandbox shows.
        fs::write(f.path("recipe/farm.key"), &key).unwrap();
        fs::create_dir(f.path("recipe/private")).unwrap();
        fs::write(f.path("recipe/private/secret"), "s3cret").unwrap();
        f.write_source(".farm-secret", "s3cret");
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        // Unique per probe: the tests of this file run in parallel.
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let mark = format!(
            "{}{}",
            100_000 + std::process::id() % 800_000,
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        Probe {
            f,
            listener,
            key,
            mark,
        }
    }

    fn build(&self, extra: &[&str]) -> std::process::Output {
        let f = &self.f;
        let port = self.listener.local_addr().unwrap().port();
        let mut args = vec![
            "--sign-key".to_string(),
            f.path("recipe/farm.key").display().to_string(),
            "--sandbox-hide".into(),
            f.path("recipe/private").display().to_string(),
            "--sandbox-hide".into(),
            f.path("source/.farm-secret").display().to_string(),
            "--limit-processes".into(),
            "64".into(),
        ];
        for (k, v) in [
            ("KEY", f.path("recipe/farm.key").display().to_string()),
            ("HIDDEN", f.path("recipe/private").display().to_string()),
            ("RECIPE_DIR", f.path("recipe").display().to_string()),
            ("PORT", port.to_string()),
            ("SLEEP_MARK", self.mark.clone()),
        ] {
            args.push("--build-env".into());
            args.push(format!("{k}={v}"));
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        f.build(&refs)
    }

    fn connections(&self) -> usize {
        let mut n = 0;
        while let Ok((mut s, _)) = self.listener.accept() {
            let mut buf = Vec::new();
            let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
            let _ = s.read_to_end(&mut buf);
            n += 1;
        }
        n
    }

    fn results(&self) -> (Vec<(String, Vec<u8>)>, String) {
        let out = self.f.path("out/hostile_1.0-1_noarch.peipkg");
        let files = package_files(&out);
        let results =
            String::from_utf8(file(&files, "usr/share/probe/results").unwrap().to_vec()).unwrap();
        (files, results)
    }

    fn host_escapes(&self) -> Vec<&'static str> {
        let f = &self.f;
        let mut found = Vec::new();
        for (name, path) in [
            ("$DESTDIR/../../escape2", f.path("tmp/escape2")),
            ("$SOURCE_DIR/../escape3", f.path("escape3")),
            ("escape4", f.path("recipe/escape4")),
        ] {
            if common::exists(&path) {
                found.push(name);
            }
        }
        found
    }
}

#[test]
fn hostile_script_escapes_nothing_and_the_legit_part_builds() {
    let p = Probe::new();
    // Default flags (`--sandbox auto`): bubblewrap is installed here.
    let o = p.build(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("WITHOUT a sandbox"), "{}", stderr(&o));
    let (files, results) = p.results();
    assert_eq!(file(&files, "usr/share/hello/f"), Some(&b"legit\n"[..]));
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines.len(), 11, "{results}");
    for line in &lines {
        assert!(
            line.ends_with("=blocked"),
            "escape worked: {line}\n{results}"
        );
    }
    // Nothing of the key in the payload, no linked host file.
    for (name, body) in &files {
        assert!(
            !body.windows(p.key.len()).any(|w| w == p.key),
            "{name} carries the key"
        );
        assert!(
            !name.ends_with("/shadow") && !name.ends_with("/passwd"),
            "{name}"
        );
    }
    assert!(file(&files, "stolen-key").is_none());
    assert_eq!(p.connections(), 0, "the build reached the host's loopback");
    assert!(p.host_escapes().is_empty(), "{:?}", p.host_escapes());
    assert!(
        sleepers(&p.mark).is_empty(),
        "setsid sleep {} outlived the build",
        p.mark
    );
    assert!(p.f.leftover_tmp().is_empty(), "{:?}", p.f.leftover_tmp());

    // The stable environment of the contract, plus the sandbox's own.
    let env = String::from_utf8(file(&files, "usr/share/probe/env").unwrap().to_vec()).unwrap();
    for needle in [
        "HOME=/tmp/home\n",
        "TMPDIR=/tmp\n",
        "LANG=C.UTF-8\n",
        "LC_ALL=C\n",
        "TZ=UTC\n",
        "SOURCE_DATE_EPOCH=1778068800\n",
    ] {
        assert!(env.contains(needle), "{needle:?} not in\n{env}");
    }
}

/// The control: the same probes unsandboxed must see most escapes work, or
/// the probes above prove nothing. (The forks and survivor probes are
/// stopped by the process limit and the cgroup sweep even unsandboxed.)
#[test]
fn the_same_script_unsandboxed_escapes() {
    let p = Probe::new();
    let o = p.build(&["--sandbox", "none", "--limit-processes", "0"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (files, results) = p.results();
    for name in [
        "key",
        "hidden",
        "source-hidden",
        "recipe-write",
        "network",
        "forks",
    ] {
        assert!(
            results.contains(&format!("{name}=escaped\n")),
            "{name} not escaped unsandboxed:\n{results}"
        );
    }
    assert_eq!(file(&files, "stolen-key"), Some(&p.key[..]));
    assert_eq!(p.connections(), 1);
    assert!(!p.host_escapes().is_empty());
    // Unsandboxed and with no process limit (no cgroup), the setsid
    // survivor does escape: the reference's hole.
    let left = sleepers(&p.mark);
    assert!(!left.is_empty(), "no survivor to detect unsandboxed");
    for pid in left {
        let _ = Command::new("kill").arg("-9").arg(&pid).status();
    }
}

#[test]
fn network_only_when_granted() {
    let p = Probe::new();
    let o = p.build(&["--sandbox", "bwrap", "--sandbox-network"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let (_, results) = p.results();
    assert!(results.contains("network=escaped\n"), "{results}");
    assert_eq!(p.connections(), 1);
    // Everything else stays closed.
    assert!(results.contains("key=blocked\n"), "{results}");
    assert!(sleepers(&p.mark).is_empty());
}

/// peipkg-build itself killed with SIGKILL (no chance to clean up): the
/// sandbox still takes every build process with it.
#[test]
fn killing_peipkg_build_leaves_no_build_process() {
    static N: AtomicU32 = AtomicU32::new(0);
    let mark = format!(
        "{}{}",
        300_000 + std::process::id() % 600_000,
        N.fetch_add(1, Ordering::Relaxed)
    );
    let f = Fixture::new(
        &common::simple_recipe("hello", "\"usr/**\""),
        &format!("setsid sleep {mark} </dev/null >/dev/null 2>&1 &\nsleep {mark}\n"),
    );
    let mut child = Command::new(BIN)
        .args(f.build_args(&["--sandbox", "bwrap"]))
        .env("TMPDIR", f.path("tmp"))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while sleepers(&mark).len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the script never started"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while !sleepers(&mark).is_empty() {
        assert!(
            std::time::Instant::now() < deadline,
            "build processes outlived peipkg-build: {:?}",
            sleepers(&mark)
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn limits_stop_a_runaway_build_with_a_clear_error() {
    let f = Fixture::new(
        &common::simple_recipe("hello", "\"usr/**\""),
        "i=0\nwhile [ $i -lt 300 ]; do sleep 30 & i=$((i+1)); done\n",
    );
    let o = f.build(&["--sandbox", "bwrap", "--limit-processes", "40"]);
    assert_fails(
        &o,
        1,
        &["reaching the process limit of 40", "--limit-processes"],
    );
    assert!(f.leftover_tmp().is_empty());

    let f = Fixture::new(
        &common::simple_recipe("hello", "\"usr/**\""),
        "mkdir -p \"$DESTDIR/usr\"\nhead -c 3000000 /dev/zero > \"$DESTDIR/usr/big\"\n",
    );
    let o = f.build(&["--sandbox", "bwrap", "--limit-file-size", "1M"]);
    assert_fails(
        &o,
        1,
        &["file size limit of 1048576 bytes", "--limit-file-size"],
    );
    let o = f.build(&["--sandbox", "bwrap", "--limit-file-size", "lots"]);
    assert_fails(&o, 2, &["--limit-file-size \"lots\""]);
}

#[test]
fn auto_falls_back_with_one_warning_and_bwrap_refuses() {
    let f = Fixture::new(
        &common::simple_recipe("hello", "\"usr/**\""),
        "mkdir -p \"$DESTDIR/usr/share\"; echo > \"$DESTDIR/usr/share/f\"\n",
    );
    let run = |extra: &[&str]| {
        Command::new(BIN)
            .args(f.build_args(extra))
            .env("TMPDIR", f.path("tmp"))
            .env("PEIPKG_BWRAP", "/nonexistent/bwrap")
            .output()
            .unwrap()
    };
    let o = run(&[]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stderr(&o).matches("WITHOUT a sandbox").count(),
        1,
        "{}",
        stderr(&o)
    );
    let o = run(&["--sandbox", "bwrap"]);
    assert_fails(&o, 1, &["--sandbox bwrap", "/nonexistent/bwrap"]);
    let o = run(&["--sandbox", "none"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(!stderr(&o).contains("sandbox"), "{}", stderr(&o));
    let o = run(&["--sandbox", "chroot"]);
    assert_fails(
        &o,
        2,
        &["--sandbox \"chroot\": expected auto, bwrap or none"],
    );

    let o = Command::new(BIN).arg("sandbox-check").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stdout(&o).contains("works here"));
    let o = Command::new(BIN)
        .arg("sandbox-check")
        .env("PEIPKG_BWRAP", "/bin/false")
        .output()
        .unwrap();
    assert_fails(
        &o,
        1,
        &["sandbox unusable", "cannot create the build sandbox"],
    );
}

#[test]
fn reserved_build_env_names_are_refused() {
    let f = Fixture::new(&common::simple_recipe("hello", "\"usr/**\""), "true\n");
    for name in ["HOME", "TMPDIR", "LANG", "PATH", "DESTDIR"] {
        let o = f.build(&["--build-env", &format!("{name}=x")]);
        assert_fails(&o, 1, &[name, "cannot be overridden"]);
    }
    let o = f.build(&["--build-env", "9X=1"]);
    assert_fails(&o, 1, &["invalid variable name"]);
}

/// Drop-in: every conformance case builds to the same bytes sandboxed and
/// not.
#[test]
fn conformance_outputs_are_identical_sandboxed_and_not() {
    let root = conformance_dir();
    let mut compared = 0;
    for case in ["hello-noarch", "layout-edge", "libfoo-split"] {
        let dir = root.join(case);
        let env: std::collections::HashMap<String, String> =
            fs::read_to_string(dir.join("inputs.env"))
                .unwrap()
                .lines()
                .filter_map(|l| l.split_once('='))
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        let scratch = tempfile::tempdir().unwrap();
        let mut outputs = Vec::new();
        for mode in ["bwrap", "none"] {
            let out = scratch.path().join(mode);
            let o = Command::new(BIN)
                .arg("build")
                .args(["--recipe", dir.join("recipe/peipkg.toml").to_str().unwrap()])
                .args(["--source", dir.join("source").to_str().unwrap()])
                .args(["--version", &env["VERSION"]])
                .args(["--source-ref", &env["SOURCE_REF"]])
                .args(["--farm-id", &env["FARM_ID"]])
                .args(["--timestamp", &env["TIMESTAMP"]])
                .args(["--out", out.to_str().unwrap()])
                .args(["--sandbox", mode])
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(0), "{case} {mode}: {}", stderr(&o));
            let mut names: Vec<_> = fs::read_dir(&out)
                .unwrap()
                .map(|e| e.unwrap().path())
                .collect();
            names.sort();
            outputs.push(
                names
                    .iter()
                    .map(|p| (p.file_name().unwrap().to_owned(), fs::read(p).unwrap()))
                    .collect::<Vec<_>>(),
            );
        }
        assert!(!outputs[0].is_empty());
        assert!(outputs[0] == outputs[1], "{case}: sandboxed output differs");
        compared += outputs[0].len();
    }
    assert!(compared >= 3);
}
