//! The package manifest, `.peipkg/manifest.json` (PSD-009 §3.3).
//!
//! Encoding follows the reference byte for byte (every top-level member
//! always present, `[]` never `null`, empty `constraint`/`arch`/`version`
//! members omitted). Decoding ignores unknown members (§3.3.3) but insists
//! on the required ones. [`Manifest::validate`] applies the MUST rules and
//! returns every violation at once, with warnings kept apart for the rules
//! the real client does not enforce.

use crate::identity::{
    validate_arch_qualifier, Architecture, Constraint, PackageName, SideEffect, Version,
};
use crate::json::null_default;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Largest manifest a consumer accepts (PSD-009 §3.2.8).
pub const MAX_MANIFEST_BYTES: u64 = 16 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub schema_version: u32,
    pub name: String,
    pub version: String,
    pub architecture: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub license: String,
    #[serde(default)]
    pub homepage: String,
    pub dependencies: Vec<Dependency>,
    #[serde(default)]
    pub optional_dependencies: Vec<Dependency>,
    pub conflicts: Vec<Dependency>,
    #[serde(default)]
    pub provides: Vec<Provides>,
    #[serde(default)]
    pub replaces: Vec<Replaces>,
    #[serde(default)]
    pub side_effects: Vec<String>,
    pub size_installed: u64,
    #[serde(default)]
    pub sd_overrides: Vec<SdOverride>,
    pub build: BuildInfo,
}

/// Defines a relation: a `name` and optional qualifiers, each shown after
/// the name in its own brackets. All relations share the JSON rules
/// (`null` members read as empty, as the reference tools read them; empty
/// qualifiers are left out of the encoding) and the human-readable form
/// every tool shows (`inspect`, the browse site): `libc (>= 2.0) [x86_64]`.
macro_rules! relation {
    ($(#[$doc:meta])* $ty:ident { $($field:ident => $shown:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
        pub struct $ty {
            #[serde(default, deserialize_with = "null_default")]
            pub name: String,
            $(
                #[serde(
                    default,
                    deserialize_with = "null_default",
                    skip_serializing_if = "String::is_empty"
                )]
                pub $field: String,
            )+
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.name)?;
                $(
                    if !self.$field.is_empty() {
                        write!(f, $shown, self.$field)?;
                    }
                )+
                Ok(())
            }
        }
    };
}

relation! {
    /// A dependency, optional dependency or conflict (§4.1.1); also the
    /// form the repository indexes carry.
    Dependency { constraint => " ({})", arch => " [{}]" }
}

relation! {
    /// A `provides` claim (§4.1.4).
    Provides { version => " (= {})" }
}

relation! {
    /// A `replaces` relation (§4.1.5).
    Replaces { constraint => " ({})" }
}

/// A list of relations as one line, or `None` when it is empty.
pub fn relations_text<T: fmt::Display>(list: &[T]) -> Option<String> {
    if list.is_empty() {
        return None;
    }
    Some(list.iter().map(T::to_string).collect::<Vec<_>>().join(", "))
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SdOverride {
    pub path: String,
    pub sd: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BuildInfo {
    pub timestamp: String,
    pub farm_id: String,
    pub source_ref: String,
}

/// Array length limits of PSD-009 §3.2.8.
const LIMITS: [(&str, usize); 6] = [
    ("dependencies", 10_000),
    ("optional_dependencies", 10_000),
    ("conflicts", 10_000),
    ("provides", 10_000),
    ("replaces", 1_000),
    ("sd_overrides", 100_000),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("manifest.json does not parse against PSD-009 §3.3: {0}")]
pub struct ManifestDecodeError(pub String);

/// The outcome of [`Manifest::validate`].
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ManifestReport {
    /// MUST rules broken: the manifest is invalid.
    pub errors: Vec<String>,
    /// MUST rules the real client does not enforce (DESIGN.md §2): reported,
    /// not fatal.
    pub warnings: Vec<String>,
}

impl ManifestReport {
    pub fn is_ok(&self) -> bool {
        self.errors.is_empty()
    }
}

impl Manifest {
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::to_canonical_vec(self)
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, ManifestDecodeError> {
        serde_json::from_slice(bytes).map_err(|e| ManifestDecodeError(e.to_string()))
    }

    /// Check every MUST rule of §3.3 and the identity rules of chapter 2
    /// and 4; all violations are returned, not just the first.
    pub fn validate(&self) -> ManifestReport {
        let mut r = ManifestReport::default();
        let mut err = |m: String| r.errors.push(m);
        if self.schema_version != 1 {
            err(format!(
                "schema_version is {}, expected 1 (PSD-009 §3.3.2)",
                self.schema_version
            ));
        }
        if let Err(e) = PackageName::parse(&self.name) {
            err(format!("name: {e}"));
        }
        if let Err(e) = Version::parse(&self.version) {
            err(format!("version: {e}"));
        }
        if let Err(e) = Architecture::parse(&self.architecture) {
            err(format!("architecture: {e}"));
        }
        if !self.homepage.is_empty() {
            if let Some(problem) = homepage_problem(&self.homepage) {
                err(format!(
                    "homepage {:?}: {problem} (PSD-009 §3.3.6)",
                    self.homepage
                ));
            }
        }
        for (field, list) in [
            ("dependencies", &self.dependencies),
            ("optional_dependencies", &self.optional_dependencies),
            ("conflicts", &self.conflicts),
        ] {
            for (i, d) in list.iter().enumerate() {
                check_dependency(field, i, d, &mut err);
            }
        }
        for (i, p) in self.provides.iter().enumerate() {
            if let Err(e) = PackageName::parse(&p.name) {
                err(format!("provides[{i}].name: {e}"));
            }
            if !p.version.is_empty() {
                if let Err(e) = Version::parse(&p.version) {
                    if Version::parse_operand(&p.version).is_ok() {
                        err(format!(
                            "provides[{i}].version {:?} has no revision; the peipkg client rejects \
                             the whole index unless a provided version is a full version like \
                             \"1.2-1\"",
                            p.version
                        ));
                    } else {
                        err(format!("provides[{i}].version: {e}"));
                    }
                }
            }
        }
        for (i, p) in self.replaces.iter().enumerate() {
            if let Err(e) = PackageName::parse(&p.name) {
                err(format!("replaces[{i}].name: {e}"));
            }
            if !p.constraint.is_empty() {
                if let Err(e) = Constraint::parse(&p.constraint) {
                    err(format!("replaces[{i}].constraint: {e}"));
                }
            }
        }
        for (i, s) in self.side_effects.iter().enumerate() {
            if let Err(e) = SideEffect::parse(s) {
                err(format!("side_effects[{i}]: {e}"));
            }
        }
        for w in self.sd_overrides.windows(2) {
            if w[0].path.as_bytes() >= w[1].path.as_bytes() {
                err(format!(
                    "sd_overrides are not sorted by path: {:?} then {:?} (PSD-009 §3.3.5)",
                    w[0].path, w[1].path
                ));
            }
        }
        let lens = [
            self.dependencies.len(),
            self.optional_dependencies.len(),
            self.conflicts.len(),
            self.provides.len(),
            self.replaces.len(),
            self.sd_overrides.len(),
        ];
        for ((field, max), len) in LIMITS.iter().zip(lens) {
            if len > *max {
                err(format!(
                    "{field} has {len} elements, over the limit of {max} (PSD-009 §3.2.8)"
                ));
            }
        }
        if let Err(e) = crate::documents::timestamp::parse_build_timestamp(&self.build.timestamp) {
            err(format!("build.timestamp: {e}"));
        }
        if let Some(bad) = self.description.chars().find(|c| !(' '..='~').contains(c)) {
            r.warnings.push(format!(
                "description contains {bad:?}; PSD-009 §3.3.6 requires printable ASCII (0x20-0x7E), \
                 which the peipkg client does not enforce"
            ));
        }
        r
    }
}

fn check_dependency(field: &str, i: usize, d: &Dependency, err: &mut impl FnMut(String)) {
    if let Err(e) = PackageName::parse(&d.name) {
        err(format!("{field}[{i}].name: {e}"));
    }
    if !d.constraint.is_empty() {
        if let Err(e) = Constraint::parse(&d.constraint) {
            err(format!("{field}[{i}].constraint: {e}"));
        }
    }
    if !d.arch.is_empty() {
        if let Err(e) = validate_arch_qualifier(Some(&d.arch)) {
            err(format!("{field}[{i}].arch: {e}"));
        }
    }
}

/// Why a homepage is not an acceptable `http`/`https` URL, if it is not.
pub fn homepage_problem(url: &str) -> Option<&'static str> {
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        r
    } else {
        return Some("must be an http:// or https:// URL");
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() {
        return Some("has no host");
    }
    if url
        .chars()
        .any(|c| c.is_ascii_control() || c == ' ' || c == '"' || c == '<' || c == '>' || c == '\\')
    {
        return Some("contains characters not allowed in a URL (RFC 3986)");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const HELLO: &str = r#"{"schema_version":1,"name":"hello","version":"0.1-1","architecture":"noarch","description":"Smallest legal peipkg test fixture.","license":"CC0-1.0","homepage":"https://peios.org","dependencies":[],"optional_dependencies":[],"conflicts":[],"provides":[],"replaces":[],"side_effects":[],"size_installed":14,"sd_overrides":[],"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"test-farm-1","source_ref":"test://hello-noarch"}}
"#;

    #[test]
    fn round_trips_the_reference_bytes() {
        let m = Manifest::decode(HELLO.as_bytes()).unwrap();
        assert_eq!(m.to_bytes(), HELLO.as_bytes());
        assert!(m.validate().is_ok());
    }

    #[test]
    fn ignores_unknown_members_but_needs_required_ones() {
        let extra = HELLO.replacen("{", "{\"future\":[1,2],", 1);
        assert!(Manifest::decode(extra.as_bytes()).is_ok());
        let missing = HELLO.replace("\"size_installed\":14,", "");
        let e = Manifest::decode(missing.as_bytes()).unwrap_err();
        assert!(e.0.contains("size_installed"), "{e}");
    }

    #[test]
    fn validate_reports_every_problem() {
        let mut m = Manifest::decode(HELLO.as_bytes()).unwrap();
        m.name = "Hello".into();
        m.homepage = "javascript:alert(1)".into();
        m.provides.push(Provides {
            name: "xy".into(),
            version: "1.2".into(),
        });
        m.description = "café".into();
        let r = m.validate();
        assert_eq!(r.errors.len(), 3, "{:?}", r.errors);
        assert!(r.errors[2].contains("full version"));
        assert_eq!(r.warnings.len(), 1);
    }
}
