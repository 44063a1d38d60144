//! The build sandbox as the farm sees it: whether `peipkg-build` can run
//! build scripts in bubblewrap here, and the extra `peipkg-build` arguments
//! that ask for it.
//!
//! `[build].sandbox = "required"` (the default) makes the farm refuse to
//! start, reload or pass `check` unless `peipkg-build sandbox-check`
//! succeeds, and every build then runs with `--sandbox bwrap` (failing
//! rather than running unsandboxed) and `--sandbox-hide` for the manager's
//! config directory, state directory, keys and webhook secret. A
//! `[[grant]]` with `network = true` adds `--sandbox-network` for that
//! recipe only. With `sandbox = "none"` the manager passes none of these,
//! so the reference `peipkg-build` keeps working, and sets
//! `PEIPKG_BUILD_SANDBOX=none` so ours does not sandbox either; `/status`
//! and the dashboard then show a warning.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::config::{Config, SandboxPolicy};

/// Runs `peipkg-build sandbox-check`; the error is what it printed.
pub fn check(peipkg_build: &Path) -> Result<(), String> {
    let out = Command::new(peipkg_build)
        .arg("sandbox-check")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("run {} sandbox-check: {e}", peipkg_build.display()))?;
    if out.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stderr = stderr.trim();
    Err(format!(
        "[build].sandbox = \"required\", but {} cannot run builds in a bubblewrap sandbox here: {} (install bubblewrap and this project's peipkg-build, or set [build].sandbox = \"none\" to build unsandboxed)",
        peipkg_build.display(),
        if stderr.is_empty() { "sandbox-check failed" } else { stderr }
    ))
}

/// The warning `/status` and the dashboard show, if any.
pub fn warning(cfg: &Config) -> Option<String> {
    (cfg.build.sandbox == SandboxPolicy::None).then(|| {
        "[build].sandbox = \"none\": builds are not required to run in the sandbox, so a hostile upstream may read this farm's signing keys and write on the host".to_string()
    })
}

/// Recipes whose sandboxed builds keep the network (`[[grant]] network`).
pub fn network_recipes(cfg: &Config) -> Vec<String> {
    cfg.grants
        .iter()
        .filter(|g| g.network)
        .map(|g| g.recipe.clone())
        .collect()
}

/// The environment `peipkg-build` gets: with `sandbox = "none"`,
/// `PEIPKG_BUILD_SANDBOX=none`, which turns our `peipkg-build`'s default
/// (`auto`) off while the command line stays one the reference accepts.
pub fn build_env(cfg: &Config) -> Vec<(String, String)> {
    match cfg.build.sandbox {
        SandboxPolicy::Required => Vec::new(),
        SandboxPolicy::None => vec![("PEIPKG_BUILD_SANDBOX".into(), "none".into())],
    }
}

/// The arguments appended to `peipkg-build build` for `recipe` under its
/// grant in `cfg` (the farm passes the grant in the job description).
#[cfg(test)]
pub fn build_args(cfg: &Config, recipe: &str) -> Vec<String> {
    granted_args(cfg, cfg.grant_for(recipe).is_some_and(|g| g.network))
}

/// The arguments appended to `peipkg-build build` for a build that is
/// (or is not) granted the network: the host's sandbox and limits.
pub fn granted_args(cfg: &Config, network: bool) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    if cfg.build.sandbox == SandboxPolicy::Required {
        v.extend(["--sandbox".into(), "bwrap".into()]);
        if network {
            v.push("--sandbox-network".into());
        }
        let mut hide: Vec<&Path> = Vec::new();
        if let Some(dir) = cfg.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            hide.push(dir);
        }
        hide.push(&cfg.state_dir);
        hide.push(&cfg.key_file);
        hide.extend(cfg.signing_keys.iter().map(|k| k.private.as_path()));
        if let Some(secret) = &cfg.http.webhook_secret_file {
            hide.push(secret);
        }
        for path in hide {
            v.push("--sandbox-hide".into());
            v.push(path.display().to_string());
        }
    }
    let limits = [
        (
            "--limit-processes",
            cfg.build.limit_processes.map(|n| n.to_string()),
        ),
        ("--limit-file-size", cfg.build.limit_file_size.clone()),
        (
            "--limit-address-space",
            cfg.build.limit_address_space.clone(),
        ),
    ];
    for (flag, value) in limits {
        if let Some(value) = value {
            v.push(flag.into());
            v.push(value);
        }
    }
    v
}
