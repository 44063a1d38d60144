//! A package entry of the active and archive indexes (PSD-009 §6.2.3).

use serde::{Deserialize, Serialize};

use super::lenient::null_default;
use crate::documents::signature::is_sha256_hex;
use crate::identity::{Architecture, PackageName, Version};

/// One package in an index. Every member is always written (`""` or `[]`
/// when empty), except the optional members of the relation objects.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PackageEntry {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub version: String,
    #[serde(default, deserialize_with = "null_default")]
    pub architecture: String,
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_default")]
    pub license: String,
    #[serde(default, deserialize_with = "null_default")]
    pub homepage: String,
    #[serde(default, deserialize_with = "null_default")]
    pub dependencies: Vec<Dependency>,
    #[serde(default, deserialize_with = "null_default")]
    pub optional_dependencies: Vec<Dependency>,
    #[serde(default, deserialize_with = "null_default")]
    pub conflicts: Vec<Dependency>,
    #[serde(default, deserialize_with = "null_default")]
    pub provides: Vec<Provides>,
    #[serde(default, deserialize_with = "null_default")]
    pub replaces: Vec<Replaces>,
    #[serde(default, deserialize_with = "null_default")]
    pub side_effects: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub size_compressed: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub size_installed: u64,
    #[serde(default, deserialize_with = "null_default")]
    pub hash: Hash,
    #[serde(default, deserialize_with = "null_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_default")]
    pub build: BuildSubset,
}

impl PackageEntry {
    /// The index entry for a package (PSD-009 §6.2.3, §6.2.5): every
    /// manifest field copied as is, size and hash from the file, and the
    /// URL from the repository's template. One mapping for the publisher
    /// and the verifier, so an entry the verifier expects is byte for byte
    /// the one a publish writes.
    pub fn from_manifest(
        m: &crate::documents::Manifest,
        size_compressed: u64,
        sha256: &str,
        url: String,
    ) -> PackageEntry {
        // The relation objects are the manifest's own types (§6.2.3 copies
        // them member for member), so they are cloned, not mapped.
        PackageEntry {
            name: m.name.clone(),
            version: m.version.clone(),
            architecture: m.architecture.clone(),
            description: m.description.clone(),
            license: m.license.clone(),
            homepage: m.homepage.clone(),
            dependencies: m.dependencies.clone(),
            optional_dependencies: m.optional_dependencies.clone(),
            conflicts: m.conflicts.clone(),
            provides: m.provides.clone(),
            replaces: m.replaces.clone(),
            side_effects: m.side_effects.clone(),
            size_compressed,
            size_installed: m.size_installed,
            hash: Hash::sha256(sha256),
            url,
            build: BuildSubset {
                timestamp: m.build.timestamp.clone(),
                farm_id: m.build.farm_id.clone(),
            },
        }
    }
}

pub use crate::documents::manifest::{Dependency, Provides, Replaces};

/// The hash object (§6.2.6): SHA-256 of the `.peipkg` file as served.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Hash {
    #[serde(default, deserialize_with = "null_default")]
    pub algorithm: String,
    #[serde(default, deserialize_with = "null_default")]
    pub value: String,
}

impl Hash {
    /// A SHA-256 hash object from lowercase hex.
    pub fn sha256(hex: &str) -> Hash {
        Hash {
            algorithm: "sha256".to_string(),
            value: hex.to_string(),
        }
    }
}

/// The `build` subset the index keeps (§6.2.3): no `source_ref`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct BuildSubset {
    #[serde(default, deserialize_with = "null_default")]
    pub timestamp: String,
    #[serde(default, deserialize_with = "null_default")]
    pub farm_id: String,
}

impl PackageEntry {
    /// `<name>_<version>_<architecture>.peipkg` (§2.1.4).
    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}.peipkg",
            self.name, self.version, self.architecture
        )
    }

    /// `<name>_<version>_<architecture>`: how messages name the entry.
    pub fn label(&self) -> String {
        format!("{}_{}_{}", self.name, self.version, self.architecture)
    }

    /// Every MUST of §6.2.3/§6.2.6 the entry breaks, each prefixed with
    /// `at` (e.g. `archive entry 3`). The identity fields are checked with
    /// the chapter 2 rules; relation objects are checked for a valid name.
    pub fn validate(&self, at: &str) -> Vec<String> {
        let mut out = Vec::new();
        if let Err(e) = PackageName::parse(&self.name) {
            out.push(format!("{at}: name: {e}"));
        }
        if let Err(e) = Version::parse(&self.version) {
            out.push(format!("{at}: version: {e}"));
        }
        if let Err(e) = Architecture::parse(&self.architecture) {
            out.push(format!("{at}: architecture: {e}"));
        }
        if self.hash.algorithm != "sha256" {
            out.push(format!(
                "{at}: hash.algorithm is {:?}, must be \"sha256\" (PSD-009 §6.2.6)",
                self.hash.algorithm
            ));
        }
        if !is_sha256_hex(&self.hash.value) {
            out.push(format!(
                "{at}: hash.value {:?} is not 64 lowercase hex characters (PSD-009 §6.2.6)",
                self.hash.value
            ));
        }
        if self.url.is_empty() {
            out.push(format!("{at}: url is empty (PSD-009 §6.2.3)"));
        }
        for (member, list) in [
            ("dependencies", &self.dependencies),
            ("optional_dependencies", &self.optional_dependencies),
            ("conflicts", &self.conflicts),
        ] {
            for (i, d) in list.iter().enumerate() {
                if let Err(e) = PackageName::parse(&d.name) {
                    out.push(format!("{at}: {member}[{i}].name: {e}"));
                }
            }
        }
        out
    }
}
