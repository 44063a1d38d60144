//! The `build` pipeline: recipe + source tree -> one `.peipkg` per stanza.
//!
//! Order matters and differs from the reference on purpose: every input is
//! checked (flags, keys, timestamp, version, the whole recipe, the build
//! script's location, the source and output paths) before the build script
//! runs, and every package is checked (partition, layout, manifest) before
//! the first one is written, so a failed build leaves neither a staging
//! directory (unless `--keep-failed`) nor a partial set of packages behind.

use std::path::{Path, PathBuf};
use std::time::Duration;

use peipkg_format::archive::{write_sorted_package, ArchiveError, PackOptions};
use peipkg_format::documents::timestamp::{parse_build_timestamp, TimestampError};
use peipkg_format::documents::Manifest;
use peipkg_format::identity::{
    package_file_name, Architecture, IdentityError, PackageName, Version,
};
use peipkg_format::keys::{KeyError, SigningKey};

use crate::layout_check::{LayoutCheck, LayoutError};
use crate::limits::{Limits, ProcessLimit};
use crate::manifest_build::{manifest_for, BuildFacts};
use crate::partition::{Claims, PartitionCheck, PartitionError, SelectedPayload};
use crate::recipe::{self, Recipe, RecipeError};
use crate::sandbox::{self, Sandbox, SandboxMode};
use crate::script::{self, BuildEnvError, ScriptError, ScriptRun};
use crate::sign_stanzas::{self, SignStanzaError};
use crate::signals;
use crate::staging::Staging;
use crate::walk::{Walk, WalkError};

/// Where warnings and notes go; the CLI prints them to stderr.
pub trait Reporter {
    /// A rule departure or suspicious input that does not stop the build.
    fn warning(&mut self, message: &str);
    /// Information the operator asked for or needs (e.g. a kept directory).
    fn note(&mut self, message: &str);
}

/// Collects messages; handy for tests and library callers.
#[derive(Debug, Default, Clone)]
pub struct CollectReporter {
    pub warnings: Vec<String>,
    pub notes: Vec<String>,
}

impl Reporter for CollectReporter {
    fn warning(&mut self, message: &str) {
        self.warnings.push(message.to_string());
    }
    fn note(&mut self, message: &str) {
        self.notes.push(message.to_string());
    }
}

/// Everything `peipkg-build build` takes.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    pub recipe: PathBuf,
    pub source: PathBuf,
    pub version: String,
    pub source_ref: String,
    pub farm_id: String,
    pub timestamp: String,
    pub out: PathBuf,
    pub sign_key: Option<PathBuf>,
    /// Raw `--build-env NAME=VALUE` values.
    pub build_env: Vec<String>,
    /// Raw `--binary-sign-key NAME=PATH` values.
    pub binary_sign_keys: Vec<String>,
    pub keep_failed: bool,
    pub timeout: Option<Duration>,
    pub zstd_level: i32,
    /// `--sandbox`.
    pub sandbox: SandboxMode,
    /// `--sandbox-network`: the build keeps the host's network.
    pub sandbox_network: bool,
    /// `--sandbox-hide`: more paths the build must not see (the key files
    /// given on the command line are always hidden).
    pub sandbox_hide: Vec<PathBuf>,
    /// `--limit-processes`, `--limit-file-size`, `--limit-address-space`.
    pub limits: Limits,
}

#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error(transparent)]
    BuildEnv(#[from] BuildEnvError),
    #[error("--binary-sign-key {0:?}: expected NAME=PATH")]
    BinarySignKeySyntax(String),
    #[error("--binary-sign-key {0:?}: given more than once")]
    BinarySignKeyDuplicate(String),
    #[error("--binary-sign-key {name}: {source}")]
    BinarySignKey { name: String, source: KeyError },
    #[error("--zstd-level {0} is out of range; zstd levels run from 1 (fastest) to 22 (smallest)")]
    ZstdLevel(i64),
    #[error("--timestamp: {0}")]
    Timestamp(#[from] TimestampError),
    #[error("--timestamp {0:?}: expected exactly YYYY-MM-DDTHH:MM:SSZ (RFC 3339 in UTC, upper-case 'T' and 'Z', whole seconds), e.g. 2026-05-06T12:00:00Z")]
    TimestampShape(String),
    #[error("--version: {0}")]
    Version(#[source] IdentityError),
    #[error(transparent)]
    Recipe(#[from] RecipeError),
    #[error(transparent)]
    BinarySign(#[from] SignStanzaError),
    #[error("[meta].build_script {script:?}: {reason}")]
    BuildScript { script: String, reason: String },
    #[error("--sign-key: {0}")]
    SignKey(#[source] KeyError),
    #[error("--source {path}: {reason}")]
    Source { path: PathBuf, reason: String },
    #[error("--out {path}: {reason}")]
    Out { path: PathBuf, reason: String },
    #[error("--staged {path}: {reason}")]
    Staged { path: PathBuf, reason: String },
    #[error("package {name:?}: {source}")]
    FileName { name: String, source: IdentityError },
    #[error("create staging directory: {0}")]
    Staging(#[source] std::io::Error),
    #[error(transparent)]
    Script(#[from] ScriptError),
    #[error("walk the staged tree: {0}")]
    Walk(#[from] WalkError),
    #[error(transparent)]
    Partition(#[from] PartitionError),
    #[error(transparent)]
    Layout(#[from] LayoutError),
    #[error("package {name:?}: the manifest breaks PSD-009 rules:\n  {}", .errors.join("\n  "))]
    Manifest { name: String, errors: Vec<String> },
    #[error("package {name:?}: {source}")]
    Write { name: String, source: ArchiveError },
    #[error("interrupted by {}", signals::name(*.0))]
    Interrupted(i32),
    #[error("--sandbox bwrap: {0}")]
    SandboxUnusable(#[source] sandbox::Unusable),
}

/// Which part of a build a request is for: the whole of it, or one side
/// of the split a cluster executor uses (`stage` runs the script on a build
/// node without any key; `seal` signs, partitions and packs on the farm
/// host). See `crate::split`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    Whole,
    Stage,
    Seal,
}

/// Inputs checked and loaded; nothing has been created yet.
pub(crate) struct Prepared {
    recipe: Recipe,
    script: PathBuf,
    source: PathBuf,
    out: PathBuf,
    env_extra: Vec<(String, String)>,
    epoch: i64,
    facts: BuildFacts,
    signing_key: Option<SigningKey>,
    /// `--binary-sign-key` keys by name, for `[[sign]]`.
    binary_keys: Vec<(String, SigningKey)>,
    /// One output file name per stanza.
    file_names: Vec<String>,
    sandbox: Option<Sandbox>,
}

/// Runs a whole build. Returns the absolute paths written, in stanza order.
pub fn build(req: &BuildRequest, reporter: &mut dyn Reporter) -> Result<Vec<PathBuf>, BuildError> {
    let prepared = prepare(req, reporter)?;
    signals::install();
    let staging = Staging::create().map_err(BuildError::Staging)?;
    match run_staged(&prepared, &staging, req, reporter) {
        Ok(written) => {
            if let Err(e) = staging.remove() {
                reporter.warning(&format!("could not remove the staging directory: {e}"));
            }
            Ok(written)
        }
        Err(err) => {
            if req.keep_failed {
                let kept = staging.keep();
                reporter.note(&format!(
                    "kept the staging directory of the failed build: {} (installed tree in destdir/, script working directory in work/)",
                    kept.display()
                ));
            }
            Err(err)
        }
    }
}

fn prepare(req: &BuildRequest, reporter: &mut dyn Reporter) -> Result<Prepared, BuildError> {
    prepare_phase(req, Phase::Whole, reporter)
}

/// Checks and loads a request for `phase`: `Stage` has no keys (they are
/// asked for at `Seal`) and no output directory; `Seal` has no source.
pub(crate) fn prepare_phase(
    req: &BuildRequest,
    phase: Phase,
    reporter: &mut dyn Reporter,
) -> Result<Prepared, BuildError> {
    let env_extra = script::parse_build_env(&req.build_env)?;
    let binary_keys = load_binary_sign_keys(&req.binary_sign_keys)?;
    if !(1..=22).contains(&req.zstd_level) {
        return Err(BuildError::ZstdLevel(i64::from(req.zstd_level)));
    }
    check_timestamp_shape(&req.timestamp)?;
    let epoch = parse_build_timestamp(&req.timestamp)?;
    let version = Version::parse(&req.version).map_err(BuildError::Version)?;
    let canonical_version = version.to_string();
    if canonical_version != req.version {
        reporter.warning(&format!(
            "--version {:?} is written in its canonical form {canonical_version:?}",
            req.version
        ));
    }

    let loaded = recipe::load(&req.recipe)?;
    for warning in &loaded.warnings {
        reporter.warning(warning);
    }
    let recipe = loaded.recipe;

    // A missing key is found before the script runs, not after an hour
    // of building.
    let signs = if phase == Phase::Stage {
        &[][..]
    } else {
        &recipe.signs[..]
    };
    for (i, sign) in signs.iter().enumerate() {
        if !binary_keys.iter().any(|(name, _)| *name == sign.key) {
            return Err(SignStanzaError::MissingKey {
                index: i + 1,
                path: sign.path.clone(),
                key: sign.key.clone(),
            }
            .into());
        }
    }
    for (name, _) in &binary_keys {
        if !recipe.signs.iter().any(|s| s.key == *name) {
            reporter.warning(&format!(
                "--binary-sign-key {name}: no [[sign]] stanza uses this key"
            ));
        }
    }

    let script = locate_build_script(&recipe)?;
    let signing_key = match &req.sign_key {
        Some(path) => Some(SigningKey::load(path).map_err(BuildError::SignKey)?),
        None => None,
    };
    let source = if phase == Phase::Seal {
        PathBuf::new()
    } else {
        absolute(&req.source).map_err(|e| BuildError::Source {
            path: req.source.clone(),
            reason: e.to_string(),
        })?
    };
    match std::fs::metadata(&source) {
        _ if phase == Phase::Seal => {}
        Ok(m) if m.is_dir() => {}
        Ok(_) => {
            return Err(BuildError::Source {
                path: source,
                reason: "is not a directory".into(),
            })
        }
        Err(e) => {
            return Err(BuildError::Source {
                path: source,
                reason: e.to_string(),
            })
        }
    }
    let out = if phase == Phase::Stage {
        PathBuf::new()
    } else {
        let out = absolute(&req.out).map_err(|e| BuildError::Out {
            path: req.out.clone(),
            reason: e.to_string(),
        })?;
        check_out_dir(&out)?;
        out
    };

    let mut file_names = Vec::with_capacity(recipe.packages.len());
    for stanza in &recipe.packages {
        let file_name = |e| BuildError::FileName {
            name: stanza.name.clone(),
            source: e,
        };
        let name = PackageName::parse(&stanza.name).map_err(file_name)?;
        let arch = Architecture::parse(&stanza.architecture).map_err(file_name)?;
        file_names.push(package_file_name(&name, &version, &arch));
    }

    // Sealing runs no script, so it needs no sandbox.
    let sandbox = if phase == Phase::Seal {
        None
    } else {
        resolve_sandbox(req, reporter)?
    };

    Ok(Prepared {
        recipe,
        script,
        source,
        out,
        sandbox,
        env_extra,
        epoch,
        facts: BuildFacts {
            version: canonical_version,
            timestamp: req.timestamp.clone(),
            farm_id: req.farm_id.clone(),
            source_ref: req.source_ref.clone(),
        },
        signing_key,
        binary_keys,
        file_names,
    })
}

fn run_staged(
    p: &Prepared,
    staging: &Staging,
    req: &BuildRequest,
    reporter: &mut dyn Reporter,
) -> Result<Vec<PathBuf>, BuildError> {
    let destdir = staging.destdir();
    run_script(p, &destdir, &staging.workdir(), req, reporter)?;
    seal_tree(p, &destdir, req, reporter)
}

/// Runs the build script with `destdir` as `$DESTDIR` and `workdir` as its
/// working directory.
pub(crate) fn run_script(
    p: &Prepared,
    destdir: &Path,
    workdir: &Path,
    req: &BuildRequest,
    reporter: &mut dyn Reporter,
) -> Result<(), BuildError> {
    let caller_path = std::env::var("PATH").ok();
    let mut env = script::script_env(
        &p.source,
        destdir,
        p.epoch,
        caller_path.as_deref(),
        &p.env_extra,
    );
    if p.sandbox.is_some() {
        for (name, value) in env.iter_mut() {
            if name == "PATH" {
                *value = script::sandbox_path(value);
            }
        }
        let contract = env.len() - p.env_extra.len();
        env.splice(
            contract..contract,
            script::SANDBOX_ENV
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
    }
    let (process_limit, warning) = ProcessLimit::set_up(&req.limits);
    if let Some(warning) = warning {
        reporter.warning(&warning);
    }
    script::run(&ScriptRun {
        script: &p.script,
        workdir,
        env: &env,
        timeout: req.timeout,
        sandbox: p.sandbox.as_ref(),
        source: &p.source,
        destdir,
        limits: req.limits,
        process_limit: &process_limit,
    })?;
    drop(process_limit);
    check_interrupt()
}

/// Everything after the script, over the tree in `destdir`: `[[sign]]`,
/// the partition and layout checks, the manifests, and the packages.
pub(crate) fn seal_tree(
    p: &Prepared,
    destdir: &Path,
    req: &BuildRequest,
    reporter: &mut dyn Reporter,
) -> Result<Vec<PathBuf>, BuildError> {
    // The script was the last thing to change the staged files; sign them
    // before anything is hashed into a package.
    sign_stanzas::apply(destdir, &p.recipe.signs, &p.binary_keys)?;
    check_interrupt()?;

    // Pass 1 over the staged tree: owners, orphans, overlaps and layout,
    // holding no per-entry state. Pass 2 (below) walks it again per package
    // and streams the entries to the writer, so memory stays flat however
    // many files the build installs.
    let stanzas = &p.recipe.packages;
    let mut walk = Walk::new(destdir)?;
    let mut split = PartitionCheck::new(stanzas);
    let mut layout = LayoutCheck::for_stanzas(stanzas);
    for entry in walk.by_ref() {
        let entry = entry?;
        let owner = split.owner(&entry);
        layout.offer(&entry, &owner, |_, _| {});
    }
    walk.finish()?;
    for warning in split.finish()? {
        reporter.warning(&warning);
    }
    for warning in layout.empty_payload_warnings() {
        reporter.warning(&warning);
    }
    layout.finish()?;

    let mut manifests: Vec<Manifest> = Vec::with_capacity(p.recipe.packages.len());
    for stanza in &p.recipe.packages {
        let manifest = manifest_for(&p.recipe.meta, stanza, &p.facts);
        let report = manifest.validate();
        if !report.is_ok() {
            return Err(BuildError::Manifest {
                name: stanza.name.clone(),
                errors: report.errors,
            });
        }
        manifests.push(manifest);
    }
    check_interrupt()?;

    std::fs::create_dir_all(&p.out).map_err(|e| BuildError::Out {
        path: p.out.clone(),
        reason: format!("cannot create the output directory: {e}"),
    })?;
    let opts = PackOptions {
        zstd_level: req.zstd_level,
        signing_key: p.signing_key.clone(),
    };
    let mut written: Vec<PathBuf> = Vec::with_capacity(manifests.len());
    let claims = Claims::new(stanzas);
    for (index, (manifest, file_name)) in manifests.iter().zip(&p.file_names).enumerate() {
        let path = p.out.join(file_name);
        let outcome = check_interrupt().and_then(|()| {
            let entries =
                SelectedPayload::new(Walk::new(destdir)?, index, |e| claims.owner(e, None));
            write_sorted_package(manifest, entries, destdir, &opts, &path).map_err(|source| {
                BuildError::Write {
                    name: manifest.name.clone(),
                    source,
                }
            })
        });
        match outcome {
            Ok(done) => written.push(done.path),
            Err(err) => {
                // All or nothing: a half-published recipe (runtime without
                // its -dev, say) is worse than none.
                for path in &written {
                    let _ = std::fs::remove_file(path);
                }
                return Err(err);
            }
        }
    }
    Ok(written)
}

/// The one spelling of a build timestamp that every consumer reads the same
/// way. RFC 3339 parsers differ on a space or lower-case `t`/`z`; the
/// timestamp is signed into every package, so accept only the strict form.
fn check_timestamp_shape(ts: &str) -> Result<(), BuildError> {
    let b = ts.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    let ok = b.len() == 20
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && b[10] == b'T'
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && b[19] == b'Z';
    // Offsets and fractions are left to the format library, whose messages
    // name those rules precisely.
    if ok || !ts.ends_with('Z') || ts.contains('.') {
        Ok(())
    } else {
        Err(BuildError::TimestampShape(ts.to_string()))
    }
}

pub(crate) fn check_interrupt() -> Result<(), BuildError> {
    match signals::pending() {
        Some(signal) => Err(BuildError::Interrupted(signal)),
        None => Ok(()),
    }
}

/// Decides whether the build script runs in bubblewrap, and what it hides.
fn resolve_sandbox(
    req: &BuildRequest,
    reporter: &mut dyn Reporter,
) -> Result<Option<Sandbox>, BuildError> {
    let bwrap = match req.sandbox {
        SandboxMode::None => return Ok(None),
        SandboxMode::Bwrap => sandbox::probe().map_err(BuildError::SandboxUnusable)?,
        SandboxMode::Auto => match sandbox::probe() {
            Ok(bwrap) => bwrap,
            Err(why) => {
                reporter.warning(&format!(
                    "building WITHOUT a sandbox: {why}; the build script can read this host's files and keys (use --sandbox bwrap to require one, --sandbox none to silence this)"
                ));
                return Ok(None);
            }
        },
    };
    let mut hide: Vec<PathBuf> = req.sandbox_hide.clone();
    hide.extend(req.sign_key.iter().cloned());
    hide.extend(
        req.binary_sign_keys
            .iter()
            .filter_map(|arg| arg.split_once('='))
            .map(|(_, path)| PathBuf::from(path)),
    );
    Ok(Some(Sandbox {
        bwrap,
        network: req.sandbox_network,
        hide,
    }))
}

fn load_binary_sign_keys(args: &[String]) -> Result<Vec<(String, SigningKey)>, BuildError> {
    let mut out: Vec<(String, SigningKey)> = Vec::new();
    for arg in args {
        let (name, path) = arg
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| BuildError::BinarySignKeySyntax(arg.clone()))?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(BuildError::BinarySignKeyDuplicate(name.to_string()));
        }
        let key =
            SigningKey::load(Path::new(path)).map_err(|source| BuildError::BinarySignKey {
                name: name.to_string(),
                source,
            })?;
        out.push((name.to_string(), key));
    }
    Ok(out)
}

/// The build script's absolute path, which must resolve (symlinks
/// included) to a regular file inside the recipe directory.
fn locate_build_script(recipe: &Recipe) -> Result<PathBuf, BuildError> {
    let raw = &recipe.meta.build_script;
    let fail = |reason: String| BuildError::BuildScript {
        script: raw.clone(),
        reason,
    };
    let joined = recipe.dir.join(raw);
    let resolved =
        std::fs::canonicalize(&joined).map_err(|e| fail(format!("{}: {e}", joined.display())))?;
    let dir = std::fs::canonicalize(&recipe.dir)
        .map_err(|e| fail(format!("recipe directory {}: {e}", recipe.dir.display())))?;
    if !resolved.starts_with(&dir) {
        return Err(fail(format!(
            "resolves to {}, outside the recipe directory {}",
            resolved.display(),
            dir.display()
        )));
    }
    if !resolved.is_file() {
        return Err(fail(format!(
            "{} is not a regular file",
            resolved.display()
        )));
    }
    Ok(resolved)
}

fn check_out_dir(out: &Path) -> Result<(), BuildError> {
    let mut probe = Some(out);
    // The nearest existing ancestor must be a directory, or creating the
    // output directory later would fail after a whole build.
    while let Some(p) = probe {
        match std::fs::metadata(p) {
            Ok(m) if m.is_dir() => return Ok(()),
            Ok(_) => {
                return Err(BuildError::Out {
                    path: out.to_path_buf(),
                    reason: if p == out {
                        "exists and is not a directory".into()
                    } else {
                        format!("{} exists and is not a directory", p.display())
                    },
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => probe = p.parent(),
            Err(e) => {
                return Err(BuildError::Out {
                    path: out.to_path_buf(),
                    reason: e.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// Absolute without resolving symlinks (as the reference does), and
/// without requiring the path to exist.
fn absolute(path: &Path) -> std::io::Result<PathBuf> {
    std::path::absolute(path)
}
