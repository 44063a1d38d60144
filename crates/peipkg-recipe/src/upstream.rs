//! `[upstream]` and `[watch]`: where a recipe's releases come from and how
//! the farm learns of new ones.
//!
//! peipkg-manager acts on these tables; they are checked here, with the rest
//! of the recipe, so that peipkg-build refuses the same files the manager
//! does (a typo such as `min_verison` was once silently ignored by both).

use std::time::Duration;

use peipkg_format::identity::Version;

use crate::strict::{Reporter, Section};
use crate::tag_version::{parse_min_version, TagPattern};

/// `[upstream]`: the git repository and which of its tags are releases.
#[derive(Debug, Clone)]
pub struct Upstream {
    pub git: String,
    pub pattern: TagPattern,
    pub peios_revision: u64,
    pub submodules: bool,
    /// The floor as written, and parsed (with a synthetic revision 1).
    pub min_version: Option<(String, Version)>,
}

/// `[watch]`: how the farm learns of new tags.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    /// The recipe has a `[watch]` table. Without one, PSD-009 A.2 says the
    /// recipe is "built only on explicit operator request": it is not
    /// polled on a schedule, only when asked (`peipkg-manager poll`).
    pub present: bool,
    pub github_webhook: bool,
    pub poll_interval: Option<Duration>,
}

/// Reads the top-level `[upstream]` and `[watch]` tables.
pub(crate) fn read(r: &mut Reporter<'_>, root: &mut Section<'_>) -> (Option<Upstream>, Watch) {
    let upstream_sec = root.table(r, "upstream");
    let watch_sec = root.table(r, "watch");
    let upstream = upstream_sec.and_then(|s| read_upstream(r, s));
    let watch = watch_sec.map(|s| read_watch(r, s)).unwrap_or_default();
    (upstream, watch)
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
