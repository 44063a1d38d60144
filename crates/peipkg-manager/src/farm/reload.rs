//! SIGHUP: re-read the config and the recipes, and apply what can be
//! applied without a restart.
//!
//! The reference re-read only the recipe roster; any config change needed
//! a restart. Here the config file is parsed and validated exactly as at
//! start (programs found, keys readable, webhook secret readable). If
//! anything is wrong the daemon says so in one line and keeps the config
//! it has. Otherwise the new config is put in force: poll intervals,
//! workers, timeouts, upload settings, grants, the webhook secret and the
//! log level apply at once (a build already running keeps the settings it
//! started with). Three keys cannot change under a running daemon (the
//! state directory, the listen address and the repository signing key);
//! their old values stay in force and a line names them.
//!
//! The farm composes the two halves here (config, recipes) with what
//! must follow them: the worker pool's size and the loops' wake-ups.

use std::sync::Arc;

use super::queue::Queue;
use super::settings::Settings;
use super::startup::{forget_removed, local_executor, log_roster, resolve};
use crate::config::Config;
use crate::log::{n, s, Logger};
use crate::roster::load_roster;

/// Keys whose new value needs a restart; the running value is kept.
fn keep_restart_only(old: &Config, new: &mut Config) -> Vec<&'static str> {
    let mut keys = Vec::new();
    if new.state_dir != old.state_dir {
        keys.push("[manager].state_dir");
        new.state_dir = old.state_dir.clone();
    }
    if new.http.addr != old.http.addr {
        keys.push("[http].addr");
        new.http.addr = old.http.addr.clone();
    }
    if new.http.max_connections != old.http.max_connections {
        keys.push("[http].max_connections");
        new.http.max_connections = old.http.max_connections;
    }
    if new.http.read_timeout != old.http.read_timeout {
        keys.push("[http].read_timeout");
        new.http.read_timeout = old.http.read_timeout;
    }
    if new.key_file != old.key_file {
        keys.push("[signing].key_file");
        new.key_file = old.key_file.clone();
    }
    keys
}

/// The keys that differ between two configs, in file order.
fn changed_keys(a: &Config, b: &Config) -> Vec<&'static str> {
    let checks: Vec<(&'static str, bool)> = vec![
        ("[manager].id", a.farm_id != b.farm_id),
        ("[manager].recipes_dir", a.recipes_dir != b.recipes_dir),
        ("[manager].state_dir", a.state_dir != b.state_dir),
        ("[repo].name", a.repo_name != b.repo_name),
        (
            "[repo].description",
            a.repo_description != b.repo_description,
        ),
        ("[signing].key_file", a.key_file != b.key_file),
        ("[upload].backend", a.upload.backend != b.upload.backend),
        ("[upload].rclone", a.upload.rclone != b.upload.rclone),
        (
            "[upload].rclone_config",
            a.upload.rclone_config != b.upload.rclone_config,
        ),
        ("[upload].timeout", a.upload.timeout != b.upload.timeout),
        (
            "[upload].retry_min",
            a.upload.retry_min != b.upload.retry_min,
        ),
        (
            "[upload].retry_max",
            a.upload.retry_max != b.upload.retry_max,
        ),
        (
            "[upload].once_attempts",
            a.upload.once_attempts != b.upload.once_attempts,
        ),
        (
            "[upload].cache_control",
            a.upload.cache_control != b.upload.cache_control,
        ),
        ("[http].addr", a.http.addr != b.http.addr),
        (
            "[http].webhook_secret_file",
            a.http.webhook_secret_file != b.http.webhook_secret_file,
        ),
        (
            "[http].max_connections",
            a.http.max_connections != b.http.max_connections,
        ),
        (
            "[http].read_timeout",
            a.http.read_timeout != b.http.read_timeout,
        ),
        (
            "[poll].default_interval",
            a.default_interval != b.default_interval,
        ),
        ("[[signing_key]]", a.signing_keys != b.signing_keys),
        ("[[grant]]", a.grants != b.grants),
        ("[build].workers", a.build.workers != b.build.workers),
        ("[build].timeout", a.build.timeout != b.build.timeout),
        (
            "[build].publish_timeout",
            a.build.publish_timeout != b.build.publish_timeout,
        ),
        ("[build].batch_max", a.build.batch_max != b.build.batch_max),
        (
            "[build].drain_timeout",
            a.build.drain_timeout != b.build.drain_timeout,
        ),
        (
            "[build].peipkg_build",
            a.build.peipkg_build != b.build.peipkg_build,
        ),
        (
            "[build].peipkg_repo",
            a.build.peipkg_repo != b.build.peipkg_repo,
        ),
        ("[build].verify", a.build.verify != b.build.verify),
        (
            "[build].log_retention",
            a.build.log_retention != b.build.log_retention,
        ),
        ("[build].sandbox", a.build.sandbox != b.build.sandbox),
        (
            "[build].limit_*",
            a.build.limit_processes != b.build.limit_processes
                || a.build.limit_file_size != b.build.limit_file_size
                || a.build.limit_address_space != b.build.limit_address_space,
        ),
        ("[git]", a.git != b.git),
        ("[log].level", a.log_level != b.log_level),
    ];
    checks
        .into_iter()
        .filter(|(_, c)| *c)
        .map(|(k, _)| k)
        .collect()
}

impl Settings {
    /// Re-reads the config file; on any problem keeps the one in force.
    /// Returns whether a new config was put in force.
    pub(super) fn reload_config(&self, log: &Logger) -> bool {
        let old = self.cfg();
        let mut new = match Config::load(&old.path) {
            Ok(c) => c,
            Err(p) => {
                log.error(
                    "reload: config invalid; keeping the current config",
                    &[("config", s(old.path.display())), ("err", s(p))],
                );
                return false;
            }
        };
        let restart = keep_restart_only(&old, &mut new);
        let resolved = match resolve(&new, log) {
            Ok(r) => r,
            Err(e) => {
                log.error(
                    "reload: config invalid; keeping the current config",
                    &[
                        ("config", s(old.path.display())),
                        ("err", s(format!("{e:#}"))),
                    ],
                );
                return false;
            }
        };
        let changed = changed_keys(&old, &new);
        let new = Arc::new(new);
        let executor = (!self.custom_executor).then(|| local_executor(&new, &resolved));
        self.set_config(Arc::clone(&new), resolved, executor);
        if let Some(level) = new.log_level {
            if self.level_from_flag {
                if old.log_level != new.log_level {
                    log.warn(
                        "[log].level changed, but --log-level on the command line takes precedence",
                        &[("level", s(log.level().as_str()))],
                    );
                }
            } else {
                log.set_level(level);
            }
        }
        log.info(
            "config reloaded",
            &[
                ("config", s(new.path.display())),
                (
                    "changed",
                    s(if changed.is_empty() {
                        "none".to_string()
                    } else {
                        changed.join(",")
                    }),
                ),
                ("workers", n(new.build.workers)),
            ],
        );
        if !restart.is_empty() {
            log.warn(
                "config changes need a restart to take effect; the running values are kept",
                &[("keys", s(restart.join(",")))],
            );
        }
        true
    }

    /// Re-reads the recipes; a directory that cannot be read keeps the
    /// roster we have. Returns whether a new roster is in force.
    pub(super) fn reload_recipes(&self, log: &Logger, queue: &Queue) -> bool {
        let dir = self.cfg().recipes_dir.clone();
        match load_roster(&dir) {
            Ok(r) => {
                log_roster(log, &r);
                forget_removed(log, &queue.store(), &r);
                let count = r.recipes.len();
                let broken = r.broken.len();
                self.set_roster(r);
                log.info(
                    "recipes reloaded",
                    &[
                        ("count", n(count)),
                        ("broken", n(broken)),
                        ("dir", s(dir.display())),
                    ],
                );
                true
            }
            Err(e) => {
                log.error(
                    "reload: load roster failed; continuing with existing recipes",
                    &[("err", s(e))],
                );
                false
            }
        }
    }
}
