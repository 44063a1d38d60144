//! Judging an upstream's tags against a recipe: which are releases, what
//! version each gives, which the floor filters out.
//!
//! Candidates come back in version order, oldest first, so a first poll
//! that finds a backlog builds it in the order it was released (git lists
//! tags by name, which puts `v1.10` before `v1.9`).

use peipkg_format::identity::Version;

use crate::roster::Upstream;
use crate::tag_version::{at_least, compose};
use crate::watch::ls_remote::RemoteTag;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The tag does not match `tag_pattern`.
    NoMatch,
    /// It matches, but the version it gives is not a PSD-009 version.
    Invalid { captured: String, reason: String },
    /// It gives a version below `min_version`.
    BelowMin { version: Version },
    /// A release the recipe wants.
    Candidate { version: Version },
}

#[derive(Debug, Clone)]
pub struct Judged {
    pub tag: RemoteTag,
    pub verdict: Verdict,
}

pub fn judge(upstream: &Upstream, tag: &RemoteTag) -> Verdict {
    let Some(captured) = upstream.pattern.capture(&tag.name) else {
        return Verdict::NoMatch;
    };
    let version = match compose(&captured, upstream.peios_revision) {
        Ok(v) => v,
        Err(reason) => return Verdict::Invalid { captured, reason },
    };
    if let Some((_, min)) = &upstream.min_version {
        if !at_least(&version, min) {
            return Verdict::BelowMin { version };
        }
    }
    Verdict::Candidate { version }
}

/// Every tag with its verdict; candidates sorted by version (then tag name,
/// so two tags giving one version are handled deterministically), the rest
/// after them by name.
pub fn judge_all(upstream: &Upstream, tags: &[RemoteTag]) -> Vec<Judged> {
    let mut all: Vec<Judged> = tags
        .iter()
        .map(|t| Judged {
            tag: t.clone(),
            verdict: judge(upstream, t),
        })
        .collect();
    all.sort_by(|a, b| match (&a.verdict, &b.verdict) {
        (Verdict::Candidate { version: x }, Verdict::Candidate { version: y }) => {
            x.cmp(y).then_with(|| a.tag.name.cmp(&b.tag.name))
        }
        (Verdict::Candidate { .. }, _) => std::cmp::Ordering::Less,
        (_, Verdict::Candidate { .. }) => std::cmp::Ordering::Greater,
        _ => a.tag.name.cmp(&b.tag.name),
    });
    all
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tag_version::{parse_min_version, TagPattern};

    fn upstream(pattern: &str, min: Option<&str>) -> Upstream {
        Upstream {
            git: "https://example.org/x".into(),
            pattern: TagPattern::compile(pattern).unwrap(),
            peios_revision: 1,
            submodules: false,
            min_version: min.map(|m| (m.to_string(), parse_min_version(m).unwrap())),
        }
    }

    fn tags(names: &[&str]) -> Vec<RemoteTag> {
        names
            .iter()
            .map(|n| RemoteTag {
                name: n.to_string(),
                commit: "0".repeat(40),
            })
            .collect()
    }

    #[test]
    fn candidates_come_in_version_order_not_name_order() {
        let u = upstream(r"^v(\d+\.\d+\.\d+)$", None);
        let j = judge_all(
            &u,
            &tags(&["v1.10.0", "v1.2.0", "v1.9.0", "v2.0.0", "release-old"]),
        );
        let order: Vec<&str> = j.iter().map(|j| j.tag.name.as_str()).collect();
        assert_eq!(
            order,
            vec!["v1.2.0", "v1.9.0", "v1.10.0", "v2.0.0", "release-old"]
        );
        assert_eq!(j[4].verdict, Verdict::NoMatch);
    }

    #[test]
    fn floor_and_validity_are_reported_per_tag() {
        let u = upstream(r"^v(.+)$", Some("2.0.0"));
        let j = judge_all(
            &u,
            &tags(&["v1.5.0", "v2.0.0", "v2.1.0", "v1;touch${IFS}x", "v1.0/../x"]),
        );
        let by_name = |n: &str| j.iter().find(|j| j.tag.name == n).unwrap().verdict.clone();
        assert!(matches!(by_name("v1.5.0"), Verdict::BelowMin { .. }));
        assert!(matches!(by_name("v2.0.0"), Verdict::Candidate { .. }));
        assert!(matches!(
            by_name("v1;touch${IFS}x"),
            Verdict::Invalid { .. }
        ));
        assert!(matches!(by_name("v1.0/../x"), Verdict::Invalid { .. }));
    }
}
