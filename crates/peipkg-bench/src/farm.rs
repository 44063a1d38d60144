//! A farm of N tiny recipes with local upstreams, for the farm benchmarks
//! (`bench-farm`, `crash-farm`): the recipes `p<i>` package one 6-byte
//! file; every upstream is a copy of one template repository (copying is
//! much faster than N `git init`s and gives the manager the same work).

use anyhow::{ensure, Context, Result};
use peipkg_cli::{FlagKind, FlagSet, Matches};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// What every generated farm shares.
pub struct FarmSpec {
    /// Where `peipkg-manager`, `peipkg-build` and `peipkg-repo` are.
    pub bin_dir: PathBuf,
    /// `[build].workers`, or the default.
    pub workers: Option<usize>,
}

/// The options every farm benchmark takes.
pub struct FarmOpts {
    /// `--bin-dir` (default `target/release`): where the binaries are.
    pub bin_dir: PathBuf,
    /// `--workdir` (default the temporary directory): where farms are made.
    pub workdir: PathBuf,
}

impl FarmOpts {
    /// Adds `--bin-dir` and `--workdir` to a benchmark's flags.
    pub fn flags(f: &mut FlagSet) {
        f.flag("bin-dir", FlagKind::String, "where the binaries are")
            .value_name("DIR")
            .default("target/release");
        crate::cli::workdir_flag(f, "where farms are made");
    }

    /// Reads `--bin-dir` and `--workdir` from parsed flags.
    pub fn from_matches(m: &Matches) -> FarmOpts {
        FarmOpts {
            bin_dir: crate::cli::path(m, "bin-dir").unwrap_or_default(),
            workdir: crate::cli::path(m, "workdir").unwrap_or_else(std::env::temp_dir),
        }
    }

    /// The [`FarmSpec`] of a farm run with these binaries.
    pub fn spec(&self, workers: Option<usize>) -> FarmSpec {
        FarmSpec {
            bin_dir: self.bin_dir.clone(),
            workers,
        }
    }
}

/// Wall time and CPU of a child and every descendant it waited for.
#[derive(Debug, Clone, Copy)]
pub struct Usage {
    pub wall: f64,
    pub user: f64,
    pub sys: f64,
    pub max_rss_mib: f64,
}

pub fn run_measured(cmd: &mut Command) -> Result<(Usage, String)> {
    let errlog = tempfile::NamedTempFile::new()?;
    cmd.stderr(errlog.reopen()?).stdout(Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn().context("spawn peipkg-manager")?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waiting for our own child with valid out-pointers.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64();
    ensure!(r == pid, "wait4: {}", std::io::Error::last_os_error());
    let log = fs::read_to_string(errlog.path()).unwrap_or_default();
    ensure!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "manager failed ({status}); log tail:\n{}",
        tail(&log, 15)
    );
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Ok((
        Usage {
            wall,
            user: tv(ru.ru_utime),
            sys: tv(ru.ru_stime),
            max_rss_mib: ru.ru_maxrss as f64 / 1024.0,
        },
        log,
    ))
}

pub fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let st = Command::new("git")
        .args(["-c", "user.name=Up", "-c", "user.email=up@example.org"])
        .args(["-c", "init.defaultBranch=main"])
        .args(args)
        .current_dir(dir)
        .env("GIT_COMMITTER_DATE", "2024-03-15T10:30:00Z")
        .env("GIT_AUTHOR_DATE", "2024-03-15T10:30:00Z")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()?;
    ensure!(st.success(), "git {args:?} in {} failed", dir.display());
    Ok(())
}

pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_tree(&e.path(), &dst)?;
        } else {
            fs::copy(e.path(), &dst)?;
        }
    }
    Ok(())
}

pub struct Farm {
    pub root: PathBuf,
    pub config: PathBuf,
    pub manager: PathBuf,
}

const BUILD_SH: &str =
    "#!/bin/sh\nset -e\nmkdir -p \"$DESTDIR/usr/share/$PKG\"\ncp \"$SOURCE_DIR/data.txt\" \"$DESTDIR/usr/share/$PKG/\"\n";

/// Generates a farm of `n` recipes under `root`.
pub fn generate(spec: &FarmSpec, root: &Path, n: usize, http: Option<u16>) -> Result<Farm> {
    if root.exists() {
        fs::remove_dir_all(root)?;
    }
    let template = root.join("template");
    fs::create_dir_all(&template)?;
    git(&template, &["init", "-q"])?;
    fs::write(template.join("data.txt"), "hello\n")?;
    git(&template, &["add", "-A"])?;
    git(&template, &["commit", "-q", "-m", "release"])?;
    git(&template, &["tag", "v1.0.0"])?;
    let recipes = root.join("recipes");
    for i in 0..n {
        let name = format!("p{i}");
        let up = root.join("up").join(&name);
        copy_tree(&template, &up)?;
        let d = recipes.join(&name);
        fs::create_dir_all(&d)?;
        fs::write(
            d.join("peipkg.toml"),
            format!(
                r#"[meta]
license = "MIT"
build_script = "build.sh"

[[package]]
name = "{name}"
architecture = "noarch"
description = "tiny package {name}"
files = ["usr/share/{name}/**"]

[upstream]
git = "file://{up}"
tag_pattern = '^v(\d+\.\d+\.\d+)$'
peios_revision = 1

[watch]
poll_interval = "1h"
"#,
                up = up.display()
            ),
        )?;
        let sh = BUILD_SH.replace("$PKG", &name);
        fs::write(d.join("build.sh"), sh)?;
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(d.join("build.sh"), fs::Permissions::from_mode(0o755))?;
    }
    let key = root.join("farm.key");
    let st = Command::new(spec.bin_dir.join("peipkg-build"))
        .args(["keygen", "--out"])
        .arg(&key)
        .stdout(Stdio::null())
        .status()?;
    ensure!(st.success(), "peipkg-build keygen failed");
    let workers = spec
        .workers
        .map(|w| format!("workers = {w}\n"))
        .unwrap_or_default();
    let http = http
        .map(|p| format!("[http]\naddr = \"127.0.0.1:{p}\"\n"))
        .unwrap_or_default();
    let config = root.join("config.toml");
    fs::write(
        &config,
        format!(
            r#"[manager]
id = "bench-farm"
recipes_dir = "{recipes}"
state_dir = "{state}"

[repo]
name = "bench"

[signing]
key_file = "{key}"

[poll]
default_interval = "1h"

[build]
peipkg_build = "{build}"
peipkg_repo = "{repo}"
{workers}
{http}"#,
            recipes = recipes.display(),
            state = root.join("state").display(),
            key = key.display(),
            build = spec.bin_dir.join("peipkg-build").display(),
            repo = spec.bin_dir.join("peipkg-repo").display(),
        ),
    )?;
    Ok(Farm {
        root: root.to_path_buf(),
        config,
        manager: spec.bin_dir.join("peipkg-manager"),
    })
}

impl Farm {
    /// Appends tables (an `[upload]`) to the config file.
    pub fn append_config(&self, text: &str) -> Result<()> {
        use std::io::Write;
        let mut f = fs::OpenOptions::new().append(true).open(&self.config)?;
        writeln!(f, "{text}")?;
        Ok(())
    }

    /// `peipkg-manager --config <farm> --once` (not started).
    pub fn once_cmd(&self) -> Command {
        let mut c = Command::new(&self.manager);
        c.arg("--config").arg(&self.config).arg("--once");
        c
    }

    pub fn once(&self) -> Result<(Usage, String)> {
        run_measured(
            Command::new(&self.manager)
                .arg("--config")
                .arg(&self.config)
                .args(["--once", "--log-level", "debug"]),
        )
    }

    pub fn archive_len(&self) -> Result<usize> {
        let text = fs::read_to_string(self.root.join("state/repo/index/archive.json"))?;
        Ok(text.matches("\"name\"").count())
    }
}
