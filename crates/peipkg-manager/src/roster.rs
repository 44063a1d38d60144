//! The recipe roster: which recipes exist and what the manager reads from
//! them.
//!
//! A recipe is a directory under `recipes_dir` holding `peipkg.toml`; its ID
//! is the directory name. The manager owns the `[upstream]` and `[watch]`
//! tables and reads them strictly (the reference silently ignored typos
//! such as `min_verison`). From `[[package]]` it reads only the names, which
//! dedup needs, and from `[[sign]]` the key names, which grants decide
//! (`sign_grant`); everything else belongs to `peipkg-build`. Each recipe loads
//! on its own: one broken file is reported and skipped while the rest keep
//! working, where the reference refused to start at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use peipkg_format::identity::Version;
use sha2::{Digest, Sha256};

use crate::config::schema::{Doc, Problem, Problems, Reporter, Section};
use crate::tag_version::{parse_min_version, TagPattern};

pub const RECIPE_FILE: &str = "peipkg.toml";

#[derive(Debug, Clone)]
pub struct Upstream {
    pub git: String,
    pub pattern: TagPattern,
    pub peios_revision: u64,
    pub submodules: bool,
    /// The floor as written, and parsed (with a synthetic revision 1).
    pub min_version: Option<(String, Version)>,
}

#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The recipe has a `[watch]` table. Without one, PSD-009 A.2 says the
    /// recipe is "built only on explicit operator request": it is not
    /// polled on a schedule, only when asked (`peipkg-manager poll`).
    pub present: bool,
    pub github_webhook: bool,
    pub poll_interval: Option<Duration>,
}

/// A `[[sign]]` stanza, as far as the manager cares: the build will need
/// the named key, which only a `[[grant]]` hands out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRef {
    pub path: String,
    pub key: String,
}

#[derive(Debug, Clone)]
pub struct Recipe {
    pub id: String,
    pub dir: PathBuf,
    pub path: PathBuf,
    /// `[[package]].name` values, in file order.
    pub packages: Vec<String>,
    pub upstream: Option<Upstream>,
    pub watch: Watch,
    /// `[[sign]]` stanzas, in file order.
    pub signs: Vec<SignRef>,
    /// SHA-256 of the file, so a reload can tell a changed recipe.
    pub digest: String,
}

impl Recipe {
    pub fn poll_interval(&self, default: Duration) -> Duration {
        self.watch.poll_interval.unwrap_or(default)
    }
}

/// Every recipe found, the broken ones with their problems.
#[derive(Debug, Clone, Default)]
pub struct Roster {
    pub dir: PathBuf,
    pub recipes: BTreeMap<String, Recipe>,
    pub broken: BTreeMap<String, Problems>,
    /// Entries that were passed over on purpose, with the reason.
    pub skipped: Vec<(String, String)>,
}

impl Roster {
    pub fn get(&self, id: &str) -> Option<&Recipe> {
        self.recipes.get(id)
    }

    /// IDs of every recipe, loaded or broken, sorted bytewise.
    pub fn all_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self
            .recipes
            .keys()
            .chain(self.broken.keys())
            .cloned()
            .collect();
        ids.sort();
        ids
    }

    /// Recipes polled on a schedule: an `[upstream]` and a `[watch]`.
    pub fn watched(&self) -> impl Iterator<Item = &Recipe> {
        self.recipes
            .values()
            .filter(|r| r.upstream.is_some() && r.watch.present)
    }

    /// Recipes with an `[upstream]` but no `[watch]`: polled only when an
    /// operator asks.
    pub fn on_request(&self) -> impl Iterator<Item = &Recipe> {
        self.recipes
            .values()
            .filter(|r| r.upstream.is_some() && !r.watch.present)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("read recipes dir {dir}: {source}")]
pub struct RosterError {
    pub dir: PathBuf,
    pub source: std::io::Error,
}

/// Scans `dir`. Only an unreadable directory is an error; a bad recipe
/// lands in [`Roster::broken`].
pub fn load_roster(dir: &Path) -> Result<Roster, RosterError> {
    let entries = std::fs::read_dir(dir).map_err(|source| RosterError {
        dir: dir.to_path_buf(),
        source,
    })?;
    let mut roster = Roster {
        dir: dir.to_path_buf(),
        ..Roster::default()
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RosterError {
            dir: dir.to_path_buf(),
            source,
        })?;
        names.push(entry);
    }
    names.sort_by_key(|e| e.file_name());
    for entry in names {
        let Some(id) = entry.file_name().to_str().map(str::to_string) else {
            roster.skipped.push((
                entry.file_name().to_string_lossy().into_owned(),
                "directory name is not UTF-8".into(),
            ));
            continue;
        };
        let kind = match entry.file_type() {
            Ok(k) => k,
            Err(e) => {
                roster.skipped.push((id, format!("cannot stat: {e}")));
                continue;
            }
        };
        if kind.is_symlink() {
            // As in the reference: the recipe ID is the real directory, so
            // two names cannot build the same recipe twice.
            if dir.join(&id).join(RECIPE_FILE).exists() {
                roster
                    .skipped
                    .push((id, "symlinked directory (not followed)".into()));
            }
            continue;
        }
        if !kind.is_dir() {
            continue;
        }
        let path = dir.join(&id).join(RECIPE_FILE);
        match std::fs::symlink_metadata(&path) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => {
                roster.broken.insert(
                    id,
                    Problems(vec![Problem {
                        file: path,
                        line: None,
                        message: format!("cannot stat recipe: {e}"),
                    }]),
                );
                continue;
            }
        }
        match load_recipe(&id, &dir.join(&id)) {
            Ok(r) => {
                roster.recipes.insert(id, r);
            }
            Err(p) => {
                roster.broken.insert(id, p);
            }
        }
    }
    Ok(roster)
}

/// Loads one recipe directory.
pub fn load_recipe(id: &str, dir: &Path) -> Result<Recipe, Problems> {
    let path = dir.join(RECIPE_FILE);
    let bytes = std::fs::read(&path).map_err(|e| {
        Problems(vec![Problem {
            file: path.clone(),
            line: None,
            message: format!("cannot read recipe: {e}"),
        }])
    })?;
    let digest = hex::encode(Sha256::digest(&bytes));
    let text = String::from_utf8(bytes).map_err(|_| {
        Problems(vec![Problem {
            file: path.clone(),
            line: None,
            message: "recipe is not UTF-8 text".into(),
        }])
    })?;
    parse_recipe(id, dir, &path, text, digest)
}

pub fn parse_recipe(
    id: &str,
    dir: &Path,
    path: &Path,
    text: String,
    digest: String,
) -> Result<Recipe, Problems> {
    let doc = Doc::parse(path, text).map_err(|p| Problems(vec![p]))?;
    let mut r = Reporter::new(&doc);
    let mut root = Section::new(&doc, String::new(), doc.root(), None);

    let packages = read_package_names(&mut r, &mut root);
    let signs = read_sign_refs(&mut r, &mut root);
    let upstream_sec = root.table(&mut r, "upstream");
    let watch_sec = root.table(&mut r, "watch");
    // Every other top-level table belongs to another tool (or a future
    // spec version) and is tolerated.
    let upstream = upstream_sec.and_then(|s| read_upstream(&mut r, s));
    let watch = watch_sec.map(|s| read_watch(&mut r, s)).unwrap_or_default();
    if packages.is_empty() {
        r.push(
            None,
            "recipe declares no [[package]] with a name; the manager needs the package names to tell what is already published",
        );
    }
    let mut problems = r.into_problems();
    if !problems.is_empty() {
        problems.0.sort_by_key(|p| p.line.unwrap_or(0));
        return Err(problems);
    }
    Ok(Recipe {
        id: id.to_string(),
        dir: dir.to_path_buf(),
        path: path.to_path_buf(),
        packages,
        upstream,
        watch,
        signs,
        digest,
    })
}

/// `[[sign]]` path and key; the rest of the stanza is peipkg-build's.
fn read_sign_refs(r: &mut Reporter<'_>, root: &mut Section<'_>) -> Vec<SignRef> {
    if !root.has("sign") {
        return Vec::new();
    }
    root.table_array(r, "sign")
        .into_iter()
        .map(|mut stanza| SignRef {
            path: stanza.string(r, "path").unwrap_or_default(),
            key: stanza.string(r, "key").unwrap_or_default(),
        })
        .collect()
}

fn read_package_names(r: &mut Reporter<'_>, root: &mut Section<'_>) -> Vec<String> {
    let mut names = Vec::new();
    if !root.has("package") {
        return names;
    }
    for mut stanza in root.table_array(r, "package") {
        let line = stanza.key_line("name");
        match stanza.string(r, "name") {
            Some(n) if !n.is_empty() => {
                if names.contains(&n) {
                    r.push(line, format!("[[package]] name {n:?} is declared twice"));
                } else {
                    names.push(n);
                }
            }
            Some(_) => r.push(line, format!("{}: name must not be empty", stanza.label)),
            None if !stanza.has("name") => {
                r.push(stanza.line, format!("{}: name is required", stanza.label))
            }
            None => {}
        }
        // The rest of the stanza is peipkg-build's to check.
    }
    names
}

fn read_upstream(r: &mut Reporter<'_>, mut s: Section<'_>) -> Option<Upstream> {
    let git = s.string(r, "git");
    let pattern_src = s.string(r, "tag_pattern");
    let revision = s.integer(r, "peios_revision");
    let submodules = s.bool(r, "submodules").unwrap_or(false);
    let min = s.string(r, "min_version");
    let mut ok = true;

    let git = match git {
        Some(g) => match check_git_url(&g) {
            Ok(()) => Some(g),
            Err(e) => {
                r.push(s.key_line("git"), format!("[upstream].git {e}"));
                ok = false;
                None
            }
        },
        None => {
            if !s.has("git") {
                r.push(
                    s.line,
                    "[upstream].git is required when [upstream] is present",
                );
            }
            ok = false;
            None
        }
    };
    let pattern = match pattern_src {
        Some(p) => match TagPattern::compile(&p) {
            Ok(t) => Some(t),
            Err(e) => {
                r.push(s.key_line("tag_pattern"), format!("[upstream].{e}"));
                ok = false;
                None
            }
        },
        None => {
            if !s.has("tag_pattern") {
                r.push(
                    s.line,
                    "[upstream].tag_pattern is required when [upstream] is present",
                );
            }
            ok = false;
            None
        }
    };
    let peios_revision = match revision {
        // The docs call it required; the reference defaulted to 1. Accept
        // its absence for compatibility, refuse values that are not a
        // PSD-009 revision.
        None if !s.has("peios_revision") => 1,
        None => {
            ok = false;
            1
        }
        Some(n) if n >= 1 => n as u64,
        Some(n) => {
            r.push(
                s.key_line("peios_revision"),
                format!("[upstream].peios_revision {n} must be 1 or greater"),
            );
            ok = false;
            1
        }
    };
    let min_version = match min {
        Some(m) => match parse_min_version(&m) {
            Ok(v) => Some((m, v)),
            Err(e) => {
                r.push(s.key_line("min_version"), format!("[upstream].{e}"));
                ok = false;
                None
            }
        },
        None => None,
    };
    s.finish(r);
    if !ok {
        return None;
    }
    Some(Upstream {
        git: git?,
        pattern: pattern?,
        peios_revision,
        submodules,
        min_version,
    })
}

/// The URL is handed to git as an argument; refuse what git could read as
/// an option, and what cannot be a URL or path at all.
pub fn check_git_url(url: &str) -> Result<(), String> {
    if url.is_empty() {
        return Err("must not be empty".into());
    }
    if url.starts_with('-') {
        return Err(format!(
            "{url:?} must not begin with '-' (git would read it as an option)"
        ));
    }
    if url.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(format!("{url:?} contains whitespace or control characters"));
    }
    if url.starts_with("ext::")
        || url.contains("::") && url.split("::").next().is_some_and(|p| !p.contains('/'))
    {
        return Err(format!(
            "{url:?} uses a git remote helper transport (<transport>::), which is not allowed"
        ));
    }
    Ok(())
}

fn read_watch(r: &mut Reporter<'_>, mut s: Section<'_>) -> Watch {
    let github_webhook = s.bool(r, "github_webhook").unwrap_or(false);
    let poll_interval = s.duration(r, "poll_interval", Duration::from_secs(60));
    s.finish(r);
    Watch {
        present: true,
        github_webhook,
        poll_interval,
    }
}

#[cfg(test)]
mod tests;
