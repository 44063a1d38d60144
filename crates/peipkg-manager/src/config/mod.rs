//! The manager's configuration file (`peipkg-config.toml`).
//!
//! The reference schema (`[manager]`, `[repo]`, `[signing]`, `[upload]`,
//! `[http]`, `[poll]`, `[[signing_key]]`, `[[grant]]`) is read unchanged so
//! an operator can swap binaries without touching the file. What we add
//! lives in new tables (`[build]`, `[git]`, `[log]`) or as new keys with safe defaults
//! in `[upload]`, so a reference config is always a valid config here.
//! Parsing is strict and reports every problem at once, with lines.

pub mod slurm;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use peipkg_recipe::strict::{Doc, Problem, Problems, Reporter, Section};
pub use slurm::{ExecutorKind, SlurmConfig};

pub const DEFAULT_CONFIG_PATH: &str = "/etc/peipkg-manager/config.toml";

const MINUTE: Duration = Duration::from_secs(60);
const SECOND: Duration = Duration::from_secs(1);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadBackend {
    /// `backend = "none"`, `""`, or no `[upload]` table: the repository
    /// stays in `<state_dir>/repo/`.
    None,
    /// `rclone` to the given `remote:path`.
    Rclone { remote: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadConfig {
    pub backend: UploadBackend,
    /// The rclone program (a name on PATH or a path).
    pub rclone: String,
    /// rclone's own config file (`--config`), so the remote is defined by
    /// a file the farm names rather than by whoever runs it.
    pub rclone_config: Option<PathBuf>,
    /// Upper bound for one rclone invocation.
    pub timeout: Duration,
    /// First wait after a failed upload; doubled per failure up to
    /// `retry_max`. Uploads are retried until they succeed.
    pub retry_min: Duration,
    pub retry_max: Duration,
    /// How many upload attempts `--once` makes before giving up (exit 1).
    pub once_attempts: u32,
    /// Set `Cache-Control` on uploaded objects: packages are immutable,
    /// everything else short-lived (honoured by S3/R2-like remotes).
    pub cache_control: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpConfig {
    /// Normalised listen address (`:8080` becomes `0.0.0.0:8080`); `None`
    /// disables the server.
    pub addr: Option<String>,
    pub webhook_secret_file: Option<PathBuf>,
    /// Connections served at once (`[http].max_connections`, ours); more
    /// wait in the kernel's accept queue, so a flood of slow clients cannot
    /// take a thread or a file descriptor each.
    pub max_connections: usize,
    /// How long a client may take to send a request's headers, and then
    /// its body (`[http].read_timeout`, ours); a slower client is dropped.
    pub read_timeout: Duration,
}

/// Defaults of the `[http]` limits.
pub const DEFAULT_HTTP_MAX_CONNECTIONS: usize = 512;
pub const DEFAULT_HTTP_READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyEntry {
    pub name: String,
    pub private: PathBuf,
    pub pubkey_env: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub recipe: String,
    pub inject_pubkey: Vec<String>,
    pub sign: Vec<String>,
    /// `network = true` (ours): the recipe's sandboxed build keeps the
    /// host's network (`peipkg-build --sandbox-network`).
    pub network: bool,
}

/// `[build].sandbox` (ours).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SandboxPolicy {
    /// Every build runs in bubblewrap; the farm does not start without it.
    Required,
    /// Builds run on the host, as with the reference (shown as a warning).
    None,
}

/// `[build]` (ours): how builds and publishes run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildConfig {
    /// Builds that may run at once. Publishing is always serial.
    pub workers: usize,
    /// Upper bound for one `peipkg-build` run.
    pub timeout: Duration,
    /// Upper bound for one `peipkg-repo` run (init, publish, verify).
    pub publish_timeout: Duration,
    /// How many finished builds one publish may fold in.
    pub batch_max: usize,
    /// On SIGTERM, how long running builds may take to finish before they
    /// are stopped (and re-queued at the next start).
    pub drain_timeout: Duration,
    /// The builder and repository programs: names looked up on PATH, or paths.
    pub peipkg_build: String,
    pub peipkg_repo: String,
    /// Check each new repository state with `peipkg-repo verify --mode
    /// metadata` before it replaces the live one.
    pub verify: bool,
    /// How long the log files of finished builds are kept.
    pub log_retention: Duration,
    /// Where builds run (`[slurm]` configures the cluster one).
    pub executor: ExecutorKind,
    pub sandbox: SandboxPolicy,
    /// `limit_processes`, `limit_file_size`, `limit_address_space`:
    /// passed to `peipkg-build` as `--limit-*` when set.
    pub limit_processes: Option<u64>,
    pub limit_file_size: Option<String>,
    pub limit_address_space: Option<String>,
}

/// `[git]` (ours): how upstreams are listed and fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitConfig {
    pub program: String,
    pub ls_remote_timeout: Duration,
    pub clone_timeout: Duration,
    /// Polls that may run at once across all recipes.
    pub poll_concurrency: usize,
    /// Random spread added to each poll interval, in percent of it.
    pub jitter_percent: u32,
    /// Allow submodules with local-path/file:// URLs. Off by default: a
    /// hostile upstream could otherwise read files from the build host.
    pub allow_file_submodules: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    pub farm_id: String,
    pub recipes_dir: PathBuf,
    pub state_dir: PathBuf,
    pub repo_name: String,
    pub repo_description: String,
    pub key_file: PathBuf,
    pub upload: UploadConfig,
    pub http: HttpConfig,
    pub default_interval: Duration,
    pub signing_keys: Vec<SigningKeyEntry>,
    pub grants: Vec<Grant>,
    pub build: BuildConfig,
    pub git: GitConfig,
    /// `[slurm]`, present when configured.
    pub slurm: Option<SlurmConfig>,
    /// `[log].level` (ours). `--log-level` on the command line wins over it.
    pub log_level: Option<crate::log::Level>,
}

impl Config {
    /// Reads and validates a config file; every problem is returned at once.
    pub fn load(path: &Path) -> Result<Config, Problems> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Problems(vec![Problem {
                file: path.to_path_buf(),
                line: None,
                message: format!("cannot read config: {e}"),
            }])
        })?;
        Config::parse(path, text)
    }

    pub fn parse(path: &Path, text: String) -> Result<Config, Problems> {
        let doc = Doc::parse_or_problem(path, text).map_err(|p| Problems(vec![p]))?;
        let mut r = Reporter::new(&doc);
        let cfg = read(&doc, &mut r);
        let mut problems = r.into_problems();
        problems.0.sort_by_key(|p| p.line.unwrap_or(0));
        match cfg {
            Some(cfg) if problems.is_empty() => Ok(cfg),
            _ => Err(problems),
        }
    }

    /// The grant for a recipe directory name, if any.
    pub fn grant_for(&self, recipe: &str) -> Option<&Grant> {
        self.grants.iter().find(|g| g.recipe == recipe)
    }

    pub fn repo_dir(&self) -> PathBuf {
        self.state_dir.join("repo")
    }
}

fn absolute(p: &str) -> PathBuf {
    let path = PathBuf::from(p);
    if path.is_absolute() {
        return path;
    }
    match std::env::current_dir() {
        Ok(cwd) => cwd.join(path),
        Err(_) => path,
    }
}

/// Go's `:8080` means every interface; Rust's socket APIs need a host.
pub fn normalise_addr(addr: &str) -> Result<String, String> {
    let full = if addr.starts_with(':') {
        format!("0.0.0.0{addr}")
    } else {
        addr.to_string()
    };
    let (host, port) = full
        .rsplit_once(':')
        .ok_or_else(|| format!("{addr:?} is not host:port (for example \":8080\")"))?;
    if port.parse::<u16>().is_err() {
        return Err(format!("{addr:?} has no valid port number"));
    }
    if host.is_empty() {
        return Err(format!("{addr:?} has an empty host"));
    }
    Ok(full)
}

fn required(
    r: &mut Reporter<'_>,
    sec: Option<&mut Section<'_>>,
    table: &str,
    key: &str,
) -> Option<String> {
    let Some(s) = sec else {
        r.push(None, format!("[{table}].{key} is required"));
        return None;
    };
    if !s.has(key) {
        r.push(s.line, format!("[{table}].{key} is required"));
        return None;
    }
    let v = s.string(r, key)?;
    if v.is_empty() {
        r.push(
            s.key_line(key),
            format!("[{table}].{key} must not be empty"),
        );
        return None;
    }
    Some(v)
}

fn read(doc: &Doc, r: &mut Reporter<'_>) -> Option<Config> {
    let mut root = Section::new(doc, String::new(), doc.root(), None);

    let mut manager = root.table(r, "manager");
    let mut repo = root.table(r, "repo");
    let mut signing = root.table(r, "signing");
    let upload = root.table(r, "upload");
    let http = root.table(r, "http");
    let mut poll = root.table(r, "poll");
    let key_entries = root.table_array(r, "signing_key");
    let grant_entries = root.table_array(r, "grant");
    let build = root.table(r, "build");
    let git = root.table(r, "git");
    let log = root.table(r, "log");
    let slurm = root.table(r, "slurm");
    root.finish(r);

    let id = required(r, manager.as_mut(), "manager", "id");
    let recipes_dir = required(r, manager.as_mut(), "manager", "recipes_dir");
    let state_dir = required(r, manager.as_mut(), "manager", "state_dir");
    if let Some(s) = manager {
        s.finish(r);
    }

    let repo_name = required(r, repo.as_mut(), "repo", "name");
    let repo_description = repo
        .as_mut()
        .and_then(|s| s.string(r, "description"))
        .unwrap_or_default();
    if let Some(s) = repo {
        s.finish(r);
    }

    let key_file = required(r, signing.as_mut(), "signing", "key_file");
    if let Some(s) = signing {
        s.finish(r);
    }

    let upload = read_upload(r, upload);
    let http = read_http(r, http);

    let default_interval = match poll.as_mut() {
        Some(p) if p.has("default_interval") => p.duration(r, "default_interval", MINUTE),
        Some(p) => {
            r.push(
                p.line,
                "[poll].default_interval is required (for example \"1h\")",
            );
            None
        }
        None => {
            r.push(
                None,
                "[poll].default_interval is required (for example \"1h\")",
            );
            None
        }
    };
    if let Some(p) = poll {
        p.finish(r);
    }

    let signing_keys = read_signing_keys(r, key_entries);
    let grants = read_grants(r, grant_entries, &signing_keys);
    let build = read_build(r, build);
    let wants_slurm = matches!(&build, Some(b) if b.executor == ExecutorKind::Slurm);
    let slurm = slurm::read_slurm(r, slurm, wants_slurm);
    let git = read_git(r, git);
    let log_level = read_log(r, log);

    Some(Config {
        path: doc.file.clone(),
        farm_id: id?,
        recipes_dir: absolute(&recipes_dir?),
        state_dir: absolute(&state_dir?),
        repo_name: repo_name?,
        repo_description,
        key_file: absolute(&key_file?),
        upload: upload?,
        http: http?,
        default_interval: default_interval?,
        signing_keys,
        grants,
        build: build?,
        git: git?,
        slurm: slurm?,
        log_level: log_level?,
    })
}

fn read_log(r: &mut Reporter<'_>, sec: Option<Section<'_>>) -> Option<Option<crate::log::Level>> {
    let Some(mut s) = sec else {
        return Some(None);
    };
    let mut ok = true;
    let mut level = None;
    if let Some(v) = s.string(r, "level") {
        match v.parse::<crate::log::Level>() {
            Ok(l) => level = Some(l),
            Err(e) => {
                r.push(s.key_line("level"), format!("[log].level: {e}"));
                ok = false;
            }
        }
    }
    s.finish(r);
    ok.then_some(level)
}

fn read_upload(r: &mut Reporter<'_>, sec: Option<Section<'_>>) -> Option<UploadConfig> {
    let mut cfg = UploadConfig {
        backend: UploadBackend::None,
        rclone: "rclone".into(),
        rclone_config: None,
        timeout: Duration::from_secs(30 * 60),
        retry_min: Duration::from_secs(30),
        retry_max: Duration::from_secs(30 * 60),
        once_attempts: 3,
        cache_control: true,
    };
    let Some(mut s) = sec else {
        return Some(cfg);
    };
    let mut ok = true;
    let backend = s.string(r, "backend").unwrap_or_default();
    let remote = s.string(r, "remote").unwrap_or_default();
    match backend.as_str() {
        "" | "none" => {}
        "rclone" => {
            if remote.is_empty() {
                r.push(
                    s.key_line("backend"),
                    "[upload].remote is required when backend is rclone (for example \"r2:pkgs.example.org\")",
                );
                ok = false;
            } else if remote.starts_with('-') {
                r.push(
                    s.key_line("remote"),
                    format!("[upload].remote {remote:?} must not begin with '-'"),
                );
                ok = false;
            } else {
                cfg.backend = UploadBackend::Rclone { remote };
            }
        }
        other => {
            r.push(
                s.key_line("backend"),
                format!("[upload].backend {other:?} not recognised (want one of: rclone, none, or empty)"),
            );
            ok = false;
        }
    }
    if let Some(p) = s.string(r, "rclone") {
        cfg.rclone = p;
    }
    if let Some(p) = s.string(r, "rclone_config") {
        if !p.is_empty() {
            cfg.rclone_config = Some(absolute(&p));
        }
    }
    if let Some(d) = s.duration(r, "timeout", SECOND) {
        cfg.timeout = d;
    }
    if let Some(d) = s.duration(r, "retry_min", SECOND) {
        cfg.retry_min = d;
    }
    if let Some(d) = s.duration(r, "retry_max", SECOND) {
        cfg.retry_max = d;
    }
    if cfg.retry_max < cfg.retry_min {
        r.push(
            s.key_line("retry_max"),
            "[upload].retry_max must not be less than [upload].retry_min",
        );
        ok = false;
    }
    if let Some(n) = s.integer(r, "once_attempts") {
        if (1..=100).contains(&n) {
            cfg.once_attempts = n as u32;
        } else {
            r.push(
                s.key_line("once_attempts"),
                format!("[upload].once_attempts {n} is out of range (1 to 100)"),
            );
            ok = false;
        }
    }
    if let Some(v) = s.bool(r, "cache_control") {
        cfg.cache_control = v;
    }
    s.finish(r);
    ok.then_some(cfg)
}

fn read_http(r: &mut Reporter<'_>, sec: Option<Section<'_>>) -> Option<HttpConfig> {
    let mut cfg = HttpConfig {
        addr: None,
        webhook_secret_file: None,
        max_connections: DEFAULT_HTTP_MAX_CONNECTIONS,
        read_timeout: DEFAULT_HTTP_READ_TIMEOUT,
    };
    let Some(mut s) = sec else {
        return Some(cfg);
    };
    let mut ok = true;
    if let Some(addr) = s.string(r, "addr") {
        if !addr.is_empty() {
            match normalise_addr(&addr) {
                Ok(a) => cfg.addr = Some(a),
                Err(e) => {
                    r.push(s.key_line("addr"), format!("[http].addr {e}"));
                    ok = false;
                }
            }
        }
    }
    if let Some(f) = s.string(r, "webhook_secret_file") {
        if !f.is_empty() {
            cfg.webhook_secret_file = Some(absolute(&f));
        }
    }
    if let Some(n) = s.integer(r, "max_connections") {
        if (1..=65536).contains(&n) {
            cfg.max_connections = n as usize;
        } else {
            r.push(
                s.key_line("max_connections"),
                format!("[http].max_connections {n} is out of range (1 to 65536)"),
            );
            ok = false;
        }
    }
    if let Some(d) = s.duration(r, "read_timeout", SECOND) {
        cfg.read_timeout = d;
    }
    s.finish(r);
    ok.then_some(cfg)
}

fn read_signing_keys(r: &mut Reporter<'_>, entries: Vec<Section<'_>>) -> Vec<SigningKeyEntry> {
    let mut out: Vec<SigningKeyEntry> = Vec::new();
    for mut e in entries {
        let name = e.string(r, "name").unwrap_or_default();
        let private = e.string(r, "private").unwrap_or_default();
        let pubkey_env = e.string(r, "pubkey_env").filter(|v| !v.is_empty());
        let line = e.line;
        if name.is_empty() {
            r.push(line, format!("{}: name is required", e.label));
        } else if out.iter().any(|k| k.name == name) {
            r.push(
                e.key_line("name"),
                format!("[[signing_key]] {name}: duplicate name"),
            );
        }
        if private.is_empty() {
            r.push(line, format!("[[signing_key]] {name}: private is required"));
        }
        if let Some(env) = &pubkey_env {
            if !is_env_name(env) {
                r.push(
                    e.key_line("pubkey_env"),
                    format!("[[signing_key]] {name}: pubkey_env {env:?} is not a valid environment variable name"),
                );
            }
        }
        e.finish(r);
        if !name.is_empty() && !private.is_empty() {
            out.push(SigningKeyEntry {
                name,
                private: absolute(&private),
                pubkey_env,
            });
        }
    }
    out
}

/// `123`, `64K`, `16G`: what `peipkg-build --limit-file-size` takes.
fn is_size(v: &str) -> bool {
    let digits = v
        .strip_suffix(['K', 'M', 'G', 'T', 'k', 'm', 'g', 't'])
        .unwrap_or(v);
    !digits.is_empty() && digits.len() <= 15 && digits.bytes().all(|b| b.is_ascii_digit())
}

fn is_env_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn read_grants(
    r: &mut Reporter<'_>,
    entries: Vec<Section<'_>>,
    keys: &[SigningKeyEntry],
) -> Vec<Grant> {
    let mut out: Vec<Grant> = Vec::new();
    let mut seen = BTreeSet::new();
    for mut e in entries {
        let recipe = e.string(r, "recipe").unwrap_or_default();
        let inject_pubkey = e.string_array(r, "inject_pubkey").unwrap_or_default();
        let sign = e.string_array(r, "sign").unwrap_or_default();
        let network = e.bool(r, "network").unwrap_or(false);
        if recipe.is_empty() {
            r.push(e.line, format!("{}: recipe is required", e.label));
        } else if !seen.insert(recipe.clone()) {
            r.push(
                e.key_line("recipe"),
                format!("[[grant]] {recipe}: duplicate recipe"),
            );
        }
        for k in &inject_pubkey {
            match keys.iter().find(|x| &x.name == k) {
                None => r.push(
                    e.key_line("inject_pubkey"),
                    format!(
                        "[[grant]] {recipe}: inject_pubkey references unknown signing key {k:?}"
                    ),
                ),
                Some(x) if x.pubkey_env.is_none() => r.push(
                    e.key_line("inject_pubkey"),
                    format!("[[grant]] {recipe}: inject_pubkey key {k:?} has no pubkey_env"),
                ),
                Some(_) => {}
            }
        }
        for k in &sign {
            if !keys.iter().any(|x| &x.name == k) {
                r.push(
                    e.key_line("sign"),
                    format!("[[grant]] {recipe}: sign references unknown signing key {k:?}"),
                );
            }
        }
        e.finish(r);
        if !recipe.is_empty() {
            out.push(Grant {
                recipe,
                inject_pubkey,
                sign,
                network,
            });
        }
    }
    out
}

/// Most builds a default config runs at once.
pub const DEFAULT_WORKERS_MAX: usize = 8;

/// `[build].workers` when the config does not say: one build per core, at
/// most [`DEFAULT_WORKERS_MAX`]. A farm of many small recipes spends most
/// of a build waiting for processes to start and files to be written, so
/// one worker left the machine idle (the reference's one worker took 1.5x
/// our time at 300 tiny recipes); the bound keeps a big machine from
/// running dozens of compilers at once by default.
pub fn default_workers() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, DEFAULT_WORKERS_MAX)
}

fn read_build(r: &mut Reporter<'_>, sec: Option<Section<'_>>) -> Option<BuildConfig> {
    let mut cfg = BuildConfig {
        workers: default_workers(),
        timeout: Duration::from_secs(2 * 3600),
        publish_timeout: Duration::from_secs(30 * 60),
        batch_max: 32,
        drain_timeout: Duration::from_secs(15 * 60),
        peipkg_build: "peipkg-build".into(),
        peipkg_repo: "peipkg-repo".into(),
        verify: true,
        log_retention: Duration::from_secs(30 * 24 * 3600),
        executor: ExecutorKind::Local,
        sandbox: SandboxPolicy::Required,
        limit_processes: None,
        limit_file_size: None,
        limit_address_space: None,
    };
    let Some(mut s) = sec else {
        return Some(cfg);
    };
    let mut ok = true;
    if let Some(n) = s.integer(r, "workers") {
        if (1..=64).contains(&n) {
            cfg.workers = n as usize;
        } else {
            r.push(
                s.key_line("workers"),
                format!("[build].workers {n} is out of range (1 to 64)"),
            );
            ok = false;
        }
    }
    if let Some(n) = s.integer(r, "batch_max") {
        if (1..=10_000).contains(&n) {
            cfg.batch_max = n as usize;
        } else {
            r.push(
                s.key_line("batch_max"),
                format!("[build].batch_max {n} is out of range (1 to 10000)"),
            );
            ok = false;
        }
    }
    if let Some(d) = s.duration(r, "timeout", SECOND) {
        cfg.timeout = d;
    }
    if let Some(d) = s.duration(r, "publish_timeout", SECOND) {
        cfg.publish_timeout = d;
    }
    if let Some(d) = s.duration(r, "drain_timeout", Duration::ZERO) {
        cfg.drain_timeout = d;
    }
    if let Some(d) = s.duration(r, "log_retention", Duration::from_secs(3600)) {
        cfg.log_retention = d;
    }
    for (key, slot) in [
        ("peipkg_build", &mut cfg.peipkg_build),
        ("peipkg_repo", &mut cfg.peipkg_repo),
    ] {
        if let Some(v) = s.string(r, key) {
            if v.is_empty() {
                r.push(s.key_line(key), format!("[build].{key} must not be empty"));
                ok = false;
            } else {
                *slot = v;
            }
        }
    }
    if let Some(v) = s.bool(r, "verify") {
        cfg.verify = v;
    }
    match s.string(r, "sandbox").as_deref() {
        None | Some("required") => {}
        Some("none") => cfg.sandbox = SandboxPolicy::None,
        Some(other) => {
            r.push(
                s.key_line("sandbox"),
                format!("[build].sandbox {other:?}: expected \"required\" or \"none\""),
            );
            ok = false;
        }
    }
    if let Some(n) = s.integer(r, "limit_processes") {
        if n >= 0 {
            cfg.limit_processes = Some(n as u64);
        } else {
            r.push(
                s.key_line("limit_processes"),
                format!("[build].limit_processes {n} must not be negative (0 = no limit)"),
            );
            ok = false;
        }
    }
    for (key, slot) in [
        ("limit_file_size", &mut cfg.limit_file_size),
        ("limit_address_space", &mut cfg.limit_address_space),
    ] {
        if let Some(v) = s.string(r, key) {
            if is_size(&v) {
                *slot = Some(v);
            } else {
                r.push(
                    s.key_line(key),
                    format!("[build].{key} {v:?}: expected a byte count with an optional K, M, G or T suffix, e.g. \"16G\" (\"0\" = no limit)"),
                );
                ok = false;
            }
        }
    }
    match slurm::read_executor(r, &mut s) {
        Some(e) => cfg.executor = e,
        None => ok = false,
    }
    s.finish(r);
    ok.then_some(cfg)
}

fn read_git(r: &mut Reporter<'_>, sec: Option<Section<'_>>) -> Option<GitConfig> {
    let mut cfg = GitConfig {
        program: "git".into(),
        ls_remote_timeout: Duration::from_secs(60),
        clone_timeout: Duration::from_secs(30 * 60),
        poll_concurrency: 4,
        jitter_percent: 10,
        allow_file_submodules: false,
    };
    let Some(mut s) = sec else {
        return Some(cfg);
    };
    let mut ok = true;
    if let Some(p) = s.string(r, "program") {
        cfg.program = p;
    }
    if let Some(d) = s.duration(r, "ls_remote_timeout", SECOND) {
        cfg.ls_remote_timeout = d;
    }
    if let Some(d) = s.duration(r, "clone_timeout", SECOND) {
        cfg.clone_timeout = d;
    }
    if let Some(n) = s.integer(r, "poll_concurrency") {
        if (1..=256).contains(&n) {
            cfg.poll_concurrency = n as usize;
        } else {
            r.push(
                s.key_line("poll_concurrency"),
                format!("[git].poll_concurrency {n} is out of range (1 to 256)"),
            );
            ok = false;
        }
    }
    if let Some(n) = s.integer(r, "jitter_percent") {
        if (0..=50).contains(&n) {
            cfg.jitter_percent = n as u32;
        } else {
            r.push(
                s.key_line("jitter_percent"),
                format!("[git].jitter_percent {n} is out of range (0 to 50)"),
            );
            ok = false;
        }
    }
    if let Some(v) = s.bool(r, "allow_file_submodules") {
        cfg.allow_file_submodules = v;
    }
    s.finish(r);
    ok.then_some(cfg)
}

#[cfg(test)]
mod tests;
