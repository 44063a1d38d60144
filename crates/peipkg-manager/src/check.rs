//! `peipkg-manager check --config F`: everything that would stop the farm
//! from starting or from building, listed at once, before a deploy.

use std::os::unix::fs::PermissionsExt;

use crate::config::{Config, UploadBackend};
use crate::process::find_program;
use crate::roster::load_roster;

#[derive(Debug, Default)]
pub struct CheckReport {
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

pub fn check(config_path: &std::path::Path) -> CheckReport {
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
    if let UploadBackend::Rclone { .. } = cfg.upload.backend {
        if find_program(&cfg.upload.rclone).is_none() {
            rep.problems.push(format!(
                "rclone not found: {:?} is not an executable on PATH (set [upload].rclone)",
                cfg.upload.rclone
            ));
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
