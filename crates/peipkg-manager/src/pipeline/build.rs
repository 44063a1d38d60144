//! One `peipkg-build build` run, with exactly the reference's argument
//! vector, and the checks on what it produced.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::pipeline::archive::split_file_name;
use crate::pipeline::fetch::note;
use crate::process::{self, Cancel, Cmd, RunError, Sink};

/// Everything `peipkg-build build` is told.
#[derive(Debug, Clone)]
pub(crate) struct BuildArgs {
    pub(crate) recipe_file: PathBuf,
    pub(crate) source: PathBuf,
    pub(crate) version: String,
    pub(crate) git: String,
    pub(crate) tag: String,
    pub(crate) farm_id: String,
    pub(crate) timestamp: String,
    pub(crate) out: PathBuf,
    pub(crate) sign_key: PathBuf,
    /// `--build-env NAME=HEX`, one per granted injected public key.
    pub(crate) build_env: Vec<(String, String)>,
    /// `--binary-sign-key NAME=PATH`, one per granted signing key.
    pub(crate) binary_sign_keys: Vec<(String, PathBuf)>,
    /// Ours, after the reference's arguments: `--sandbox ...`, `--limit-*`.
    pub(crate) sandbox_args: Vec<String>,
    /// Ours, in the environment (the command line stays the reference's).
    pub(crate) sandbox_env: Vec<(String, String)>,
}

impl BuildArgs {
    /// The argument vector, in the reference's order.
    pub(crate) fn argv(&self) -> Vec<String> {
        let mut v: Vec<String> = vec![
            "build".into(),
            "--recipe".into(),
            self.recipe_file.display().to_string(),
            "--source".into(),
            self.source.display().to_string(),
            "--version".into(),
            self.version.clone(),
            "--source-ref".into(),
            source_ref(&self.git, &self.tag),
            "--farm-id".into(),
            self.farm_id.clone(),
            "--timestamp".into(),
            self.timestamp.clone(),
            "--out".into(),
            self.out.display().to_string(),
            "--sign-key".into(),
            self.sign_key.display().to_string(),
        ];
        for (k, val) in &self.build_env {
            v.push("--build-env".into());
            v.push(format!("{k}={val}"));
        }
        for (k, p) in &self.binary_sign_keys {
            v.push("--binary-sign-key".into());
            v.push(format!("{k}={}", p.display()));
        }
        v.extend(self.sandbox_args.iter().cloned());
        v
    }
}

/// The last lines of a log file (skipping our own `#` notes and command
/// lines), for an error message.
pub(crate) fn log_tail(log: &Path, lines: usize) -> String {
    let text = std::fs::read(log).unwrap_or_default();
    let text = String::from_utf8_lossy(&text);
    // Warnings are not the cause of a failure: left out, so they never
    // bury it (they are logged as their own events).
    let kept: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("# ") && warning_text(l).is_none())
        .collect();
    let start = kept.len().saturating_sub(lines);
    kept[start..]
        .iter()
        .map(|l| l.trim())
        .collect::<Vec<_>>()
        .join(" | ")
}

/// The text of a `peipkg-build: warning: ...` line, or `None` for any
/// other line.
pub(crate) fn warning_text(line: &str) -> Option<&str> {
    line.trim().strip_prefix("peipkg-build: warning: ")
}

/// The warnings peipkg-build wrote to a build log.
pub(crate) fn build_warnings(log: &Path) -> Vec<String> {
    let text = std::fs::read(log).unwrap_or_default();
    String::from_utf8_lossy(&text)
        .lines()
        .filter_map(warning_text)
        .map(str::to_string)
        .collect()
}

/// `git+<url as written in the recipe>#refs/tags/<tag>`.
pub(crate) fn source_ref(git: &str, tag: &str) -> String {
    format!("git+{git}#refs/tags/{tag}")
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BuildError {
    #[error("peipkg-build: {}", .0.reason())]
    Run(RunError),
    #[error("read build output directory {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("peipkg-build succeeded but produced no .peipkg files in {0}")]
    NoOutputs(String),
    #[error("peipkg-build produced {file:?}, which {reason}")]
    Unexpected { file: String, reason: String },
}

/// Runs the build; returns the produced package files (in `args.out`).
pub(crate) fn run_build(
    program: &Path,
    args: &BuildArgs,
    packages: &[String],
    timeout: Duration,
    log: &Path,
    cancel: Option<&Cancel>,
) -> Result<Vec<PathBuf>, BuildError> {
    std::fs::create_dir_all(&args.out).map_err(|source| BuildError::Io {
        path: args.out.display().to_string(),
        source,
    })?;
    let mut cmd = Cmd::new(program, timeout).args(args.argv());
    for (k, v) in &args.sandbox_env {
        cmd = cmd.env(k, v);
    }
    let cmd = cmd
        .stdout(Sink::File(log.to_path_buf()))
        .stderr(Sink::File(log.to_path_buf()));
    note(log, &cmd.display());
    process::run(&cmd, cancel)
        .map_err(|e| match e {
            // The output went to the log; its last lines say what went wrong.
            RunError::Failed {
                command,
                status,
                stderr,
            } if stderr.is_empty() => RunError::Failed {
                command,
                status,
                stderr: log_tail(log, 3),
            },
            other => other,
        })
        .map_err(BuildError::Run)?;
    collect_outputs(&args.out, packages, &args.version)
}

/// The `.peipkg` files in `out`, each checked to be one of the recipe's
/// packages at the version we asked for. Anything else means the builder
/// did not do what we asked, and publishing it would be wrong.
pub(crate) fn collect_outputs(
    out: &Path,
    packages: &[String],
    version: &str,
) -> Result<Vec<PathBuf>, BuildError> {
    let io = |source| BuildError::Io {
        path: out.display().to_string(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(out).map_err(io)? {
        let entry = entry.map_err(io)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().map_err(io)?.is_file() || !name.ends_with(".peipkg") {
            continue;
        }
        let Some((pkg, ver, _arch)) = split_file_name(&name) else {
            return Err(BuildError::Unexpected {
                file: name,
                reason: "is not named <name>_<version>_<arch>.peipkg".into(),
            });
        };
        if ver != version {
            return Err(BuildError::Unexpected {
                file: name,
                reason: format!("has version {ver}, not {version}"),
            });
        }
        if !packages.contains(&pkg) {
            return Err(BuildError::Unexpected {
                file: name,
                reason: format!(
                    "is not one of the recipe's packages ({})",
                    packages.join(", ")
                ),
            });
        }
        files.push(entry.path());
    }
    if files.is_empty() {
        return Err(BuildError::NoOutputs(out.display().to_string()));
    }
    files.sort();
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_is_the_reference_order() {
        let a = BuildArgs {
            recipe_file: "/r/zlib/peipkg.toml".into(),
            source: "/s/src".into(),
            version: "1.3.1-1".into(),
            git: "https://github.com/madler/zlib".into(),
            tag: "v1.3.1".into(),
            farm_id: "farm".into(),
            timestamp: "2024-01-22T10:00:00Z".into(),
            out: "/s/out".into(),
            sign_key: "/k".into(),
            build_env: vec![("PKM_KACS_TCB_PUBKEY_HEX".into(), "abcd".into())],
            binary_sign_keys: vec![("tcb".into(), "/keys/tcb".into())],
            sandbox_args: Vec::new(),
            sandbox_env: Vec::new(),
        };
        assert_eq!(
            a.argv().join(" "),
            "build --recipe /r/zlib/peipkg.toml --source /s/src --version 1.3.1-1 \
             --source-ref git+https://github.com/madler/zlib#refs/tags/v1.3.1 --farm-id farm \
             --timestamp 2024-01-22T10:00:00Z --out /s/out --sign-key /k \
             --build-env PKM_KACS_TCB_PUBKEY_HEX=abcd --binary-sign-key tcb=/keys/tcb"
        );
    }

    #[test]
    fn outputs_must_be_the_recipes_packages_at_our_version() {
        let d = tempfile::tempdir().unwrap();
        let pk = vec!["libz".to_string(), "libz-dev".to_string()];
        assert!(matches!(
            collect_outputs(d.path(), &pk, "1-1"),
            Err(BuildError::NoOutputs(_))
        ));
        std::fs::write(d.path().join("libz_1-1_x86_64.peipkg"), "x").unwrap();
        std::fs::write(d.path().join("notes.txt"), "x").unwrap();
        assert_eq!(collect_outputs(d.path(), &pk, "1-1").unwrap().len(), 1);
        std::fs::write(d.path().join("libz-dev_2-1_x86_64.peipkg"), "x").unwrap();
        let e = collect_outputs(d.path(), &pk, "1-1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("has version 2-1"), "{e}");
        std::fs::remove_file(d.path().join("libz-dev_2-1_x86_64.peipkg")).unwrap();
        std::fs::write(d.path().join("evil_1-1_x86_64.peipkg"), "x").unwrap();
        let e = collect_outputs(d.path(), &pk, "1-1")
            .unwrap_err()
            .to_string();
        assert!(e.contains("not one of the recipe's packages"), "{e}");
    }
}
