//! The recipe file (`peipkg.toml`): its model, a strict reader that keeps
//! every item's line, and validation.
//!
//! Two programs read recipes: peipkg-build builds from one, peipkg-manager
//! decides from the same file what to watch, what is published and which
//! keys a build needs. When each had its own reader (on different TOML
//! versions) a recipe one accepted could be refused by the other, and the
//! farm only found out after fetching sources. This crate is the one place
//! that decides whether a recipe is valid and what each field means; the
//! identity rules it applies (names, versions, constraints) are
//! peipkg-format's.
//!
//! Validation happens entirely at load time, before any build script runs,
//! so a recipe mistake costs seconds rather than a full build, and no
//! package of a multi-package recipe is written when a later stanza is
//! wrong (the reference tool finds some of these mid-way through writing).
//! Every problem found is reported at once, each with its line, in line
//! order.

mod decode;
pub mod glob;
pub mod model;
pub mod strict;
pub mod tag_version;
pub mod upstream;
mod validate;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::{
    DependencyEntry, DependencyField, FilePattern, Located, Meta, PackageStanza, ProvidesEntry,
    Recipe, ReplacesEntry, SignStanza,
};
pub use upstream::{check_git_url, Upstream, Watch};

/// One thing wrong with a recipe, at a line when we know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: Option<usize>,
    pub message: String,
}

/// A recipe that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RecipeError {
    #[error("read recipe {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("recipe {path} is not valid UTF-8 text")]
    NotUtf8 { path: PathBuf },
    #[error("recipe {path} is not valid TOML: {}", .error.detail)]
    Syntax {
        path: PathBuf,
        error: strict::SyntaxError,
    },
    #[error("{}", render_problems(.path, .problems))]
    Invalid {
        path: PathBuf,
        problems: Vec<Problem>,
    },
}

fn render_problems(path: &Path, problems: &[Problem]) -> String {
    let count = match problems.len() {
        1 => "1 problem".to_string(),
        n => format!("{n} problems"),
    };
    let mut out = format!("recipe {} is invalid ({count}):", path.display());
    for p in problems {
        out.push_str("\n  ");
        out.push_str(&AtLine(path, p).to_string());
    }
    out
}

/// `path:line: message`, the form editors and terminals make clickable.
struct AtLine<'a>(&'a Path, &'a Problem);

impl fmt::Display for AtLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1.line {
            Some(line) => write!(f, "{}:{line}: {}", self.0.display(), self.1.message),
            None => write!(f, "{}: {}", self.0.display(), self.1.message),
        }
    }
}

/// A recipe that loaded, plus the rule departures that are tolerated
/// (each already phrased for the operator, with the file and line).
#[derive(Debug, Clone)]
pub struct LoadedRecipe {
    pub recipe: Recipe,
    pub warnings: Vec<String>,
}

/// Reads, decodes and validates the recipe at `path`.
pub fn load(path: &Path) -> Result<LoadedRecipe, RecipeError> {
    let bytes = std::fs::read(path).map_err(|source| RecipeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|_| RecipeError::NotUtf8 {
        path: path.to_path_buf(),
    })?;
    let dir = recipe_dir(path).map_err(|source| RecipeError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(path, dir, text)
}

/// Decodes and validates recipe text; `path` is used in messages and
/// `dir` is the directory `build_script` is relative to.
pub fn parse(path: &Path, dir: PathBuf, text: String) -> Result<LoadedRecipe, RecipeError> {
    let doc = strict::Doc::parse(path, text).map_err(|error| RecipeError::Syntax {
        path: path.to_path_buf(),
        error,
    })?;
    let mut problems = Vec::new();
    let decoded = decode::decode(&doc, &mut problems);
    let mut notes = Vec::new();
    let recipe = validate::validate(path, dir, decoded, &mut problems, &mut notes);
    // In line order (problems about the whole file, such as a missing
    // table, last), so both programs name the same first problem.
    problems.sort_by_key(|p| p.line.unwrap_or(usize::MAX));
    if !problems.is_empty() {
        return Err(RecipeError::Invalid {
            path: path.to_path_buf(),
            problems,
        });
    }
    let warnings = notes.iter().map(|p| AtLine(path, p).to_string()).collect();
    Ok(LoadedRecipe { recipe, warnings })
}

fn recipe_dir(path: &Path) -> std::io::Result<PathBuf> {
    let absolute = std::path::absolute(path)?;
    Ok(absolute
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("/")))
}

#[cfg(test)]
mod tests;
