//! Shared fixtures for the end-to-end tests: real upstream git repositories
//! with real tags, real recipes and keys, and the real binaries.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The target directory this test binary was built into.
fn target_profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // .../target/debug/deps/e2e-xxxx -> .../target/debug
    exe.parent()
        .and_then(Path::parent)
        .expect("target/<profile> directory")
        .to_path_buf()
}

/// `peipkg-build` and `peipkg-repo`, built into the same target directory
/// as this test (built here if needed, so `cargo test -p peipkg-manager`
/// alone is enough).
pub fn sibling(name: &str) -> PathBuf {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile = target_profile_dir();
        let target = profile.parent().expect("target dir").to_path_buf();
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-q", "-p", "peipkg-build", "-p", "peipkg-repo"])
            .env("CARGO_TARGET_DIR", &target)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        if profile.file_name().is_some_and(|n| n == "release") {
            cmd.arg("--release");
        }
        let st = cmd
            .status()
            .expect("run cargo build for the sibling binaries");
        assert!(st.success(), "building peipkg-build and peipkg-repo failed");
    });
    let p = target_profile_dir().join(name);
    assert!(p.exists(), "{} missing", p.display());
    p
}

pub fn manager() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_peipkg-manager"))
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Upstream",
            "-c",
            "user.email=up@example.org",
        ])
        .args([
            "-c",
            "protocol.file.allow=always",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_COMMITTER_DATE", "2024-03-15T10:30:00Z")
        .env("GIT_AUTHOR_DATE", "2024-03-15T10:30:00Z")
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A local upstream repository.
pub struct Upstream {
    pub dir: PathBuf,
}

impl Upstream {
    pub fn new(root: &Path, name: &str) -> Upstream {
        let dir = root.join("upstreams").join(name);
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q"]);
        Upstream { dir }
    }

    /// Commits `file` with `content` and tags it (annotated when asked).
    pub fn release(&self, tag: &str, file: &str, content: &str, annotated: bool) -> String {
        let p = self.dir.join(file);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).unwrap();
        }
        std::fs::write(&p, content).unwrap();
        git(&self.dir, &["add", "-A"]);
        git(
            &self.dir,
            &["commit", "-q", "-m", &format!("release {tag}")],
        );
        if annotated {
            git(&self.dir, &["tag", "-a", "-m", tag, tag]);
        } else {
            git(&self.dir, &["tag", tag]);
        }
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    pub fn url(&self) -> String {
        self.dir.display().to_string()
    }
}

/// A farm: recipes dir, key, state dir, config.
pub struct FarmDir {
    pub root: PathBuf,
    pub recipes: PathBuf,
    pub state: PathBuf,
    pub key: PathBuf,
    pub config: PathBuf,
    pub extra_config: String,
}

impl FarmDir {
    pub fn new(root: &Path) -> FarmDir {
        let recipes = root.join("recipes");
        std::fs::create_dir_all(&recipes).unwrap();
        let key = root.join("farm.key");
        let out = Command::new(sibling("peipkg-build"))
            .args(["keygen", "--out"])
            .arg(&key)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "keygen: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let f = FarmDir {
            root: root.to_path_buf(),
            recipes,
            state: root.join("state"),
            key,
            config: root.join("config.toml"),
            extra_config: String::new(),
        };
        f.write_config("");
        f
    }

    pub fn write_config(&self, extra: &str) {
        std::fs::write(&self.config, self.config_text(extra)).unwrap();
    }

    /// The config file text; `extra` is appended right after the
    /// `[build]` table (so it may add `[build]` keys, then other tables).
    pub fn config_text(&self, extra: &str) -> String {
        format!(
            r#"[manager]
id = "test-farm"
recipes_dir = "{recipes}"
state_dir = "{state}"

[repo]
name = "test-repo"
description = "end-to-end test repository"

[signing]
key_file = "{key}"

[poll]
default_interval = "1h"

[build]
peipkg_build = "{build}"
peipkg_repo = "{repo}"
{extra}
"#,
            recipes = self.recipes.display(),
            state = self.state.display(),
            key = self.key.display(),
            build = sibling("peipkg-build").display(),
            repo = sibling("peipkg-repo").display(),
        )
    }

    /// Writes a recipe directory with `toml` and a build script.
    pub fn recipe(&self, id: &str, toml: &str, build_sh: &str) {
        let d = self.recipes.join(id);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("peipkg.toml"), toml).unwrap();
        let script = d.join("build.sh");
        std::fs::write(&script, build_sh).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    pub fn once(&self) -> Run {
        self.run_manager(&["--once"], &[])
    }

    /// An operator subcommand (`check`, `poll NAME`, `explain NAME`...),
    /// with `--config` after its own arguments.
    pub fn subcommand(&self, args: &[&str]) -> Run {
        let out = Command::new(manager())
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .output()
            .expect("run peipkg-manager");
        Run::from(out)
    }

    pub fn run_manager(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        self.run_manager_with(args, env, &[])
    }

    /// Like `run_manager`, also removing variables from the environment.
    pub fn run_manager_with(&self, args: &[&str], env: &[(&str, &str)], remove: &[&str]) -> Run {
        let mut cmd = Command::new(manager());
        cmd.arg("--config").arg(&self.config).args(args);
        for k in remove {
            cmd.env_remove(k);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let out = cmd
            .stdin(Stdio::null())
            .output()
            .expect("run peipkg-manager");
        Run::from(out)
    }

    pub fn repo(&self) -> PathBuf {
        self.state.join("repo")
    }

    /// (name, version, arch) of every archive entry.
    pub fn archive(&self) -> Vec<(String, String, String)> {
        let text = std::fs::read_to_string(self.repo().join("index/archive.json")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut out: Vec<(String, String, String)> = v["packages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["name"].as_str().unwrap().to_string(),
                    p["version"].as_str().unwrap().to_string(),
                    p["architecture"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        out.sort();
        out
    }

    pub fn verify(&self) -> Output {
        Command::new(sibling("peipkg-repo"))
            .args(["verify", "--repo"])
            .arg(self.repo())
            .args(["--mode", "metadata"])
            .output()
            .unwrap()
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Log lines with this `msg`.
    pub fn events(&self, msg: &str) -> Vec<&str> {
        let needle_q = format!("msg=\"{msg}\"");
        let needle = format!("msg={msg} ");
        self.stderr
            .lines()
            .filter(|l| {
                l.contains(&needle_q) || l.contains(&needle) || l.ends_with(&format!("msg={msg}"))
            })
            .collect()
    }

    pub fn count(&self, msg: &str) -> usize {
        self.events(msg).len()
    }
}

/// A recipe TOML for a simple single-package recipe, polled hourly.
pub fn simple_recipe(name: &str, git: &str, pattern: &str, extra_upstream: &str) -> String {
    format!(
        r#"[meta]
license = "MIT"
build_script = "build.sh"

[[package]]
name = "{name}"
architecture = "noarch"
description = "test package {name}"
files = ["usr/share/{name}/**"]

[upstream]
git = "{git}"
tag_pattern = '{pattern}'
peios_revision = 1
{extra_upstream}

[watch]
poll_interval = "1h"
"#
    )
}

/// A build script that installs the whole source tree as data.
pub fn copy_build(name: &str) -> String {
    format!(
        "#!/bin/sh\nset -e\nmkdir -p \"$DESTDIR/usr/share/{name}\"\ncp -R \"$SOURCE_DIR/.\" \"$DESTDIR/usr/share/{name}/\"\n"
    )
}

/// An upstream `name` whose only release, `v1.0.0`, holds `a.txt` with
/// `content`, and a farm with no recipe yet.
pub fn upstream_and_farm(root: &Path, name: &str, content: &str) -> (Upstream, FarmDir) {
    let up = Upstream::new(root, name);
    up.release("v1.0.0", "a.txt", content, false);
    (up, FarmDir::new(root))
}

/// The farm most tests start from: one recipe, `pkg`, copying its source
/// as data, watching an upstream whose only release is `v1.0.0`. `edit`
/// adjusts the recipe text (a webhook, another poll interval).
pub fn one_release_farm(root: &Path, edit: impl FnOnce(String) -> String) -> (Upstream, FarmDir) {
    let (up, farm) = upstream_and_farm(root, "pkg", "one");
    farm.recipe(
        "pkg",
        &edit(simple_recipe("pkg", &up.url(), r"^v(\d+\.\d+\.\d+)$", "")),
        &copy_build("pkg"),
    );
    (up, farm)
}

/// The files under `root` (a remote, a state), relative and sorted;
/// none when `root` does not exist.
pub fn files_under(root: &Path) -> Vec<String> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(d).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_dir() {
                walk(base, &e.path(), out);
            } else {
                out.push(e.path().strip_prefix(base).unwrap().display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    if root.exists() {
        walk(root, root, &mut out);
    }
    out.sort();
    out
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One HTTP/1.1 request to the loopback port; (status, body).
pub fn http(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> (u16, String) {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    s.write_all(body).unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let text = String::from_utf8_lossy(&out).to_string();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (code, body)
}

/// A running daemon (the real binary), its stderr in a file.
pub struct Daemon {
    pub child: std::process::Child,
    pub log: PathBuf,
    pub port: u16,
}

impl Daemon {
    pub fn start(farm: &FarmDir, port: u16, args: &[&str], env: &[(&str, &str)]) -> Daemon {
        let log = farm.root.join(format!("daemon-{port}.err"));
        let mut cmd = Command::new(manager());
        cmd.arg("--config").arg(&farm.config).args(args);
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Daemon { child, log, port }
    }

    pub fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (up to a minute) for a log line; returns the whole log.
    pub fn wait_for(&self, what: &str, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let text = self.text();
            if text.lines().any(&pred) {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {what}:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    /// Waits for `n` lines matching `pred`.
    pub fn wait_for_n(&self, what: &str, n: usize, pred: impl Fn(&str) -> bool) -> String {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let text = self.text();
            if text.lines().filter(|l| pred(l)).count() >= n {
                return text;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "timed out waiting for {n} x {what}:\n{text}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: sending a signal to a child process this test started.
        unsafe {
            libc::kill(self.child.id() as i32, sig);
        }
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        http(self.port, "GET", path, &[], b"")
    }

    pub fn status(&self) -> serde_json::Value {
        let (code, body) = self.get("/status");
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    /// SIGTERM, then waits (up to a minute) for the exit.
    pub fn stop(mut self) -> (Option<i32>, String) {
        self.signal(libc::SIGTERM);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return (st.code(), self.text());
            }
            assert!(
                std::time::Instant::now() < deadline,
                "daemon did not stop:\n{}",
                self.text()
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
