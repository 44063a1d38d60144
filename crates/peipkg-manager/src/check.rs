//! `peipkg-manager check --config F`: everything that would stop the farm
//! from starting or from building, listed at once, before a deploy.

use std::os::unix::fs::PermissionsExt;

use crate::config::{Config, UploadBackend};
use crate::process::{find_program, RunError, Sink};
use crate::roster::load_roster;
use crate::upload::{cause_line, is_configuration_cause};

#[derive(Debug, Default)]
pub(crate) struct CheckReport {
    pub(crate) problems: Vec<String>,
    pub(crate) warnings: Vec<String>,
    pub(crate) notes: Vec<String>,
}

pub(crate) fn check(config_path: &std::path::Path) -> CheckReport {
    let mut rep = CheckReport::default();
    let cfg = match Config::load(config_path) {
        Ok(c) => c,
        Err(p) => {
            rep.problems.extend(p.0.iter().map(|p| p.to_string()));
            return rep;
        }
    };
    rep.notes
        .push(format!("config {}: ok", config_path.display()));

    for (what, name, key) in [
        (
            "peipkg-build",
            cfg.build.peipkg_build.as_str(),
            "[build].peipkg_build",
        ),
        (
            "peipkg-repo",
            cfg.build.peipkg_repo.as_str(),
            "[build].peipkg_repo",
        ),
        ("git", cfg.git.program.as_str(), "[git].program"),
    ] {
        if find_program(name).is_none() {
            rep.problems.push(format!(
                "{what} not found: {name:?} is not an executable on PATH (set {key})"
            ));
        }
    }
    rep.problems.extend(crate::cluster::check_host(&cfg));
    if let UploadBackend::Rclone { remote } = &cfg.upload.backend {
        if find_program(&cfg.upload.rclone).is_none() {
            rep.problems.push(format!(
                "rclone not found: {:?} is not an executable on PATH (set [upload].rclone)",
                cfg.upload.rclone
            ));
        } else {
            check_remote(&cfg, remote, &mut rep);
        }
    }

    match (cfg.build.sandbox, find_program(&cfg.build.peipkg_build)) {
        (crate::config::SandboxPolicy::Required, Some(build)) => {
            match crate::sandbox::check(&build) {
                Ok(()) => rep.notes.push(
                    "sandbox: builds run in bubblewrap (peipkg-build sandbox-check ok)".into(),
                ),
                Err(e) => rep.problems.push(e),
            }
        }
        (crate::config::SandboxPolicy::Required, None) => {}
        (crate::config::SandboxPolicy::None, _) => {
            if let Some(w) = crate::sandbox::warning(&cfg) {
                rep.warnings.push(w);
            }
        }
    }
    let network = crate::sandbox::network_recipes(&cfg);
    if !network.is_empty() {
        rep.notes.push(format!(
            "sandbox: network granted to {}",
            network.join(", ")
        ));
    }

    let mut keys = vec![("[signing].key_file".to_string(), cfg.key_file.clone())];
    for k in &cfg.signing_keys {
        keys.push((format!("[[signing_key]] {}", k.name), k.private.clone()));
    }
    for (label, path) in keys {
        match std::fs::metadata(&path) {
            Err(e) => rep
                .problems
                .push(format!("{label} {}: {e}", path.display())),
            Ok(m) => {
                if let Err(e) = peipkg_format::keys::SigningKey::load(&path) {
                    rep.problems.push(format!("{label}: {e}"));
                }
                let mode = m.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    rep.warnings.push(format!(
                        "{label} {} has mode {mode:04o}; other users can read it (chmod 600)",
                        path.display()
                    ));
                }
            }
        }
    }

    let roster = match load_roster(&cfg.recipes_dir) {
        Ok(r) => r,
        Err(e) => {
            rep.problems.push(e.to_string());
            return rep;
        }
    };
    for problems in roster.broken.values() {
        rep.problems
            .extend(problems.0.iter().map(|p| p.to_string()));
    }
    for (entry, why) in &roster.skipped {
        rep.warnings
            .push(format!("{}: {why}", roster.dir.join(entry).display()));
    }
    for g in &cfg.grants {
        if roster.get(&g.recipe).is_none() && !roster.broken.contains_key(&g.recipe) {
            rep.warnings.push(format!(
                "[[grant]] {}: no recipe with that directory name",
                g.recipe
            ));
        }
    }
    for recipe in roster.recipes.values() {
        if let Some(why) = crate::sign_grant::refusal(recipe, cfg.grant_for(&recipe.id)) {
            rep.warnings.push(why);
        }
    }
    let webhooks: Vec<&str> = roster
        .recipes
        .values()
        .filter(|r| r.watch.github_webhook)
        .map(|r| r.id.as_str())
        .collect();
    if !webhooks.is_empty() {
        match (&cfg.http.addr, &cfg.http.webhook_secret_file) {
            (None, _) => rep.warnings.push(format!(
                "recipes {} accept webhooks but [http].addr is not set; they are polled only",
                webhooks.join(", ")
            )),
            (Some(_), None) => rep.problems.push(format!(
                "[http].webhook_secret_file is required when recipes accept webhooks ({}); unsigned webhooks are refused",
                webhooks.join(", ")
            )),
            (Some(_), Some(path)) => {
                if let Err(e) = std::fs::read(path) {
                    rep.problems
                        .push(format!("[http].webhook_secret_file {}: {e}", path.display()));
                }
            }
        }
    }
    let watched = roster.watched().count();
    let on_request: Vec<&str> = roster.on_request().map(|r| r.id.as_str()).collect();
    rep.notes.push(format!(
        "recipes {}: {} loaded ({} watched, {} on request only), {} broken",
        cfg.recipes_dir.display(),
        roster.recipes.len(),
        watched,
        on_request.len(),
        roster.broken.len()
    ));
    if !on_request.is_empty() {
        rep.notes.push(format!(
            "no [watch], so built only on operator request (peipkg-manager poll RECIPE): {}",
            on_request.join(", ")
        ));
    }
    rep
}

/// How long `check` waits for the remote to answer.
const REMOTE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// The upload remote must exist in rclone's config and answer a listing
/// within [`REMOTE_TIMEOUT`]: a farm that uploads nowhere finds out at
/// deploy time, not after its first build. A remote path that does not
/// exist yet is fine (the first upload creates it).
fn check_remote(cfg: &Config, remote: &str, rep: &mut CheckReport) {
    if let Some(file) = &cfg.upload.rclone_config {
        if !file.is_file() {
            rep.problems.push(format!(
                "[upload].rclone_config {}: no such file (create it with `rclone --config {} config create NAME TYPE ...`)",
                file.display(),
                file.display()
            ));
            return;
        }
    }
    // rclone's messages go to a scratch file: the cause line is picked
    // from all of them (a captured stderr keeps only its tail).
    let scratch = match tempfile::NamedTempFile::new() {
        Ok(f) => f,
        Err(e) => {
            rep.problems.push(format!(
                "[upload].remote {remote}: create a scratch file: {e}"
            ));
            return;
        }
    };
    let rclone = crate::upload::Rclone {
        program: cfg.upload.rclone.clone(),
        config: cfg.upload.rclone_config.clone(),
        remote: remote.to_string(),
        timeout: REMOTE_TIMEOUT,
        log: scratch.path().to_path_buf(),
        cache_control: false,
    };
    let cmd = rclone
        .base(REMOTE_TIMEOUT)
        .args(["lsf", "--max-depth", "1"])
        .arg(remote)
        .stdout(Sink::Null)
        .stderr(Sink::File(scratch.path().to_path_buf()));
    match crate::process::run(&cmd, None) {
        Ok(_) => rep
            .notes
            .push(format!("[upload].remote {remote}: reachable")),
        Err(RunError::Failed { status, .. }) => {
            let text = std::fs::read_to_string(scratch.path()).unwrap_or_default();
            let cause = cause_line(&text).unwrap_or(status);
            if cause.contains("directory not found") {
                rep.notes.push(format!(
                    "[upload].remote {remote}: reachable; the path does not exist yet (the first upload creates it)"
                ));
            } else {
                let hint = if is_configuration_cause(&cause) {
                    match &cfg.upload.rclone_config {
                        Some(f) => format!(" (define the remote in {})", f.display()),
                        None => " (define it with `rclone config create`, or name a file with [upload].rclone_config)".to_string(),
                    }
                } else {
                    String::new()
                };
                rep.problems
                    .push(format!("[upload].remote {remote}: {cause}{hint}"));
            }
        }
        Err(e) => rep.problems.push(format!(
            "[upload].remote {remote}: rclone lsf: {}",
            e.reason()
        )),
    }
}
