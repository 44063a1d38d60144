//! The bubblewrap sandbox the build script runs in.
//!
//! A farm builds whatever an upstream tags, so the script (and the upstream
//! `make` it runs) must not reach the signing keys, the host or the network.
//! The sandbox gets new user, PID, IPC, UTS, cgroup and (unless granted)
//! network namespaces, no capabilities, the host's system directories
//! read-only, a fresh `/dev`, `/proc` and private `/tmp`, and exactly three
//! writable host paths: `SOURCE_DIR`, the script's working directory and
//! `DESTDIR`, each at the same path as outside, so the contract's
//! environment is unchanged. The recipe's directory is visible read-only
//! (scripts may keep patches beside them), unless it is a whole home
//! directory or `/`, where only the script itself is. Nothing else of the host is
//! mounted: not `/root`, `/home`, `/var`, `/srv`, `/mnt` or `/media`.
//! Key files and other paths the caller names are covered (a file by
//! `/dev/null`, a directory by an empty tmpfs) wherever they would
//! otherwise be visible, and so are the host's password hashes and SSH host
//! keys.
//!
//! When the script exits, bubblewrap (PID 1 of the namespace) exits and the
//! kernel kills every process left in the namespace, `setsid` or not;
//! `--die-with-parent` does the same if peipkg-build itself dies.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// `--sandbox`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SandboxMode {
    /// bubblewrap when it works here, otherwise one warning and no sandbox.
    #[default]
    Auto,
    /// bubblewrap, or the build fails.
    Bwrap,
    /// No sandbox (the reference's behaviour).
    None,
}

impl SandboxMode {
    pub fn parse(value: &str) -> Result<SandboxMode, String> {
        match value {
            "" | "auto" => Ok(SandboxMode::Auto),
            "bwrap" => Ok(SandboxMode::Bwrap),
            "none" => Ok(SandboxMode::None),
            other => Err(format!("--sandbox {other:?}: expected auto, bwrap or none")),
        }
    }
}

/// Host files that no build may read, hidden whenever they exist.
const HOST_SECRETS: [&str; 9] = [
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/sudoers.d",
    "/etc/ssh",
    "/etc/ssl/private",
    "/etc/security/opasswd",
];

/// Host directories mounted read-only (or recreated as the same symlink).
const SYSTEM_DIRS: [&str; 9] = [
    "/usr", "/etc", "/opt", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32",
];

/// The shell to exec inside the sandbox. `sh` is found on the caller's
/// `PATH`, which may name directories the sandbox does not mount (a test's
/// or a user's private bin directory under `/tmp` or `/home`); bubblewrap
/// would then fail with "execvp ...: No such file or directory". A shell
/// outside the read-only system directories is replaced by `/bin/sh` (or
/// `/usr/bin/sh`), which every sandbox shows.
pub fn visible_shell(found: PathBuf) -> PathBuf {
    if SYSTEM_DIRS.iter().any(|dir| found.starts_with(dir)) {
        return found;
    }
    ["/bin/sh", "/usr/bin/sh"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
        .unwrap_or(found)
}

/// The bubblewrap program to use: `PEIPKG_BWRAP` if set (tests), otherwise
/// `bwrap` on `PATH`, otherwise `/usr/bin/bwrap`.
pub fn bwrap_program() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("PEIPKG_BWRAP").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(p));
    }
    peipkg_os::which::which("bwrap").or_else(|| {
        let fallback = PathBuf::from("/usr/bin/bwrap");
        fallback.is_file().then_some(fallback)
    })
}

/// Why bubblewrap cannot be used here.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct Unusable(pub String);

/// Checks that bubblewrap is installed and can make the sandbox here, by
/// running `true` in one built the same way as a real build's.
pub fn probe() -> Result<PathBuf, Unusable> {
    let bwrap = bwrap_program().ok_or_else(|| {
        Unusable("bubblewrap (bwrap) is not installed (Debian: apt-get install bubblewrap)".into())
    })?;
    let here = std::env::temp_dir();
    let layout = Layout {
        script: None,
        source: &here,
        workdir: &here,
        destdir: &here,
        hide: &[],
        network: false,
    };
    let Some(truth) = find_true() else {
        return Err(Unusable(
            "no `true` program in /usr/bin or /bin to test bubblewrap with".into(),
        ));
    };
    let output = Command::new(&bwrap)
        .args(layout.args())
        .arg("--")
        .arg(&truth)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| Unusable(format!("run {}: {e}", bwrap.display())))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return Err(Unusable(format!(
            "{} cannot create the build sandbox here ({}): {}",
            bwrap.display(),
            output.status,
            stderr.trim()
        )));
    }
    Ok(bwrap)
}

fn find_true() -> Option<PathBuf> {
    ["/usr/bin/true", "/bin/true"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// What the sandbox exposes for one build.
#[derive(Debug, Clone)]
pub struct Layout<'a> {
    /// The build script; its directory is mounted read-only.
    pub script: Option<&'a Path>,
    pub source: &'a Path,
    pub workdir: &'a Path,
    pub destdir: &'a Path,
    /// Paths to cover (key files, the manager's config and state).
    pub hide: &'a [PathBuf],
    /// Share the host's network namespace.
    pub network: bool,
}

fn push(args: &mut Vec<OsString>, items: &[&str]) {
    args.extend(items.iter().map(OsString::from));
}

fn push_path(args: &mut Vec<OsString>, flag: &str, src: &Path, dest: &Path) {
    args.push(flag.into());
    args.push(src.as_os_str().to_owned());
    args.push(dest.as_os_str().to_owned());
}

/// The canonical form of `p`, or `p` itself when it cannot be resolved.
fn canonical(p: &Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf())
}

impl Layout<'_> {
    /// bubblewrap's arguments, up to (not including) `--` and the command.
    pub fn args(&self) -> Vec<OsString> {
        let mut a: Vec<OsString> = Vec::new();
        push(
            &mut a,
            &[
                "--unshare-user",
                "--unshare-pid",
                "--unshare-ipc",
                "--unshare-uts",
                "--unshare-cgroup-try",
                "--hostname",
                "peipkg-build",
                "--cap-drop",
                "ALL",
                "--die-with-parent",
                "--new-session",
            ],
        );
        if !self.network {
            push(&mut a, &["--unshare-net"]);
        }
        // Host roots visible inside, canonical, to decide which hidden paths
        // need covering.
        let mut visible: Vec<PathBuf> = Vec::new();
        for dir in SYSTEM_DIRS {
            let path = Path::new(dir);
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                continue;
            };
            if meta.file_type().is_symlink() {
                if let Ok(target) = std::fs::read_link(path) {
                    push_path(&mut a, "--symlink", &target, path);
                }
            } else if meta.is_dir() {
                push_path(&mut a, "--ro-bind", path, path);
                visible.push(canonical(path));
            }
        }
        push(
            &mut a,
            &[
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
                "--tmpfs",
                "/var/tmp",
                "--dir",
                "/tmp/home",
            ],
        );
        // The recipe directory, unless it is a whole home directory or the
        // root (a recipe kept directly in ~): then only the script is shown.
        let script_dir = self
            .script
            .and_then(Path::parent)
            .filter(|dir| !is_home_or_root(&canonical(dir)));
        if let Some(dir) = script_dir {
            push_path(&mut a, "--ro-bind", dir, dir);
            visible.push(canonical(dir));
        }
        let writable = [self.source, self.workdir, self.destdir];
        let writable_canonical: Vec<PathBuf> = writable.iter().map(|p| canonical(p)).collect();

        // A hidden path that contains a writable one is covered first, so
        // the writable one is mounted back on top; any other is covered
        // last, so nothing mounted later uncovers it.
        let hidden: Vec<PathBuf> = HOST_SECRETS
            .iter()
            .map(PathBuf::from)
            .chain(self.hide.iter().cloned())
            .filter_map(|p| std::fs::canonicalize(&p).ok())
            .collect();
        let shown_by = |p: &Path, roots: &[PathBuf]| roots.iter().any(|r| p.starts_with(r));
        let mut late: Vec<&PathBuf> = Vec::new();
        for h in &hidden {
            let contains_writable = writable_canonical.iter().any(|w| w.starts_with(h));
            if contains_writable {
                if shown_by(h, &visible) {
                    cover(&mut a, h);
                }
            } else {
                late.push(h);
            }
        }
        for (w, wc) in writable.iter().zip(&writable_canonical) {
            push_path(&mut a, "--bind", wc, w);
        }
        visible.extend(writable_canonical);
        for h in late {
            if shown_by(h, &visible) {
                cover(&mut a, h);
            }
        }
        // The script itself stays visible even inside a covered directory.
        if let Some(script) = self.script {
            push_path(&mut a, "--ro-bind", script, script);
        }
        a.push("--chdir".into());
        a.push(self.workdir.as_os_str().to_owned());
        a
    }
}

/// `/`, `/root`, `/home` or `/home/<user>`.
fn is_home_or_root(dir: &Path) -> bool {
    let parts: Vec<_> = dir.components().collect();
    match parts.len() {
        0 | 1 => true,
        2 => dir == Path::new("/root") || dir == Path::new("/home"),
        3 => dir.starts_with("/home"),
        _ => false,
    }
}

fn cover(args: &mut Vec<OsString>, path: &Path) {
    if path.is_dir() {
        args.push("--tmpfs".into());
        args.push(path.as_os_str().to_owned());
    } else {
        push_path(args, "--ro-bind", Path::new("/dev/null"), path);
    }
}

/// The sandbox a build runs in, once resolved from `--sandbox`.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub bwrap: PathBuf,
    pub network: bool,
    pub hide: Vec<PathBuf>,
}

impl Sandbox {
    /// The command that runs `shell script` in the sandbox.
    pub fn command(
        &self,
        shell: &Path,
        script: &Path,
        source: &Path,
        workdir: &Path,
        destdir: &Path,
    ) -> Command {
        let layout = Layout {
            script: Some(script),
            source,
            workdir,
            destdir,
            hide: &self.hide,
            network: self.network,
        };
        let mut cmd = Command::new(&self.bwrap);
        cmd.args(layout.args()).arg("--").arg(shell).arg(script);
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn home_directories_are_never_shown_whole() {
        for dir in ["/", "/root", "/home", "/home/alice"] {
            assert!(is_home_or_root(Path::new(dir)), "{dir}");
        }
        for dir in [
            "/home/alice/recipes",
            "/etc/peipkg/recipes/x",
            "/srv/r",
            "/tmp",
        ] {
            assert!(!is_home_or_root(Path::new(dir)), "{dir}");
        }
    }

    #[test]
    fn hidden_paths_are_covered_in_the_right_order() {
        let d = tempfile::tempdir().unwrap();
        let recipe = d.path().join("recipe");
        let source = d.path().join("source");
        let stage = d.path().join("stage");
        for p in [&recipe, &source, &stage] {
            std::fs::create_dir_all(p).unwrap();
        }
        std::fs::write(recipe.join("build.sh"), "true\n").unwrap();
        std::fs::write(recipe.join("key"), "k").unwrap();
        let hide = vec![
            recipe.join("key"),
            d.path().to_path_buf(),
            PathBuf::from("/nonexistent"),
        ];
        let script = recipe.join("build.sh");
        let layout = Layout {
            script: Some(&script),
            source: &source,
            workdir: &stage,
            destdir: &stage,
            hide: &hide,
            network: false,
        };
        let args: Vec<String> = layout
            .args()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        let at = |needle: &[&str]| {
            args.windows(needle.len())
                .position(|w| w == needle)
                .unwrap_or_else(|| panic!("{needle:?} not in {args:?}"))
        };
        let s = |p: &Path| p.display().to_string();
        assert!(args.contains(&"--unshare-net".to_string()));
        // The key in the (visible) recipe dir is covered after that dir
        // is mounted; the script is mounted last of all.
        let recipe_bind = at(&["--ro-bind", &s(&recipe), &s(&recipe)]);
        let key = at(&["--ro-bind", "/dev/null", &s(&recipe.join("key"))]);
        let script_bind = at(&["--ro-bind", &s(&script), &s(&script)]);
        let source_bind = at(&["--bind", &s(&source), &s(&source)]);
        assert!(recipe_bind < key && key < script_bind && source_bind < key);
        // The tempdir holding everything is not visible itself (it is
        // under /tmp, a private tmpfs), so it is not covered at all.
        assert!(!args.iter().any(|a| a == &s(d.path())), "{args:?}");
        assert!(!args.iter().any(|a| a == "/nonexistent"));
        // --sandbox-network keeps the host's network.
        let open = Layout {
            network: true,
            ..layout
        };
        assert!(!open.args().iter().any(|a| a == "--unshare-net"));
    }
}
