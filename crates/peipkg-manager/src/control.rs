//! Operator commands: `poll`, `pause`, `resume`, `retry` and `cancel`.
//!
//! They write to the farm's database and return; a running daemon is
//! woken (SIGUSR1 to the pid in its `state_dir` lock) and acts at once,
//! and without one the change waits for the next start or `--once`. Going through the database rather than the
//! HTTP port means no unauthenticated control endpoint exists, and the
//! commands work on a farm that is not running.

use std::path::{Path, PathBuf};

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_OK};

use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::store::{now, Store, DB_FILE};

pub(crate) const COMMANDS: &[&str] = &["poll", "pause", "resume", "retry", "cancel"];

fn spec(cmd: &str) -> (&'static str, &'static str) {
    match cmd {
        "poll" => (
            "RECIPE",
            "Polls RECIPE's upstream now and builds what is new. This is also how a recipe \
             without [watch] is built (PSD-009 A.2: only on explicit operator request).",
        ),
        "pause" => (
            "RECIPE",
            "Stops polling RECIPE and starting its builds and retries until it is resumed. \
             A build already running finishes.",
        ),
        "resume" => ("RECIPE", "Undoes pause; the recipe is polled at once."),
        "retry" => (
            "RECIPE@VERSION",
            "Ends a failed build's backoff window: it is retried now.",
        ),
        _ => (
            "BUILD_ID",
            "Cancels a queued build (see /status or the dashboard for ids).",
        ),
    }
}

pub(crate) fn flags(cmd: &str) -> FlagSet {
    let (arg, about) = spec(cmd);
    let mut f = FlagSet::new(&format!("peipkg-manager {cmd}"), &format!("{arg} [flags]"));
    f.about(about);
    f.args(arg, 1, 1);
    f.flag("config", FlagKind::String, "path to the config file")
        .value_name("PATH")
        .default(DEFAULT_CONFIG_PATH);
    if cmd == "pause" {
        f.flag("reason", FlagKind::String, "why, shown in /status")
            .value_name("TEXT");
    }
    f
}

pub(crate) fn cmd_control(cmd: &str, m: &Matches) -> Result<i32, CliError> {
    let path = PathBuf::from(m.string("config").unwrap_or(DEFAULT_CONFIG_PATH));
    let target = m.positionals()[0].clone();
    let reason = m
        .string("reason")
        .unwrap_or("paused by operator")
        .to_string();
    match control(cmd, &path, &target, &reason) {
        Ok(msg) => {
            println!("{}", crate::redact::redact(&msg.to_string()));
            Ok(EXIT_OK)
        }
        Err(e) => Err(CliError::Failure(format!(
            "{cmd}: {}",
            crate::redact::redact(&e.to_string())
        ))),
    }
}

/// Carries out one command; the message says what happened.
pub(crate) fn control(
    cmd: &str,
    config: &Path,
    target: &str,
    reason: &str,
) -> Result<String, String> {
    let cfg = Config::load(config).map_err(|p| p.to_string())?;
    if !cfg.state_dir.is_dir() {
        return Err(format!(
            "state_dir {} does not exist (has the manager run yet?)",
            cfg.state_dir.display()
        ));
    }
    let db = cfg.state_dir.join(DB_FILE);
    let store = Store::open(&db).map_err(|e| e.to_string())?;
    let later = "a running daemon acts on it now; otherwise the next start or --once does";
    let recipe_with_upstream = |id: &str| -> Result<(), String> {
        let r = crate::roster::load_recipe(id, &cfg.recipes_dir.join(id))
            .map_err(|p| format!("recipe {id}: {p}"))?;
        if r.upstream.is_none() {
            return Err(format!(
                "recipe {id} has no [upstream]; there is nothing to poll"
            ));
        }
        Ok(())
    };
    let result = act(cmd, &store, target, reason, &recipe_with_upstream, later);
    if result.is_ok() {
        // A running daemon looks at the database every two seconds anyway;
        // SIGUSR1 makes it look now.
        if let Some(pid) = crate::farm::StateLock::holder(&cfg.state_dir) {
            // The pid its holder wrote into the lock; SIGUSR1 only wakes
            // the manager's scheduler.
            let _ = peipkg_os::process::kill(pid, libc::SIGUSR1);
        }
    }
    result
}

fn act(
    cmd: &str,
    store: &Store,
    target: &str,
    reason: &str,
    recipe_with_upstream: &dyn Fn(&str) -> Result<(), String>,
    later: &str,
) -> Result<String, String> {
    let err = |e: crate::store::StoreError| e.to_string();
    match cmd {
        "poll" => {
            recipe_with_upstream(target)?;
            if store.request_poll(target, now()).map_err(err)? {
                Ok(format!("poll of {target} requested; {later}"))
            } else {
                Ok(format!("a poll of {target} is already pending; {later}"))
            }
        }
        "pause" => {
            recipe_with_upstream(target)?;
            if store.pause(target, reason, now()).map_err(err)? {
                Ok(format!("{target} paused"))
            } else {
                Ok(format!("{target} was already paused"))
            }
        }
        "resume" => {
            if store.resume(target).map_err(err)? {
                // Resuming means "look again now".
                let _ = store.request_poll(target, now());
                Ok(format!("{target} resumed; {later}"))
            } else {
                Err(format!("{target} is not paused"))
            }
        }
        "retry" => {
            let (recipe, version) = target
                .split_once('@')
                .ok_or_else(|| format!("{target:?} is not RECIPE@VERSION"))?;
            if store.retry_now(recipe, version, now()).map_err(err)? {
                Ok(format!("{target} will be retried; {later}"))
            } else {
                Err(format!(
                    "{target} has no failure record (see /status \"failures\")"
                ))
            }
        }
        _ => {
            let id: i64 = target
                .parse()
                .map_err(|_| format!("{target:?} is not a build id"))?;
            if store.cancel_queued(id, now()).map_err(err)? {
                Ok(format!("build {id} cancelled"))
            } else {
                Err(format!(
                    "build {id} is not queued (only queued builds can be cancelled)"
                ))
            }
        }
    }
}
