//! The recipe roster: which recipes exist, and what the manager keeps of
//! each.
//!
//! A recipe is a directory under `recipes_dir` holding `peipkg.toml`; its ID
//! is the directory name. Whether the file is valid and what its fields mean
//! is peipkg-recipe's to decide, with the very reader peipkg-build uses, so
//! the farm never queues a recipe the build would refuse. This layer adds
//! the directory scan, the ID, a digest (so a reload can tell a changed
//! recipe) and the bookkeeping of broken recipes: each recipe loads on its
//! own, one broken file is reported and skipped while the rest keep working,
//! where the reference refused to start at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use peipkg_recipe::strict::{Problem, Problems};
use peipkg_recipe::RecipeError;
use sha2::{Digest as _, Sha256};

pub use peipkg_recipe::{check_git_url, SignStanza, Upstream, Watch};

pub const RECIPE_FILE: &str = "peipkg.toml";

/// A recipe file's SHA-256.
pub type Digest = [u8; 32];

#[derive(Debug, Clone)]
pub struct Recipe {
    pub id: String,
    pub path: PathBuf,
    /// `[[package]].name` values, in file order.
    pub packages: Vec<String>,
    pub upstream: Option<Upstream>,
    pub watch: Watch,
    /// `[[sign]]` stanzas, in file order; grants decide their keys
    /// (`sign_grant`).
    pub signs: Vec<SignStanza>,
    /// SHA-256 of the file, so a reload can tell a changed recipe (raw
    /// bytes: the roster of a large farm holds thousands).
    pub digest: Digest,
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
    // Read here rather than by peipkg_recipe::load: the digest is of the
    // bytes, so a reload can tell a changed recipe.
    let bytes = std::fs::read(&path).map_err(|source| {
        let read = RecipeError::Read {
            path: path.clone(),
            source,
        };
        problems(&path, read)
    })?;
    let digest: Digest = Sha256::digest(&bytes).into();
    let text = String::from_utf8(bytes)
        .map_err(|_| problems(&path, RecipeError::NotUtf8 { path: path.clone() }))?;
    parse_recipe(id, dir, &path, text, digest)
}

/// Reads recipe text with peipkg-recipe; `dir` is the recipe directory.
pub fn parse_recipe(
    id: &str,
    dir: &Path,
    path: &Path,
    text: String,
    digest: Digest,
) -> Result<Recipe, Problems> {
    let loaded =
        peipkg_recipe::parse(path, dir.to_path_buf(), text).map_err(|e| problems(path, e))?;
    let recipe = loaded.recipe;
    Ok(Recipe {
        id: id.to_string(),
        path: path.to_path_buf(),
        // Cloned, not `into_iter().map(..).collect()`: that would reuse the
        // stanzas' allocation (hundreds of bytes per recipe, kept for the
        // daemon's lifetime) for a few names.
        packages: recipe.packages.iter().map(|p| p.name.clone()).collect(),
        upstream: recipe.upstream,
        watch: recipe.watch,
        signs: recipe.signs,
        digest,
    })
}

/// The reader's verdict as the manager lists problems: one per line,
/// `file:line: message`.
fn problems(path: &Path, e: RecipeError) -> Problems {
    let one = |line, message| {
        Problems(vec![Problem {
            file: path.to_path_buf(),
            line,
            message,
        }])
    };
    match e {
        RecipeError::Syntax { error, .. } => {
            one(error.line, format!("invalid TOML: {}", error.message))
        }
        RecipeError::Invalid { problems, .. } => Problems(
            problems
                .into_iter()
                .map(|p| Problem {
                    file: path.to_path_buf(),
                    line: p.line,
                    message: p.message,
                })
                .collect(),
        ),
        RecipeError::Read { source, .. } => one(None, format!("cannot read recipe: {source}")),
        RecipeError::NotUtf8 { .. } => one(None, "recipe is not UTF-8 text".into()),
    }
}

#[cfg(test)]
mod tests;
