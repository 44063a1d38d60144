//! Opening a [`Farm`]: the checks that must pass before any work starts,
//! and the recovery of what a previous process left.
//!
//! The reference checked only that its two helper programs were on PATH;
//! a missing git, rclone, an unreadable signing key or a bad webhook secret
//! surfaced hours later as a failed build. Here they fail the start, with
//! a message that names the file or program.

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};

use super::activity::Activity;
use super::dirs::StateDirs;
use super::handles::Handles;
use super::queue::Queue;
use super::repo::LiveRepo;
use super::settings::Settings;
use super::shutdown::Shutdown;
use super::wake::Wakes;
use super::Farm;
use crate::config::{Config, UploadBackend};
use crate::executor::{Executor, HostSide, LocalExecutor};
use crate::log::{s, Logger};
use crate::pipeline::publish::Layout;
use crate::process::find_program;
use crate::roster::{load_roster, Roster};
use crate::store::{Store, DB_FILE};

/// An exclusive lock on `state_dir`: two managers sharing one state would
/// publish over each other.
pub(crate) struct StateLock {
    _file: File,
}

impl StateLock {
    fn acquire(state_dir: &Path) -> Result<StateLock> {
        let path = state_dir.join("manager.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("open lock file {}", path.display()))?;
        if !peipkg_os::flock_until(&file, true, std::time::Instant::now()).unwrap_or(false) {
            bail!(
                "another peipkg-manager is already using state_dir {} (lock {} is held)",
                state_dir.display(),
                path.display()
            );
        }
        // The holder's pid, so operator commands can wake it.
        let mut f = &file;
        let _ = file.set_len(0);
        let _ = std::io::Write::write_all(&mut f, format!("{}\n", std::process::id()).as_bytes());
        Ok(StateLock { _file: file })
    }

    /// The pid of the manager holding `state_dir`'s lock, if one does.
    pub(crate) fn holder(state_dir: &Path) -> Option<i32> {
        let path = state_dir.join("manager.lock");
        let file = File::open(&path).ok()?;
        let free = peipkg_os::flock_until(&file, false, std::time::Instant::now()).unwrap_or(false);
        if free {
            return None;
        }
        std::fs::read_to_string(&path).ok()?.trim().parse().ok()
    }
}

/// Options a test (or an embedding) can override.
#[derive(Default)]
pub(crate) struct FarmOptions {
    pub(crate) executor: Option<Box<dyn Executor>>,
    /// `--log-level` was given on the command line (it then wins over
    /// `[log].level`, at start and at every reload).
    pub(crate) level_from_flag: bool,
}

/// A program from the config, found on PATH or as given.
fn resolve_program(what: &str, name: &str, key: &str) -> Result<PathBuf> {
    find_program(name).ok_or_else(|| {
        anyhow!("{what} not found: {name:?} is not an executable on PATH (set {key} to its path)")
    })
}

/// Warns about a private key that others can read; errors if we cannot.
fn check_private_key(log: &Logger, label: &str, path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path)
        .with_context(|| format!("{label} {}: cannot read", path.display()))?;
    File::open(path).with_context(|| format!("{label} {}: cannot read", path.display()))?;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        log.warn(
            "signing key file is accessible to other users",
            &[
                ("key", s(label)),
                ("path", s(path.display())),
                ("mode", s(format!("{mode:04o}"))),
                ("fix", s(format!("chmod 600 {}", path.display()))),
            ],
        );
    }
    Ok(())
}

/// Lowercase hex public key of a private key file.
fn pubkey_hex(path: &Path) -> Result<String> {
    let key = peipkg_format::keys::SigningKey::load(path).map_err(|e| anyhow!("{e}"))?;
    Ok(hex::encode(key.public_key().as_bytes()))
}

fn read_webhook_secret(path: &Path) -> Result<Vec<u8>> {
    let bytes =
        std::fs::read(path).with_context(|| format!("read webhook secret {}", path.display()))?;
    let end = bytes
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
        .map(|i| i + 1)
        .unwrap_or(0);
    Ok(bytes[..end].to_vec())
}

/// Failure records of recipes that are gone are dropped (the reference
/// kept them, and showed them in `/status`, until a restart). A broken
/// recipe keeps its records: it is still there, just unreadable.
pub(super) fn forget_removed(log: &Logger, store: &Store, roster: &Roster) {
    match store.forget_failures_except(&roster.all_ids()) {
        Ok(0) => {}
        Ok(n) => log.info(
            "failure records of removed recipes dropped",
            &[("count", crate::log::n(n))],
        ),
        Err(e) => log.error("drop stale failure records failed", &[("err", s(e))]),
    }
}

pub(super) fn log_roster(log: &Logger, roster: &Roster) {
    for (id, problems) in &roster.broken {
        log.error(
            "recipe invalid; skipped",
            &[("recipe", s(id)), ("err", s(problems))],
        );
    }
    for r in roster.on_request() {
        log.info(
            "recipe has no [watch]; built only on operator request (peipkg-manager poll)",
            &[("recipe", s(&r.id))],
        );
    }
    for (id, why) in &roster.skipped {
        log.warn(
            "recipe directory skipped",
            &[("entry", s(id)), ("reason", s(why))],
        );
    }
}

/// What a config resolves to on this host: the programs it names, the
/// keys it points at, the webhook secret. Resolving is also the check that
/// all of them are usable; a reload that fails it keeps the old config.
#[derive(Debug, Clone)]
pub(super) struct Resolved {
    pub(super) peipkg_build: PathBuf,
    pub(super) peipkg_repo: PathBuf,
    /// Granted public keys to inject, by signing-key name (lowercase hex).
    pub(super) inject_hex: BTreeMap<String, String>,
    pub(super) webhook_secret: Option<Vec<u8>>,
    /// `peipkg_repo` switches a state atomically by itself: publish in
    /// place (see `pipeline::publish`).
    pub(super) repo_atomic: bool,
}

pub(super) fn resolve(cfg: &Config, log: &Logger) -> Result<Resolved> {
    let peipkg_build = resolve_program(
        "peipkg-build",
        &cfg.build.peipkg_build,
        "[build].peipkg_build",
    )?;
    let peipkg_repo =
        resolve_program("peipkg-repo", &cfg.build.peipkg_repo, "[build].peipkg_repo")?;
    if cfg.build.sandbox == crate::config::SandboxPolicy::Required {
        crate::sandbox::check(&peipkg_build).map_err(|e| anyhow!("{e}"))?;
    }
    resolve_program("git", &cfg.git.program, "[git].program")?;
    for (what, name, key) in crate::cluster::host_programs(cfg) {
        resolve_program(what, &name, key)?;
    }
    if let UploadBackend::Rclone { .. } = cfg.upload.backend {
        resolve_program("rclone", &cfg.upload.rclone, "[upload].rclone")?;
    }
    check_private_key(log, "[signing].key_file", &cfg.key_file)?;
    let mut inject_hex = BTreeMap::new();
    for k in &cfg.signing_keys {
        check_private_key(log, &format!("signing key {:?}", k.name), &k.private)?;
        if k.pubkey_env.is_some() {
            let hex =
                pubkey_hex(&k.private).with_context(|| format!("signing key {:?}", k.name))?;
            inject_hex.insert(k.name.clone(), hex);
        }
    }
    let webhook_secret = match (&cfg.http.addr, &cfg.http.webhook_secret_file) {
        (Some(_), Some(path)) => Some(read_webhook_secret(path)?),
        _ => None,
    };
    let repo_atomic = crate::pipeline::publish::atomic_publisher(&peipkg_repo);
    Ok(Resolved {
        repo_atomic,
        peipkg_build,
        peipkg_repo,
        inject_hex,
        webhook_secret,
    })
}

/// `built/<id>` directories whose build is not waiting to be published
/// (a crash between publishing and removing them, or between keeping the
/// outputs and recording the build) would stay for ever: remove them.
fn remove_leaked_outputs(log: &Logger, store: &Store, built: &Path) -> Result<()> {
    let waiting: std::collections::BTreeSet<String> = store
        .builds_in(crate::store::BuildState::Built)?
        .iter()
        .map(|b| b.id.to_string())
        .collect();
    let Ok(entries) = std::fs::read_dir(built) else {
        return Ok(());
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !waiting.contains(&name) {
            crate::pipeline::tree::remove_all(&e.path())
                .with_context(|| format!("remove {}", e.path().display()))?;
            log.info(
                "removed outputs no build is waiting for",
                &[("dir", s(e.path().display()))],
            );
        }
    }
    Ok(())
}

/// The executor `[build].executor` names (the name is the reference's
/// default; it is `local` unless the config says `slurm`).
pub(super) fn local_executor(cfg: &Config, resolved: &Resolved) -> Arc<dyn Executor> {
    let host = HostSide {
        cfg: Arc::new(cfg.clone()),
        inject_hex: resolved.inject_hex.clone(),
        peipkg_build: resolved.peipkg_build.clone(),
    };
    if let (crate::config::ExecutorKind::Slurm, Some(slurm)) = (cfg.build.executor, &cfg.slurm) {
        return Arc::new(crate::cluster::SlurmExecutor::new(slurm.clone(), host));
    }
    Arc::new(LocalExecutor::new(host))
}

/// Checks everything, recovers what a previous process left, and
/// assembles the farm's parts.
pub(super) fn open(cfg: Config, log: Logger, opts: FarmOptions) -> Result<Farm> {
    let resolved = resolve(&cfg, &log)?;

    let roster = load_roster(&cfg.recipes_dir)?;
    log.info(
        "recipe roster loaded",
        &[
            ("count", crate::log::n(roster.recipes.len())),
            ("broken", crate::log::n(roster.broken.len())),
            ("dir", s(cfg.recipes_dir.display())),
        ],
    );
    log_roster(&log, &roster);

    for sub in ["", "logs", "work", "built"] {
        let d = cfg.state_dir.join(sub);
        std::fs::create_dir_all(&d).with_context(|| format!("create {}", d.display()))?;
    }
    let lock = StateLock::acquire(&cfg.state_dir)?;
    // Processes a killed manager left (its children's children) stop
    // before anything they may be writing is cleaned up.
    let children = cfg.state_dir.join("children");
    let stopped = crate::process::stop_leftover_groups(&children);
    if stopped > 0 {
        log.warn(
            "stopped processes left by a previous manager",
            &[("processes", crate::log::n(stopped))],
        );
    }
    crate::process::record_groups_in(&children)
        .with_context(|| format!("create {}", children.display()))?;
    let store = Store::open(&cfg.state_dir.join(DB_FILE))?;
    forget_removed(&log, &store, &roster);
    remove_leaked_outputs(&log, &store, &cfg.state_dir.join("built"))?;

    let layout = Layout::new(&cfg.state_dir);
    layout.recover()?;
    // Work directories of a process that died are garbage now.
    let _ = crate::pipeline::tree::remove_all(&cfg.state_dir.join("work"));
    std::fs::create_dir_all(cfg.state_dir.join("work"))?;

    let custom_executor = opts.executor.is_some();
    let executor: Arc<dyn Executor> = match opts.executor {
        Some(e) => Arc::from(e),
        None => local_executor(&cfg, &resolved),
    };
    if let (Some(level), false) = (cfg.log_level, opts.level_from_flag) {
        log.set_level(level);
    }
    let wakes = Arc::new(Wakes::default());
    Ok(Farm {
        h: Handles {
            log,
            dirs: Arc::new(StateDirs::new(cfg.state_dir.clone())),
            settings: Arc::new(Settings::new(
                cfg,
                resolved,
                roster,
                executor,
                custom_executor,
                opts.level_from_flag,
            )),
            queue: Arc::new(Queue::new(store)),
            repo: Arc::new(LiveRepo::new(layout)),
            shutdown: Arc::new(Shutdown::new(Arc::clone(&wakes))),
            wakes,
            report: Default::default(),
        },
        pool: Default::default(),
        activity: Arc::new(Activity::new(crate::store::now())),
        schedule: Default::default(),
        _lock: lock,
    })
}
