//! Running the recipe's build script under the documented contract.
//!
//! The script runs as `sh <absolute script path>` (shebang and executable
//! bit are irrelevant, as with the reference) in a fresh working directory,
//! with stdin at end-of-file and an environment that holds exactly
//! `SOURCE_DIR`, `DESTDIR`, `SOURCE_DATE_EPOCH`, `LC_ALL=C`, `TZ=UTC`,
//! `PATH` (in the sandbox with the system directories appended when it
//! lacks them, [`sandbox_path`]), in the sandbox also `HOME`, `TMPDIR` and
//! `LANG` ([`SANDBOX_ENV`]), and the `--build-env` entries, in that order. The
//! process is started directly or through bubblewrap ([`crate::sandbox`]),
//! under the [`crate::limits`].
//!
//! Differences from the reference, on purpose:
//! - the script's stdout is sent to our stderr, so our stdout carries only
//!   the paths of the packages written and can be parsed safely;
//! - the script runs in its own process group, and on SIGINT/SIGTERM, on
//!   timeout, and also once the script itself has exited, the whole group
//!   is killed: background jobs a script leaves behind cannot keep writing
//!   into the staged tree while it is being packed, nor outlive the build.

use std::fmt;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use peipkg_os::process::{Group, StopWith};

use crate::limits::{self, Limits, ProcessLimit};
use crate::sandbox::Sandbox;
use crate::signals;

/// Names the build contract sets; `--build-env` may not override them.
/// The reference reserves the first six; `HOME`, `TMPDIR` and `LANG` are
/// set inside the sandbox for reproducible builds, so they are reserved too.
pub const RESERVED: [&str; 9] = [
    "SOURCE_DIR",
    "DESTDIR",
    "SOURCE_DATE_EPOCH",
    "LC_ALL",
    "TZ",
    "PATH",
    "HOME",
    "TMPDIR",
    "LANG",
];

/// Set inside the sandbox only (after the contract's six): a writable home
/// and temporary directory on the sandbox's private tmpfs, and a UTF-8
/// locale for tools that need one (`LC_ALL=C` still decides collation and
/// messages).
pub const SANDBOX_ENV: [(&str, &str); 3] = [
    ("HOME", "/tmp/home"),
    ("TMPDIR", "/tmp"),
    ("LANG", "C.UTF-8"),
];

/// `PATH` for the script when the caller has none.
const FALLBACK_PATH: &str = "/usr/local/bin:/usr/bin:/bin";

/// `PATH` inside the sandbox: the caller's, then whichever of the
/// system directories it lacks. The caller's `PATH` may hold only
/// directories the sandbox does not mount (a private bin directory under
/// `/tmp` or a home directory), which would leave the script without
/// `mkdir` or `cc`; the system directories are always mounted read-only.
pub fn sandbox_path(caller: &str) -> String {
    let mut path = caller.to_string();
    for dir in FALLBACK_PATH.split(':') {
        if !caller.split(':').any(|d| d == dir) {
            if !path.is_empty() {
                path.push(':');
            }
            path.push_str(dir);
        }
    }
    path
}

const POLL: Duration = Duration::from_millis(20);

/// A `--build-env` value that was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BuildEnvError {
    #[error("--build-env {0:?}: expected NAME=VALUE")]
    Syntax(String),
    #[error("--build-env {0:?}: invalid variable name (letters, digits and '_', not starting with a digit)")]
    InvalidName(String),
    #[error("--build-env {0:?}: {0} is set by the build contract and cannot be overridden")]
    Reserved(String),
    #[error("--build-env {0:?}: given more than once")]
    Duplicate(String),
}

/// Parses `--build-env NAME=VALUE` arguments (split at the first `=`; the
/// value may be empty or contain `=`), sorted by name.
pub fn parse_build_env(args: &[String]) -> Result<Vec<(String, String)>, BuildEnvError> {
    let mut out: Vec<(String, String)> = Vec::with_capacity(args.len());
    for arg in args {
        let Some((name, value)) = arg.split_once('=') else {
            return Err(BuildEnvError::Syntax(arg.clone()));
        };
        if name.is_empty() {
            return Err(BuildEnvError::Syntax(arg.clone()));
        }
        let valid = name
            .bytes()
            .enumerate()
            .all(|(i, b)| b == b'_' || b.is_ascii_alphabetic() || (i > 0 && b.is_ascii_digit()));
        if !valid {
            return Err(BuildEnvError::InvalidName(name.to_string()));
        }
        if RESERVED.contains(&name) {
            return Err(BuildEnvError::Reserved(name.to_string()));
        }
        if out.iter().any(|(n, _)| n == name) {
            return Err(BuildEnvError::Duplicate(name.to_string()));
        }
        out.push((name.to_string(), value.to_string()));
    }
    out.sort();
    Ok(out)
}

/// The script's complete environment, in contract order.
pub fn script_env(
    source_dir: &Path,
    destdir: &Path,
    source_date_epoch: i64,
    caller_path: Option<&str>,
    extra: &[(String, String)],
) -> Vec<(String, String)> {
    let mut env = vec![
        ("SOURCE_DIR".to_string(), source_dir.display().to_string()),
        ("DESTDIR".to_string(), destdir.display().to_string()),
        (
            "SOURCE_DATE_EPOCH".to_string(),
            source_date_epoch.to_string(),
        ),
        ("LC_ALL".to_string(), "C".to_string()),
        ("TZ".to_string(), "UTC".to_string()),
        (
            "PATH".to_string(),
            caller_path
                .filter(|p| !p.is_empty())
                .unwrap_or(FALLBACK_PATH)
                .to_string(),
        ),
    ];
    env.extend(extra.iter().cloned());
    env
}

/// How a build script run ended, when it did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("build script {path}: {source}")]
    Missing {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("build script {0} is not a regular file")]
    NotAFile(PathBuf),
    #[error("no `sh` found on PATH ({0}) to run the build script")]
    NoShell(String),
    #[error("start build script {path}: {source}")]
    Spawn {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("wait for build script {path}: {source}")]
    Wait {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("build script {path} failed with exit status {code} (its output is above)")]
    Exit { path: PathBuf, code: i32 },
    #[error("build script {path} was killed by {}", signals::name(*.signal))]
    Killed { path: PathBuf, signal: i32 },
    #[error("build script {path} did not finish within {} (--timeout); its process group was killed", peipkg_cli::format_duration(*.limit))]
    TimedOut { path: PathBuf, limit: Duration },
    #[error("interrupted by {} while the build script ran; its process group was killed", signals::name(*.signal))]
    Interrupted { signal: i32 },
    #[error("build script {path} failed after reaching the process limit of {limit} (--limit-processes): a fork was refused")]
    ProcessLimit { path: PathBuf, limit: u64 },
    #[error("build script {path} failed after a process reached the file size limit of {limit} bytes (--limit-file-size; it was killed by SIGXFSZ)")]
    FileSizeLimit { path: PathBuf, limit: u64 },
}

/// What to run.
pub struct ScriptRun<'a> {
    pub script: &'a Path,
    pub workdir: &'a Path,
    pub env: &'a [(String, String)],
    pub timeout: Option<Duration>,
    /// Run inside this bubblewrap sandbox (`None`: directly on the host).
    pub sandbox: Option<&'a Sandbox>,
    /// `SOURCE_DIR` and `DESTDIR`, the sandbox's writable paths.
    pub source: &'a Path,
    pub destdir: &'a Path,
    pub limits: Limits,
    pub process_limit: &'a ProcessLimit,
}

impl fmt::Debug for ScriptRun<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScriptRun")
            .field("script", &self.script)
            .field("workdir", &self.workdir)
            .field("timeout", &self.timeout)
            .field("sandbox", &self.sandbox)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// Runs the script to completion (or until it is stopped).
pub fn run(spec: &ScriptRun<'_>) -> Result<(), ScriptError> {
    let meta = std::fs::metadata(spec.script).map_err(|source| ScriptError::Missing {
        path: spec.script.to_path_buf(),
        source,
    })?;
    if !meta.is_file() {
        return Err(ScriptError::NotAFile(spec.script.to_path_buf()));
    }
    let path_value = spec
        .env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.as_str())
        .unwrap_or(FALLBACK_PATH);
    let shell =
        find_shell(path_value).ok_or_else(|| ScriptError::NoShell(path_value.to_string()))?;
    let spawn_err = |source| ScriptError::Spawn {
        path: spec.script.to_path_buf(),
        source,
    };
    let stdout = std::io::stderr()
        .as_fd()
        .try_clone_to_owned()
        .map_err(spawn_err)?;

    let mut command = match spec.sandbox {
        Some(sandbox) => {
            let shell = crate::sandbox::visible_shell(shell);
            sandbox.command(&shell, spec.script, spec.source, spec.workdir, spec.destdir)
        }
        None => {
            let mut c = Command::new(&shell);
            c.arg(spec.script);
            c
        }
    };
    command
        .current_dir(spec.workdir)
        .env_clear()
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::inherit());
    let mut child = Group::spawn(
        &mut command,
        limits::child_setup(&spec.limits, spec.process_limit),
    )
    .map_err(spawn_err)?;
    let started = Instant::now();
    let ended = child
        .supervise(POLL, StopWith::Kill, || {
            if let Some(signal) = signals::pending() {
                Some(ScriptError::Interrupted { signal })
            } else {
                spec.timeout
                    .filter(|limit| started.elapsed() >= *limit)
                    .map(|limit| ScriptError::TimedOut {
                        path: spec.script.to_path_buf(),
                        limit,
                    })
            }
        })
        .map_err(|source| ScriptError::Wait {
            path: spec.script.to_path_buf(),
            source,
        })?;
    // Whatever escaped the group (setsid) but not the cgroup goes too.
    spec.process_limit.kill_all();
    if let Some(err) = ended.stopped {
        return Err(err);
    }
    check_status(spec, ended.status)
}

fn check_status(spec: &ScriptRun<'_>, status: ExitStatus) -> Result<(), ScriptError> {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return Ok(());
    }
    let path = spec.script.to_path_buf();
    // bubblewrap reports a child killed by signal N as exit status 128+N.
    let signal = match status.code() {
        Some(code) if spec.sandbox.is_some() && (129..=128 + 64).contains(&code) => {
            Some(code - 128)
        }
        Some(_) => None,
        None => Some(status.signal().unwrap_or(0)),
    };
    if spec.process_limit.limit_was_hit() {
        return Err(ScriptError::ProcessLimit {
            path,
            limit: spec.limits.processes,
        });
    }
    // A shell reports a child killed by SIGXFSZ as 128+25.
    if spec.limits.file_size > 0
        && (signal == Some(libc::SIGXFSZ) || status.code() == Some(128 + libc::SIGXFSZ))
    {
        return Err(ScriptError::FileSizeLimit {
            path,
            limit: spec.limits.file_size,
        });
    }
    match (status.code(), signal) {
        (_, Some(signal)) => Err(ScriptError::Killed { path, signal }),
        (Some(code), None) => Err(ScriptError::Exit { path, code }),
        (None, None) => Err(ScriptError::Killed { path, signal: 0 }),
    }
}

fn find_shell(path_value: &str) -> Option<PathBuf> {
    peipkg_os::which::which_in("sh", std::ffi::OsStr::new(path_value)).or_else(|| {
        let fallback = PathBuf::from("/bin/sh");
        fallback.is_file().then_some(fallback)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sandbox_path_appends_the_missing_system_directories() {
        assert_eq!(
            super::sandbox_path("/tmp/t/bin"),
            "/tmp/t/bin:/usr/local/bin:/usr/bin:/bin"
        );
        assert_eq!(
            super::sandbox_path("/usr/bin:/opt/x/bin:/bin"),
            "/usr/bin:/opt/x/bin:/bin:/usr/local/bin"
        );
        assert_eq!(super::sandbox_path(""), "/usr/local/bin:/usr/bin:/bin");
    }

    use super::*;

    #[test]
    fn build_env_parsing() {
        let ok = parse_build_env(&[
            "B=2".into(),
            "A=x=y".into(),
            "EMPTY=".into(),
            "USER=u".into(),
        ])
        .unwrap();
        assert_eq!(
            ok,
            [
                ("A".to_string(), "x=y".to_string()),
                ("B".to_string(), "2".to_string()),
                ("EMPTY".to_string(), String::new()),
                ("USER".to_string(), "u".to_string()),
            ]
        );
        assert_eq!(
            parse_build_env(&["NOEQ".into()]),
            Err(BuildEnvError::Syntax("NOEQ".into()))
        );
        assert_eq!(
            parse_build_env(&["=v".into()]),
            Err(BuildEnvError::Syntax("=v".into()))
        );
        for bad in ["1X", "has-dash", "has space", "a.b"] {
            assert_eq!(
                parse_build_env(&[format!("{bad}=1")]),
                Err(BuildEnvError::InvalidName(bad.into()))
            );
        }
        for reserved in RESERVED {
            assert_eq!(
                parse_build_env(&[format!("{reserved}=1")]),
                Err(BuildEnvError::Reserved(reserved.into()))
            );
        }
        assert_eq!(
            parse_build_env(&["A=1".into(), "A=2".into()]),
            Err(BuildEnvError::Duplicate("A".into()))
        );
    }

    #[test]
    fn env_order_is_the_contract_order() {
        let env = script_env(
            Path::new("/src"),
            Path::new("/stage/destdir"),
            1778068800,
            Some("/usr/bin:/bin"),
            &[("A".into(), "1".into())],
        );
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "SOURCE_DIR",
                "DESTDIR",
                "SOURCE_DATE_EPOCH",
                "LC_ALL",
                "TZ",
                "PATH",
                "A"
            ]
        );
        assert_eq!(env[2].1, "1778068800");
        let fallback = script_env(Path::new("/s"), Path::new("/d"), 0, None, &[]);
        assert_eq!(fallback[5].1, FALLBACK_PATH);
    }
    fn run_script(
        body: &str,
        timeout: Option<Duration>,
    ) -> (tempfile::TempDir, Result<(), ScriptError>) {
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("build.sh");
        std::fs::write(&script, body).unwrap();
        let work = dir.path().join("work");
        std::fs::create_dir(&work).unwrap();
        let env = script_env(
            Path::new("/src"),
            &dir.path().join("out"),
            42,
            std::env::var("PATH").ok().as_deref(),
            &[("EXTRA".into(), "v".into())],
        );
        let result = run(&ScriptRun {
            script: &script,
            workdir: &work,
            env: &env,
            timeout,
            sandbox: None,
            source: Path::new("/src"),
            destdir: &dir.path().join("out"),
            limits: Limits::default(),
            process_limit: &ProcessLimit::None,
        });
        (dir, result)
    }

    #[test]
    fn environment_cwd_and_stdin_follow_the_contract() {
        let (dir, result) = run_script(
            "env | sort > \"$DESTDIR.env\"\npwd > \"$DESTDIR.pwd\"\nif read line; then echo got > \"$DESTDIR.stdin\"; fi\n",
            None,
        );
        result.unwrap();
        let env = std::fs::read_to_string(dir.path().join("out.env")).unwrap();
        let names: Vec<&str> = env
            .lines()
            .map(|l| l.split('=').next().unwrap())
            // The shell itself may add these.
            .filter(|n| !matches!(*n, "PWD" | "SHLVL" | "_" | "OLDPWD"))
            .collect();
        assert_eq!(
            names,
            [
                "DESTDIR",
                "EXTRA",
                "LC_ALL",
                "PATH",
                "SOURCE_DATE_EPOCH",
                "SOURCE_DIR",
                "TZ"
            ],
            "{env}"
        );
        assert!(env.contains("SOURCE_DATE_EPOCH=42\n"));
        assert!(env.contains("TZ=UTC\n") && env.contains("LC_ALL=C\n"));
        let pwd = std::fs::read_to_string(dir.path().join("out.pwd")).unwrap();
        assert_eq!(pwd.trim_end(), dir.path().join("work").to_str().unwrap());
        assert!(
            !dir.path().join("out.stdin").exists(),
            "stdin was not at end-of-file"
        );
    }

    #[test]
    fn non_zero_exit_is_reported_with_its_status() {
        let (_dir, result) = run_script("false\nexit 3\n", None);
        let err = result.unwrap_err();
        assert!(matches!(err, ScriptError::Exit { code: 3, .. }), "{err}");
        assert!(err.to_string().contains("failed with exit status 3"));
    }

    #[test]
    fn death_by_signal_is_reported() {
        let (_dir, result) = run_script("kill -9 $$\n", None);
        let err = result.unwrap_err();
        assert!(err.to_string().contains("killed by SIGKILL"), "{err}");
    }

    #[test]
    fn timeout_kills_the_whole_process_group() {
        let started = Instant::now();
        let (dir, result) = run_script(
            "(sleep 1; echo late > \"$DESTDIR.late\") &\nsleep 30\n",
            Some(Duration::from_millis(300)),
        );
        let err = result.unwrap_err();
        assert!(matches!(err, ScriptError::TimedOut { .. }), "{err}");
        assert!(
            err.to_string().contains("did not finish within 300ms"),
            "{err}"
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !dir.path().join("out.late").exists(),
            "background job survived"
        );
    }

    #[test]
    fn leftover_background_jobs_are_killed_when_the_script_exits() {
        let (dir, result) =
            run_script("(sleep 1; echo late > \"$DESTDIR.late\") &\nexit 0\n", None);
        result.unwrap();
        std::thread::sleep(Duration::from_millis(1500));
        assert!(
            !dir.path().join("out.late").exists(),
            "background job survived"
        );
    }

    #[test]
    fn missing_script_is_named() {
        let err = run(&ScriptRun {
            script: Path::new("/nonexistent/build.sh"),
            workdir: Path::new("/"),
            env: &[],
            timeout: None,
            sandbox: None,
            source: Path::new("/"),
            destdir: Path::new("/"),
            limits: Limits::default(),
            process_limit: &ProcessLimit::None,
        })
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/build.sh"), "{err}");
    }
}
