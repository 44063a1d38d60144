//! Payload path rules (PSD-009 §3.2.7) and payload layout rules (§3.4).
//!
//! [`check_path`] is the format-level rule every payload path and symlink
//! target must pass; the archive writer and reader both apply it.
//! [`check_payload`] adds the layout rules a producer checks before it
//! packs (permitted destinations, the triplet rules, `/var` holding only
//! directories, symlink resolution) and reports every violation at once.

use crate::identity::Architecture;
use std::fmt;
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

pub const MAX_PATH_BYTES: usize = 4096;
pub const MAX_COMPONENT_BYTES: usize = 255;
pub const MAX_DEPTH: usize = 256;

/// Top-level install destinations of §3.4.1, with `lib` handled apart
/// because it is further namespaced by triplet.
const PERMITTED: [&str; 8] = [
    "usr/bin",
    "usr/lib",
    "usr/share",
    "usr/include",
    "etc",
    "var",
    "opt",
    "boot",
];

/// Runtime mountpoint roots. §3.4.1 does not list them, but the base
/// filesystem package of the real distribution (`fsbase` in the recipe
/// corpus) ships them as empty directories and the client installs it, so
/// they are accepted as bare directories and nothing else: a file or link
/// under them is still refused.
const RUNTIME_ROOTS: [&str; 5] = ["dev", "proc", "run", "sys", "tmp"];

/// Why a path breaks §3.2.7.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("is empty")]
    Empty,
    #[error("is absolute; payload paths must be relative (PSD-009 §3.2.7)")]
    Absolute,
    #[error("has a '.' or '..' or empty segment (PSD-009 §3.2.7)")]
    DotSegment,
    #[error("contains a NUL or ASCII control character (PSD-009 §3.2.7)")]
    Control,
    #[error("contains a backslash (PSD-009 §3.2.7)")]
    Backslash,
    #[error("is not in Unicode NFC (PSD-009 §3.2.7); NFC form is {0:?}")]
    NotNfc(String),
    #[error("has a segment of {0} bytes, over 255 (PSD-009 §3.2.7)")]
    ComponentTooLong(usize),
    #[error("is {0} bytes, over 4096 (PSD-009 §3.2.7)")]
    TooLong(usize),
    #[error("has {0} components, over 256 (PSD-009 §3.2.8)")]
    TooDeep(usize),
    #[error("uses the reserved .peipkg prefix (PSD-009 §3.2.1)")]
    Reserved,
}

/// Check a payload path (without any trailing `/`) against §3.2.7.
pub fn check_path(path: &str) -> Result<(), PathError> {
    check_text(path)?;
    if path.starts_with('/') {
        return Err(PathError::Absolute);
    }
    if path
        .split('/')
        .any(|s| s.is_empty() || s == "." || s == "..")
    {
        return Err(PathError::DotSegment);
    }
    if path == ".peipkg" || path.starts_with(".peipkg/") {
        return Err(PathError::Reserved);
    }
    let depth = path.split('/').count();
    if depth > MAX_DEPTH {
        return Err(PathError::TooDeep(depth));
    }
    Ok(())
}

/// The character-level rules shared by paths and symlink targets.
fn check_text(s: &str) -> Result<(), PathError> {
    if s.is_empty() {
        return Err(PathError::Empty);
    }
    if s.chars().any(|c| c.is_ascii_control()) {
        return Err(PathError::Control);
    }
    if s.contains('\\') {
        return Err(PathError::Backslash);
    }
    if is_nfc_quick(s.chars()) != IsNormalized::Yes {
        let nfc: String = s.nfc().collect();
        if nfc != s {
            return Err(PathError::NotNfc(nfc));
        }
    }
    if s.len() > MAX_PATH_BYTES {
        return Err(PathError::TooLong(s.len()));
    }
    if let Some(seg) = s.split('/').find(|seg| seg.len() > MAX_COMPONENT_BYTES) {
        return Err(PathError::ComponentTooLong(seg.len()));
    }
    Ok(())
}

/// Check a symlink at `link` pointing at `target` (§3.4.10): relative,
/// path-valid, and resolving (from the link's directory, lexically) inside
/// a permitted destination. Returns the resolved path.
pub fn check_symlink(link: &str, target: &str) -> Result<String, String> {
    check_text(target).map_err(|e| format!("target {target:?} {e}"))?;
    if target.starts_with('/') {
        return Err(format!(
            "target {target:?} is absolute; symlink targets must be relative (PSD-009 §3.4.10)"
        ));
    }
    let mut parts: Vec<&str> = link.split('/').collect();
    parts.pop();
    for seg in target.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    return Err(format!(
                        "target {target:?} escapes the root of the installed tree (PSD-009 §3.4.10)"
                    ));
                }
            }
            s => parts.push(s),
        }
    }
    let resolved = parts.join("/");
    if !under_permitted(&resolved, true) {
        return Err(format!(
            "target {target:?} resolves to /{resolved}, which is not under a permitted destination \
             (PSD-009 §3.4.1, §3.4.10)"
        ));
    }
    Ok(resolved)
}

/// Whether `path` is under (or, with `or_equal`, equal to) a permitted
/// top-level destination.
fn under_permitted(path: &str, or_equal: bool) -> bool {
    PERMITTED.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.starts_with('/') || (or_equal && rest.is_empty()))
    })
}

/// Whether a directory is an ancestor of a permitted destination (`usr`).
fn ancestor_of_permitted(path: &str) -> bool {
    PERMITTED.iter().any(|p| {
        p.strip_prefix(path)
            .is_some_and(|rest| rest.starts_with('/'))
    })
}

/// Tracks the symlinks of a payload seen so far, so that an entry lying
/// under one of them is caught: PSD-009 says a well-formed package never has
/// a symlink as an ancestor of another entry, and a client that extracts
/// such an entry writes through the link (e.g. `usr/share/x -> ../../etc`
/// then `usr/share/x/pwned`). Entries arrive in wire order, in which a path
/// always precedes everything under it, so one forward pass suffices.
/// Links are kept as 128-bit digests: only identity matters, and a hostile
/// package may carry many long paths.
#[derive(Debug, Default)]
pub struct SymlinkAncestors {
    links: std::collections::HashSet<[u8; 16]>,
}

impl SymlinkAncestors {
    pub fn new() -> Self {
        Self::default()
    }

    /// Record `path` as a symlink.
    pub fn add_link(&mut self, path: &str) {
        self.links.insert(digest(path));
    }

    /// The symlink among `path`'s proper ancestors, if any (the shallowest).
    pub fn link_above(&self, path: &str) -> Option<String> {
        if self.links.is_empty() {
            return None;
        }
        path.match_indices('/')
            .map(|(i, _)| &path[..i])
            .find(|a| self.links.contains(&digest(a)))
            .map(str::to_string)
    }
}

fn digest(path: &str) -> [u8; 16] {
    use sha2::Digest;
    let d: [u8; 32] = sha2::Sha256::digest(path.as_bytes()).into();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}

/// The rule text for an entry under a symlink, naming both paths.
pub fn under_symlink_rule(link: &str) -> String {
    format!(
        "lies under the symlink {link:?}; a symlink must not be an ancestor of another entry \
         (extracting it would write through the link; PSD-009 §7.1 step 3)"
    )
}

/// What kind of entry a layout check is looking at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayoutKind<'a> {
    File,
    Directory,
    Symlink { target: &'a str },
}

/// One broken rule, naming the path and the rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LayoutViolation {
    pub path: String,
    pub rule: String,
}

impl fmt::Display for LayoutViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.rule)
    }
}

/// Check every entry of one package against §3.2.7 and §3.4 and return all
/// violations, in the order given (which must be wire order for the
/// symlink-ancestor rule to see each link before what lies under it).
pub fn check_payload<'a>(
    arch: &Architecture,
    entries: impl IntoIterator<Item = (&'a str, LayoutKind<'a>)>,
) -> Vec<LayoutViolation> {
    let mut out = Vec::new();
    let mut links = SymlinkAncestors::new();
    for (path, kind) in entries {
        if let Some(link) = links.link_above(path) {
            out.push(LayoutViolation {
                path: path.to_string(),
                rule: under_symlink_rule(&link),
            });
            continue;
        }
        if let LayoutKind::Symlink { .. } = kind {
            links.add_link(path);
        }
        if let Some(rule) = entry_violation(arch, path, kind) {
            out.push(LayoutViolation {
                path: path.to_string(),
                rule,
            });
        }
    }
    out
}

fn entry_violation(arch: &Architecture, path: &str, kind: LayoutKind<'_>) -> Option<String> {
    if let Err(e) = check_path(path) {
        return Some(format!("path {e}"));
    }
    let is_dir = kind == LayoutKind::Directory;
    if is_dir && (ancestor_of_permitted(path) || RUNTIME_ROOTS.contains(&path)) {
        return None;
    }
    if !under_permitted(path, is_dir) {
        return Some(
            "is not under a permitted install destination (usr/bin, usr/lib/<triplet>, usr/share, \
             usr/include, etc, var, opt, boot; PSD-009 §3.4.1)"
                .into(),
        );
    }
    if !is_dir && path.starts_with("var/") {
        return Some(
            "is content under /var; packages may only create empty directories there (PSD-009 §3.4.4)"
                .into(),
        );
    }
    if let Some(rest) = path.strip_prefix("usr/lib/") {
        let seg = rest.split('/').next().unwrap_or("");
        let directly_in_lib = !rest.contains('/');
        match arch.triplet() {
            None => {
                return Some(format!(
                    "is under /usr/lib/{seg}/ in a noarch package; noarch packages must not install \
                     under /usr/lib/<triplet>/ (PSD-009 §3.4.2)"
                ))
            }
            Some(t) if directly_in_lib && !is_dir => {
                return Some(format!(
                    "sits directly in /usr/lib/; architecture-specific files go under /usr/lib/{t}/ \
                     (PSD-009 §3.4.2)"
                ))
            }
            Some(t) if seg != t => {
                return Some(format!(
                    "uses /usr/lib/{seg}/ but a {} package installs under /usr/lib/{t}/ (PSD-009 §3.4.2)",
                    arch.as_str()
                ))
            }
            Some(_) => {}
        }
    }
    if let LayoutKind::Symlink { target } = kind {
        if let Err(e) = check_symlink(path, target) {
            return Some(format!("symlink {e}"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch(s: &str) -> Architecture {
        Architecture::parse(s).unwrap()
    }

    #[test]
    fn path_rules() {
        assert!(check_path("usr/bin/x").is_ok());
        assert_eq!(check_path("/usr/bin/x"), Err(PathError::Absolute));
        assert_eq!(check_path("usr/../etc"), Err(PathError::DotSegment));
        assert_eq!(check_path("usr//x"), Err(PathError::DotSegment));
        assert_eq!(check_path("usr/a\u{1}"), Err(PathError::Control));
        assert_eq!(check_path("usr/a\\b"), Err(PathError::Backslash));
        assert!(matches!(
            check_path("usr/cafe\u{301}"),
            Err(PathError::NotNfc(_))
        ));
        assert!(check_path("usr/caf\u{e9}").is_ok());
        assert_eq!(check_path(".peipkg/x"), Err(PathError::Reserved));
        assert_eq!(
            check_path(&format!("usr/{}", "a".repeat(256))),
            Err(PathError::ComponentTooLong(256))
        );
        let deep = vec!["d"; 257].join("/");
        assert_eq!(check_path(&deep), Err(PathError::TooDeep(257)));
    }

    #[test]
    fn layout_rules_report_everything() {
        let x86 = arch("x86_64");
        let v = check_payload(
            &x86,
            [
                ("usr", LayoutKind::Directory),
                ("usr/lib", LayoutKind::Directory),
                ("usr/bin/ok", LayoutKind::File),
                ("usr/local/bin/x", LayoutKind::File),
                ("var/lib/x", LayoutKind::Directory),
                ("var/lib/x/data", LayoutKind::File),
                ("usr/lib/libz.so", LayoutKind::File),
                ("usr/lib/aarch64-linux-peios/libz.so", LayoutKind::File),
                ("usr/lib/x86_64-linux-peios/libz.so", LayoutKind::File),
                (
                    "usr/share/a/link",
                    LayoutKind::Symlink {
                        target: "../../../tmp/x",
                    },
                ),
                (
                    "usr/share/a/abs",
                    LayoutKind::Symlink {
                        target: "/etc/passwd",
                    },
                ),
                (
                    "usr/share/a/ok",
                    LayoutKind::Symlink {
                        target: "../../../etc/passwd",
                    },
                ),
                ("proc", LayoutKind::Directory),
                ("tmp/x", LayoutKind::File),
                ("system", LayoutKind::Directory),
            ],
        );
        let paths: Vec<_> = v.iter().map(|v| v.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "usr/local/bin/x",
                "var/lib/x/data",
                "usr/lib/libz.so",
                "usr/lib/aarch64-linux-peios/libz.so",
                "usr/share/a/link",
                "usr/share/a/abs",
                "tmp/x",
                "system"
            ]
        );
        let under = check_payload(
            &x86,
            [
                (
                    "usr/share/x",
                    LayoutKind::Symlink {
                        target: "../../etc",
                    },
                ),
                ("usr/share/x-y", LayoutKind::File),
                ("usr/share/x/pwned", LayoutKind::File),
            ],
        );
        assert_eq!(under.len(), 1, "{under:?}");
        assert_eq!(under[0].path, "usr/share/x/pwned");
        assert!(
            under[0].rule.contains("\"usr/share/x\""),
            "{}",
            under[0].rule
        );
        let noarch = check_payload(
            &arch("noarch"),
            [("usr/lib/x86_64-linux-peios/x", LayoutKind::File)],
        );
        assert_eq!(noarch.len(), 1);
        assert!(noarch[0].rule.contains("noarch"));
    }
}
