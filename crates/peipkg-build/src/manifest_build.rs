//! Recipe stanza + build facts -> the package manifest.
//!
//! Relationship lists are emitted sorted by name (PSD-009 §4.1.7 requires
//! it; recipes may list them in any order), `same_build` becomes
//! `= <version>`, and `side_effects` keep the recipe's order, as the
//! reference does. Everything here was already validated when the recipe
//! loaded; [`Manifest::validate`] is still run on the result as a last
//! check that what we are about to sign is a valid manifest.

use peipkg_format::documents::{BuildInfo, Dependency, Manifest, Provides, Replaces};

use crate::recipe::{DependencyEntry, Meta, PackageStanza};

/// The per-build facts every manifest of one build shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildFacts {
    /// The `--version` text, used verbatim (as the reference does) in the
    /// manifest, in `same_build` constraints and in file names.
    pub version: String,
    pub timestamp: String,
    pub farm_id: String,
    pub source_ref: String,
}

/// Builds the manifest for one stanza. `size_installed` is left at 0; the
/// archive writer computes it from the payload.
pub fn manifest_for(meta: &Meta, stanza: &PackageStanza, facts: &BuildFacts) -> Manifest {
    let dependencies = |list: &[DependencyEntry]| {
        let mut out: Vec<Dependency> = list
            .iter()
            .map(|d| Dependency {
                name: d.name.clone(),
                constraint: if d.same_build {
                    format!("= {}", facts.version)
                } else {
                    d.constraint.clone()
                },
                arch: d.arch.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
        out
    };
    let mut provides: Vec<Provides> = stanza
        .provides
        .iter()
        .map(|p| Provides {
            name: p.name.clone(),
            version: p.version.clone(),
        })
        .collect();
    provides.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    let mut replaces: Vec<Replaces> = stanza
        .replaces
        .iter()
        .map(|r| Replaces {
            name: r.name.clone(),
            constraint: r.constraint.clone(),
        })
        .collect();
    replaces.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));

    Manifest {
        schema_version: 1,
        name: stanza.name.clone(),
        version: facts.version.clone(),
        architecture: stanza.architecture.clone(),
        description: stanza.description.clone(),
        license: meta.license.clone(),
        homepage: meta.homepage.clone(),
        dependencies: dependencies(&stanza.dependencies),
        optional_dependencies: dependencies(&stanza.optional_dependencies),
        conflicts: dependencies(&stanza.conflicts),
        provides,
        replaces,
        side_effects: stanza
            .side_effects
            .iter()
            .map(|s| s.value.clone())
            .collect(),
        size_installed: 0,
        sd_overrides: Vec::new(),
        build: BuildInfo {
            timestamp: facts.timestamp.clone(),
            farm_id: facts.farm_id.clone(),
            source_ref: facts.source_ref.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recipe::{Located, ProvidesEntry, ReplacesEntry};

    fn dep(name: &str, constraint: &str, same_build: bool) -> DependencyEntry {
        DependencyEntry {
            line: 1,
            name: name.into(),
            constraint: constraint.into(),
            arch: String::new(),
            same_build,
        }
    }

    #[test]
    fn sorts_lists_and_resolves_same_build() {
        let meta = Meta {
            license: "MIT".into(),
            homepage: "https://example.org".into(),
            ..Meta::default()
        };
        let stanza = PackageStanza {
            name: "libfoo-dev".into(),
            architecture: "x86_64".into(),
            description: "dev files".into(),
            dependencies: vec![
                dep("libfoo", "", true),
                dep("libc-dev", ">= 1.0, < 2.0", false),
            ],
            conflicts: vec![dep("zz", "", false), dep("aa", "< 1", false)],
            provides: vec![
                ProvidesEntry {
                    line: 1,
                    name: "z-abi".into(),
                    version: "1-1".into(),
                },
                ProvidesEntry {
                    line: 1,
                    name: "a-abi".into(),
                    version: String::new(),
                },
            ],
            replaces: vec![
                ReplacesEntry {
                    line: 1,
                    name: "old2".into(),
                    constraint: String::new(),
                },
                ReplacesEntry {
                    line: 1,
                    name: "old1".into(),
                    constraint: "< 1.0".into(),
                },
            ],
            side_effects: vec![
                Located {
                    line: 1,
                    value: "man-db".into(),
                },
                Located {
                    line: 1,
                    value: "ldconfig".into(),
                },
            ],
            ..PackageStanza::default()
        };
        let facts = BuildFacts {
            version: "1:1.2.3~rc1-2".into(),
            timestamp: "2026-05-06T13:30:00Z".into(),
            farm_id: "farm".into(),
            source_ref: "git+https://example.org/x#v1".into(),
        };
        let m = manifest_for(&meta, &stanza, &facts);
        let names = |l: &[Dependency]| l.iter().map(|d| d.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&m.dependencies), ["libc-dev", "libfoo"]);
        assert_eq!(m.dependencies[1].constraint, "= 1:1.2.3~rc1-2");
        assert_eq!(names(&m.conflicts), ["aa", "zz"]);
        assert_eq!(m.provides[0].name, "a-abi");
        assert_eq!(m.replaces[0].name, "old1");
        assert_eq!(m.side_effects, ["man-db", "ldconfig"]);
        assert_eq!(m.license, "MIT");
        assert_eq!(m.build.farm_id, "farm");
        assert!(m.validate().is_ok(), "{:?}", m.validate());
        let json = String::from_utf8(m.to_bytes()).unwrap();
        assert!(
            json.contains(r#""dependencies":[{"name":"libc-dev","constraint":">= 1.0, < 2.0"},{"name":"libfoo","constraint":"= 1:1.2.3~rc1-2"}]"#),
            "{json}"
        );
    }
}
