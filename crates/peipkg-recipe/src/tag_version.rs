//! How an upstream tag becomes a package version.
//!
//! A recipe's `tag_pattern` picks the tags that are releases and extracts
//! the upstream version: either from its single unnamed capture group, or by
//! composing the named groups `major`, `minor`, `patch` and `prerelease`
//! (for upstreams such as busybox that tag `1_37_0`). The package version is
//! `<upstream>-<peios_revision>`, and it is validated against PSD-009 before
//! it is used anywhere: the reference used whatever a permissive pattern
//! captured, which let a tag such as `v1.0/x` or `v1;rm` reach command lines
//! and paths.
//!
//! Matching is byte-wise and ASCII-only (`\d` is `[0-9]`), as in Go's RE2,
//! so a pattern behaves the same here as under the reference daemon.

use std::cmp::Ordering;

use peipkg_format::identity::Version;
use regex::bytes::{Regex, RegexBuilder};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

const NAMED: [&str; 4] = ["major", "minor", "patch", "prerelease"];

#[derive(Debug, Clone)]
enum Style {
    Unnamed,
    Named { patch: bool, prerelease: bool },
}

/// A compiled, checked `tag_pattern`.
#[derive(Debug, Clone)]
pub struct TagPattern {
    source: String,
    regex: Arc<Regex>,
    style: Style,
}

/// One compiled regex per distinct pattern text. A compiled regex costs
/// about 8 KiB, and a distribution's recipes mostly share a handful of tag
/// patterns: compiling one per recipe made the manager's memory grow by
/// 40 MiB from 300 to 5,000 recipes.
fn compiled(source: &str) -> Result<Arc<Regex>, regex::Error> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Regex>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(r) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(source) {
        return Ok(Arc::clone(r));
    }
    let regex = Arc::new(
        RegexBuilder::new(source)
            .unicode(false)
            .size_limit(1 << 20)
            .build()?,
    );
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(source.to_string(), Arc::clone(&regex));
    Ok(regex)
}

impl TagPattern {
    /// Compiles and checks a pattern; the error says what to change.
    pub fn compile(source: &str) -> Result<TagPattern, String> {
        let regex = compiled(source).map_err(|e| format!("invalid tag_pattern {source:?}: {e}"))?;
        let names: Vec<Option<String>> = regex
            .capture_names()
            .skip(1)
            .map(|n| n.map(str::to_string))
            .collect();
        if names.is_empty() {
            return Err(format!(
                "tag_pattern {source:?} must have a capture group (the version string)"
            ));
        }
        let named: Vec<&str> = names.iter().flatten().map(String::as_str).collect();
        if named.is_empty() {
            if names.len() > 1 {
                return Err(format!(
                    "tag_pattern {source:?} has {} capture groups; it must have exactly one \
                     (write (?:...) for groups that should not capture)",
                    names.len()
                ));
            }
            return Ok(TagPattern {
                source: source.to_string(),
                regex,
                style: Style::Unnamed,
            });
        }
        for n in &named {
            if !NAMED.contains(n) {
                return Err(format!(
                    "tag_pattern {source:?} uses unknown named group {n:?} (allowed: major, minor, patch, prerelease)"
                ));
            }
        }
        let (has_major, has_minor) = (named.contains(&"major"), named.contains(&"minor"));
        let (has_patch, has_pre) = (named.contains(&"patch"), named.contains(&"prerelease"));
        if named.len() != names.len() {
            return Err(format!(
                "tag_pattern {source:?} mixes named and unnamed capture groups; use one style \
                 (write (?:...) for groups that should not capture)"
            ));
        }
        if !has_major || !has_minor {
            let mut got = named.clone();
            got.sort();
            return Err(format!(
                "tag_pattern {source:?} with named groups requires both 'major' and 'minor' (got {got:?})"
            ));
        }
        Ok(TagPattern {
            source: source.to_string(),
            regex,
            style: Style::Named {
                patch: has_patch,
                prerelease: has_pre,
            },
        })
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The upstream version a tag gives, or `None` if the tag does not
    /// match. The result is not yet validated (see [`compose`]).
    pub fn capture(&self, tag: &str) -> Option<String> {
        let caps = self.regex.captures(tag.as_bytes())?;
        let text = |m: Option<regex::bytes::Match<'_>>| {
            m.map(|m| String::from_utf8_lossy(m.as_bytes()).into_owned())
                .unwrap_or_default()
        };
        match self.style {
            Style::Unnamed => Some(text(caps.get(1))),
            Style::Named { patch, prerelease } => {
                let mut v = format!("{}.{}", text(caps.name("major")), text(caps.name("minor")));
                if patch {
                    let p = text(caps.name("patch"));
                    if !p.is_empty() {
                        v.push('.');
                        v.push_str(&p);
                    }
                }
                if prerelease {
                    let p = text(caps.name("prerelease"));
                    if !p.is_empty() {
                        v.push('-');
                        v.push_str(&p);
                    }
                }
                Some(v)
            }
        }
    }
}

/// `<upstream>-<revision>`, validated as a complete PSD-009 version.
pub fn compose(upstream: &str, revision: u64) -> Result<Version, String> {
    let text = format!("{upstream}-{revision}");
    if upstream.is_empty() {
        return Err("the tag_pattern captured an empty upstream version".into());
    }
    if upstream.contains(':') {
        // An epoch cannot come from a tag: it is the recipe's decision.
        return Err(format!(
            "captured upstream version {upstream:?} contains ':' (an epoch cannot come from a tag)"
        ));
    }
    Version::parse(&text).map_err(|e| format!("version {text:?} is not valid: {e}"))
}

/// Validates a recipe's `min_version` (an upstream version, no revision).
pub fn parse_min_version(min: &str) -> Result<Version, String> {
    if min.is_empty() {
        return Err("min_version must not be empty (remove the key instead)".into());
    }
    Version::parse(&format!("{min}-1"))
        .map_err(|e| format!("min_version {min:?} is not a valid upstream version: {e}"))
}

/// Whether the captured upstream version is at or above the floor. Both
/// sides get the same revision so only the upstream parts decide.
pub fn at_least(version: &Version, min: &Version) -> bool {
    let v = version.with_revision(1).unwrap_or_else(|_| version.clone());
    v.cmp(min) != Ordering::Less
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> TagPattern {
        TagPattern::compile(src).unwrap()
    }

    #[test]
    fn unnamed_group_is_the_upstream_version() {
        let t = p(r"^v(\d+\.\d+\.\d+)$");
        assert_eq!(t.capture("v1.0.1").as_deref(), Some("1.0.1"));
        assert_eq!(t.capture("release-old"), None);
        assert_eq!(t.capture("v1.0.1-rc1"), None);
        // ASCII-only \d, as in Go: Arabic-Indic digits do not match.
        assert_eq!(t.capture("v\u{661}.0.0"), None);
    }

    #[test]
    fn named_groups_compose_the_corpus_shapes() {
        let busybox = p("^(?P<major>[0-9]+)_(?P<minor>[0-9]+)_(?P<patch>[0-9]+)$");
        assert_eq!(busybox.capture("1_37_0").as_deref(), Some("1.37.0"));
        assert_eq!(busybox.capture("1_36_1").as_deref(), Some("1.36.1"));
        let pre = p(
            r"^v(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:-(?P<prerelease>[a-z]+\d+))?$",
        );
        assert_eq!(
            pre.capture("v0.20.0-alpha1").as_deref(),
            Some("0.20.0-alpha1")
        );
        assert_eq!(pre.capture("v0.20").as_deref(), Some("0.20"));
        assert_eq!(pre.capture("v0.20.0").as_deref(), Some("0.20.0"));
    }

    #[test]
    fn pattern_shape_errors_explain_themselves() {
        for (src, want) in [
            ("^v(\\d+", "invalid tag_pattern"),
            ("^v\\d+$", "must have a capture group"),
            ("^(\\d+)\\.(\\d+)$", "exactly one"),
            (
                "^(?P<major>\\d+)_(?P<build>\\d+)$",
                "unknown named group \"build\"",
            ),
            ("^(?P<major>\\d+)_(\\d+)$", "mixes named and unnamed"),
            ("^(?P<major>\\d+)$", "requires both 'major' and 'minor'"),
        ] {
            let e = TagPattern::compile(src).unwrap_err();
            assert!(e.contains(want), "{src}: {e}");
        }
        assert!(TagPattern::compile("^v([0-9]+(?:\\.[0-9]+)*)$").is_ok());
    }

    #[test]
    fn composed_versions_are_validated() {
        assert_eq!(compose("1.3.2", 1).unwrap().to_string(), "1.3.2-1");
        assert_eq!(
            compose("0.20.0-rc1", 4).unwrap().to_string(),
            "0.20.0-rc1-4"
        );
        for bad in ["", "1.0/x", "1;rm -rf", "-1.0", ".5", "1:2.0", "1.0 2"] {
            assert!(compose(bad, 1).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn min_version_floor_uses_spec_order() {
        let min = parse_min_version("2.12").unwrap();
        for (v, ok) in [
            ("2.11", false),
            ("2.12", true),
            ("2.12.5", true),
            ("3.0.0", true),
        ] {
            assert_eq!(at_least(&compose(v, 3).unwrap(), &min), ok, "{v}");
        }
        let min = parse_min_version("1.37.0").unwrap();
        assert!(!at_least(&compose("1.37.0-rc1", 1).unwrap(), &min));
        assert!(!at_least(&compose("1.36.1", 1).unwrap(), &min));
        assert!(parse_min_version("not a version").is_err());
        assert!(parse_min_version("").is_err());
    }
}
