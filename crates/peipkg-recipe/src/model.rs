//! A recipe file (`peipkg.toml`), as plain data.
//!
//! Every item remembers the line it came from so that validation, which
//! runs after decoding, can still point the author at the right place.

use std::path::PathBuf;

use crate::glob::Glob;
use crate::upstream::{Upstream, Watch};

/// A loaded, validated recipe.
#[derive(Debug, Clone)]
pub struct Recipe {
    /// The recipe file as given on the command line.
    pub path: PathBuf,
    /// The absolute directory holding the recipe; `build_script` is resolved
    /// against it.
    pub dir: PathBuf,
    pub meta: Meta,
    pub packages: Vec<PackageStanza>,
    pub signs: Vec<SignStanza>,
    /// `[upstream]`, when the farm is to follow the project's tags.
    pub upstream: Option<Upstream>,
    /// `[watch]`; `present` is false without one.
    pub watch: Watch,
}

/// `[meta]`: facts shared by every stanza.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub line: usize,
    pub license: String,
    pub homepage: String,
    pub homepage_line: usize,
    /// Informational only; accepted and ignored.
    pub source: String,
    pub build_script: String,
    pub build_script_line: usize,
}

/// One `[[package]]` stanza: one output package.
#[derive(Debug, Clone, Default)]
pub struct PackageStanza {
    /// The line of the `[[package]]` header (or of the inline table).
    pub line: usize,
    pub name: String,
    pub name_line: usize,
    pub architecture: String,
    pub architecture_line: usize,
    pub description: String,
    pub description_line: usize,
    pub dependencies: Vec<DependencyEntry>,
    pub optional_dependencies: Vec<DependencyEntry>,
    pub conflicts: Vec<DependencyEntry>,
    pub provides: Vec<ProvidesEntry>,
    pub replaces: Vec<ReplacesEntry>,
    pub side_effects: Vec<Located<String>>,
    pub files: Vec<FilePattern>,
}

/// An entry of `dependencies`, `optional_dependencies` or `conflicts`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyEntry {
    pub line: usize,
    pub name: String,
    pub constraint: String,
    pub arch: String,
    /// Rewritten at build time to `= <the build's version>`.
    pub same_build: bool,
}

/// An entry of `provides`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProvidesEntry {
    pub line: usize,
    pub name: String,
    pub version: String,
}

/// An entry of `replaces`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReplacesEntry {
    pub line: usize,
    pub name: String,
    pub constraint: String,
}

/// One `[[sign]]` stanza: a staged ELF binary to sign with a named key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignStanza {
    pub line: usize,
    pub path: String,
    pub key: String,
}

/// A `files` glob with the line it was written on.
#[derive(Debug, Clone)]
pub struct FilePattern {
    pub line: usize,
    pub glob: Glob,
}

/// A value with the line it was written on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Located<T> {
    pub line: usize,
    pub value: T,
}

/// The dependency-like lists of a stanza, named as in the recipe and the
/// manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyField {
    Dependencies,
    OptionalDependencies,
    Conflicts,
}

impl DependencyField {
    pub const ALL: [DependencyField; 3] = [
        DependencyField::Dependencies,
        DependencyField::OptionalDependencies,
        DependencyField::Conflicts,
    ];

    pub fn key(self) -> &'static str {
        match self {
            DependencyField::Dependencies => "dependencies",
            DependencyField::OptionalDependencies => "optional_dependencies",
            DependencyField::Conflicts => "conflicts",
        }
    }
}

impl PackageStanza {
    pub fn dependency_list(&self, field: DependencyField) -> &[DependencyEntry] {
        match field {
            DependencyField::Dependencies => &self.dependencies,
            DependencyField::OptionalDependencies => &self.optional_dependencies,
            DependencyField::Conflicts => &self.conflicts,
        }
    }

    /// How messages refer to this stanza.
    pub fn label(&self, index: usize) -> String {
        if self.name.is_empty() {
            format!("[[package]] #{}", index + 1)
        } else {
            format!("[[package]] {:?}", self.name)
        }
    }
}
