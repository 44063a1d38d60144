//! Assigning staged entries to `[[package]]` stanzas by their `files` globs.
//!
//! Rules (recipe docs, "How the partition works"):
//! - every staged file and symlink must be claimed by exactly one stanza;
//! - a pattern ending in `/` claims directories (and only directories); a
//!   claimed directory is then an entry like any other and must have exactly
//!   one owner, so another stanza's `**` matching it is an overlap;
//! - every ancestor directory of a stanza's entries is added to that
//!   stanza's payload.
//!
//! Unlike the reference tool, which stops at the first overlap and hides the
//! orphans, every orphan and every overlap is reported in one error, so a
//! recipe can be fixed in one round.
//!
//! Nothing here holds the tree. [`PartitionCheck`] sees every entry once,
//! in the walk's order, and keeps only what it will report;
//! [`PayloadSelector`] turns that same order into one package's entries,
//! ancestors included, holding only the chain of open directories; and
//! [`SelectedPayload`] replays a fresh walk through a selector so a package
//! streams into the writer. A build installing 100,000 files costs no more
//! memory than one installing ten.

use peipkg_format::archive::{EntryKind, PayloadEntry};
use std::collections::VecDeque;

use crate::recipe::PackageStanza;
use crate::walk::{StagedEntry, StagedKind, Walk, WalkError};

/// Staged paths with no owner, and paths with several.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct PartitionError {
    /// Paths claimed by no stanza, in byte order.
    pub orphans: Vec<String>,
    /// Paths claimed by more than one stanza, with the stanza names in
    /// declaration order.
    pub overlaps: Vec<(String, Vec<String>)>,
}

impl PartitionError {
    fn render(&self) -> String {
        let mut out =
            String::from("the staged tree does not partition across the [[package]] stanzas:");
        if !self.orphans.is_empty() {
            out.push_str(&format!(
                "\n{} staged path{} claimed by no package (add them to a stanza's files, or do not install them in build.sh):",
                self.orphans.len(),
                if self.orphans.len() == 1 { "" } else { "s" }
            ));
            for orphan in &self.orphans {
                out.push_str(&format!("\n  {orphan}"));
            }
        }
        if !self.overlaps.is_empty() {
            out.push_str(&format!(
                "\n{} staged path{} claimed by more than one package (file globs must be disjoint):",
                self.overlaps.len(),
                if self.overlaps.len() == 1 { "" } else { "s" }
            ));
            for (path, owners) in &self.overlaps {
                let names: Vec<String> = owners.iter().map(|n| format!("{n:?}")).collect();
                out.push_str(&format!("\n  {path}: claimed by {}", names.join(" and ")));
            }
        }
        out
    }
}

/// Who claims a staged entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owner {
    /// No stanza: an orphan for a file or symlink; for a directory, fine
    /// (it is only some payloads' ancestor, or left out when empty).
    Nobody,
    One(usize),
    Several(Vec<usize>),
}

/// Matches entries against the stanzas' `files` patterns.
pub struct Claims<'a> {
    stanzas: &'a [PackageStanza],
}

impl<'a> Claims<'a> {
    pub fn new(stanzas: &'a [PackageStanza]) -> Self {
        Claims { stanzas }
    }

    /// The owner of `entry`; `used` (one flag per pattern per stanza)
    /// records which patterns matched.
    pub fn owner(&self, entry: &StagedEntry, mut used: Option<&mut [Vec<bool>]>) -> Owner {
        let is_dir = matches!(entry.kind, StagedKind::Dir { .. });
        if is_dir
            && !self.stanzas.iter().any(|s| {
                s.files
                    .iter()
                    .any(|f| f.glob.is_dir_pattern() && f.glob.matches(&entry.path))
            })
        {
            return Owner::Nobody;
        }
        let mut owners = Vec::new();
        for (index, stanza) in self.stanzas.iter().enumerate() {
            let mut matched = false;
            for (pattern_index, pattern) in stanza.files.iter().enumerate() {
                // Directory patterns claim directories only; a claimed
                // directory is also tested against the ordinary patterns.
                if pattern.glob.is_dir_pattern() && !is_dir {
                    continue;
                }
                if pattern.glob.matches(&entry.path) {
                    if let Some(used) = used.as_deref_mut() {
                        used[index][pattern_index] = true;
                    }
                    matched = true;
                }
            }
            if matched {
                owners.push(index);
            }
        }
        match owners.as_slice() {
            [] => Owner::Nobody,
            [only] => Owner::One(*only),
            _ => Owner::Several(owners),
        }
    }
}

/// The first pass over the staged tree: every entry's owner, collecting
/// every orphan and every overlap, and what is worth a warning.
pub struct PartitionCheck<'a> {
    claims: Claims<'a>,
    pattern_used: Vec<Vec<bool>>,
    orphans: Vec<String>,
    overlaps: Vec<(String, Vec<String>)>,
    warnings: Vec<String>,
}

impl<'a> PartitionCheck<'a> {
    pub fn new(stanzas: &'a [PackageStanza]) -> Self {
        PartitionCheck {
            claims: Claims::new(stanzas),
            pattern_used: stanzas.iter().map(|s| vec![false; s.files.len()]).collect(),
            orphans: Vec::new(),
            overlaps: Vec::new(),
            warnings: Vec::new(),
        }
    }

    pub fn owner(&mut self, entry: &StagedEntry) -> Owner {
        let owner = self.claims.owner(entry, Some(&mut self.pattern_used));
        match (&owner, &entry.kind) {
            (Owner::Nobody, StagedKind::Dir { empty: true }) => self.warnings.push(format!(
                "empty directory {} is claimed by no package and is left out (claim it with a pattern ending in '/', e.g. \"{}/\")",
                entry.path, entry.path
            )),
            (Owner::Nobody, StagedKind::Dir { empty: false }) => {}
            (Owner::Nobody, _) => self.orphans.push(entry.path.clone()),
            (Owner::Several(owners), _) => self.overlaps.push((
                entry.path.clone(),
                owners
                    .iter()
                    .map(|&i| self.claims.stanzas[i].name.clone())
                    .collect(),
            )),
            (Owner::One(_), _) => {}
        }
        owner
    }

    /// The partition's verdict: every orphan and overlap, or the warnings.
    pub fn finish(mut self) -> Result<Vec<String>, PartitionError> {
        if !self.orphans.is_empty() || !self.overlaps.is_empty() {
            self.orphans.sort();
            self.overlaps.sort();
            return Err(PartitionError {
                orphans: self.orphans,
                overlaps: self.overlaps,
            });
        }
        for (stanza, used) in self.claims.stanzas.iter().zip(&self.pattern_used) {
            for (pattern, used) in stanza.files.iter().zip(used) {
                if !used {
                    self.warnings.push(format!(
                        "[[package]] {:?}: files pattern {:?} (line {}) matched nothing in the staged tree",
                        stanza.name,
                        pattern.glob.as_str(),
                        pattern.line
                    ));
                }
            }
        }
        Ok(self.warnings)
    }
}

/// One package's payload out of the walk: the entries its stanza owns and
/// every ancestor directory of them, in wire order (the walk's order, so
/// the result streams straight into the writer).
///
/// An ancestor is held back until an owned entry below it shows up, so
/// the only state is the chain of directories above the current entry.
pub struct PayloadSelector {
    stanza: usize,
    /// Open directories above the current entry, outermost first, with
    /// whether each has been emitted yet.
    chain: Vec<(String, bool)>,
}

impl PayloadSelector {
    pub fn new(stanza: usize) -> Self {
        PayloadSelector {
            stanza,
            chain: Vec::new(),
        }
    }

    /// Offer the next entry of the walk with its owner; the entries to add
    /// to the payload, if any, go to `emit`.
    pub fn offer(
        &mut self,
        entry: &StagedEntry,
        owner: &Owner,
        mut emit: impl FnMut(PayloadEntry),
    ) {
        while let Some((top, _)) = self.chain.last() {
            if entry.path.len() > top.len()
                && entry.path.starts_with(top.as_str())
                && entry.path.as_bytes()[top.len()] == b'/'
            {
                break;
            }
            self.chain.pop();
        }
        let is_dir = matches!(entry.kind, StagedKind::Dir { .. });
        if *owner != Owner::One(self.stanza) {
            if is_dir {
                self.chain.push((entry.path.clone(), false));
            }
            return;
        }
        for (dir, emitted) in self.chain.iter_mut().filter(|(_, e)| !*e) {
            *emitted = true;
            emit(PayloadEntry {
                path: dir.clone(),
                kind: EntryKind::Directory,
            });
        }
        emit(PayloadEntry {
            path: entry.path.clone(),
            kind: match &entry.kind {
                StagedKind::Dir { .. } => EntryKind::Directory,
                StagedKind::File { size } => EntryKind::File { size: *size },
                StagedKind::Symlink { target } => EntryKind::Symlink {
                    target: target.clone(),
                },
            },
        });
        if is_dir {
            self.chain.push((entry.path.clone(), true));
        }
    }
}

/// The staged tree changed between the checking pass and the writing pass.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(transparent)]
    Walk(#[from] WalkError),
    #[error("the staged tree changed while it was packed: {0} (was the build script still running in the background?)")]
    Changed(String),
}

/// One stanza's payload, streamed: a fresh walk of the staged tree through
/// a [`PayloadSelector`], owners recomputed by `owner` and checked against
/// the first pass's verdict (every entry owned by at most one stanza).
pub struct SelectedPayload<F> {
    walk: Option<Walk>,
    selector: PayloadSelector,
    owner: F,
    ready: VecDeque<PayloadEntry>,
}

impl<F: FnMut(&StagedEntry) -> Owner> SelectedPayload<F> {
    pub fn new(walk: Walk, stanza: usize, owner: F) -> Self {
        SelectedPayload {
            walk: Some(walk),
            selector: PayloadSelector::new(stanza),
            owner,
            ready: VecDeque::new(),
        }
    }
}

impl<F: FnMut(&StagedEntry) -> Owner> Iterator for SelectedPayload<F> {
    type Item = Result<PayloadEntry, SelectError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(e) = self.ready.pop_front() {
                return Some(Ok(e));
            }
            let walk = self.walk.as_mut()?;
            let entry = match walk.next() {
                Some(Ok(entry)) => entry,
                Some(Err(e)) => {
                    self.walk = None;
                    return Some(Err(e.into()));
                }
                None => {
                    let finished = self.walk.take()?.finish();
                    return finished.err().map(|e| Err(e.into()));
                }
            };
            let owner = (self.owner)(&entry);
            let changed = match (&owner, &entry.kind) {
                (Owner::Several(_), _) => true,
                (Owner::Nobody, StagedKind::Dir { .. }) => false,
                (Owner::Nobody, _) => true,
                (Owner::One(_), _) => false,
            };
            if changed {
                self.walk = None;
                return Some(Err(SelectError::Changed(format!(
                    "{} is now claimed by {}",
                    entry.path,
                    if owner == Owner::Nobody {
                        "no package"
                    } else {
                        "more than one package"
                    }
                ))));
            }
            let ready = &mut self.ready;
            self.selector.offer(&entry, &owner, |e| ready.push_back(e));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Glob;
    use crate::layout_check::LayoutCheck;
    use crate::recipe::FilePattern;

    #[derive(Debug)]
    struct Partition {
        payloads: Vec<Vec<PayloadEntry>>,
        warnings: Vec<String>,
    }

    /// The checking pass as build.rs runs it, keeping each package's
    /// payload as the selectors produce it.
    fn partition(
        stanzas: &[PackageStanza],
        entries: Vec<StagedEntry>,
    ) -> Result<Partition, PartitionError> {
        let mut check = PartitionCheck::new(stanzas);
        let mut layout = LayoutCheck::for_stanzas(stanzas);
        let mut payloads = vec![Vec::new(); stanzas.len()];
        for entry in &entries {
            let owner = check.owner(entry);
            layout.offer(entry, &owner, |i, e| payloads[i].push(e.clone()));
        }
        let mut warnings = check.finish()?;
        warnings.extend(layout.empty_payload_warnings());
        Ok(Partition { payloads, warnings })
    }

    fn stanza(name: &str, patterns: &[&str]) -> PackageStanza {
        PackageStanza {
            name: name.to_string(),
            files: patterns
                .iter()
                .enumerate()
                .map(|(i, p)| FilePattern {
                    line: i + 1,
                    glob: Glob::new(p).unwrap(),
                })
                .collect(),
            ..PackageStanza::default()
        }
    }

    fn file(path: &str) -> StagedEntry {
        StagedEntry {
            path: path.into(),
            kind: StagedKind::File { size: 1 },
        }
    }

    fn dir(path: &str, empty: bool) -> StagedEntry {
        StagedEntry {
            path: path.into(),
            kind: StagedKind::Dir { empty },
        }
    }

    fn link(path: &str, target: &str) -> StagedEntry {
        StagedEntry {
            path: path.into(),
            kind: StagedKind::Symlink {
                target: target.into(),
            },
        }
    }

    fn paths(payload: &[PayloadEntry]) -> Vec<String> {
        payload
            .iter()
            .map(|e| match e.kind {
                EntryKind::Directory => format!("{}/", e.path),
                _ => e.path.clone(),
            })
            .collect()
    }

    #[test]
    fn splits_by_glob_and_adds_ancestors_per_package() {
        let lib = "usr/lib/x86_64-linux-peios";
        let entries = vec![
            dir("usr", false),
            dir("usr/include", false),
            file("usr/include/foo.h"),
            dir("usr/lib", false),
            dir(lib, false),
            file(&format!("{lib}/libfoo.a")),
            link(&format!("{lib}/libfoo.so"), "libfoo.so.1"),
            link(&format!("{lib}/libfoo.so.1"), "libfoo.so.1.2.3"),
            file(&format!("{lib}/libfoo.so.1.2.3")),
        ];
        let stanzas = vec![
            stanza(
                "libfoo",
                &[
                    &format!("{lib}/libfoo.so.1"),
                    &format!("{lib}/libfoo.so.1.*"),
                ],
            ),
            stanza(
                "libfoo-dev",
                &[
                    "usr/include/**",
                    &format!("{lib}/libfoo.so"),
                    &format!("{lib}/libfoo.a"),
                ],
            ),
        ];
        let p = partition(&stanzas, entries).unwrap();
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            paths(&p.payloads[0]),
            [
                "usr/",
                "usr/lib/",
                &format!("{lib}/"),
                &format!("{lib}/libfoo.so.1"),
                &format!("{lib}/libfoo.so.1.2.3"),
            ]
        );
        assert_eq!(
            paths(&p.payloads[1]),
            [
                "usr/",
                "usr/include/",
                "usr/include/foo.h",
                "usr/lib/",
                &format!("{lib}/"),
                &format!("{lib}/libfoo.a"),
                &format!("{lib}/libfoo.so"),
            ]
        );
        let a = p.payloads[1]
            .iter()
            .find(|e| e.path.ends_with("libfoo.a"))
            .unwrap();
        assert_eq!(a.kind, EntryKind::File { size: 1 });
    }

    #[test]
    fn reports_every_orphan_and_every_overlap() {
        let entries = vec![
            dir("usr", false),
            dir("usr/bin", false),
            file("usr/bin/a"),
            file("usr/bin/b"),
            file("usr/bin/c"),
            file("usr/share/z"),
            file("etc/x"),
        ];
        let stanzas = vec![
            stanza("one", &["usr/bin/a", "usr/bin/b"]),
            stanza("two", &["usr/bin/*"]),
            stanza("three", &["usr/bin/b"]),
        ];
        let err = partition(&stanzas, entries).unwrap_err();
        assert_eq!(err.orphans, ["etc/x", "usr/share/z"]);
        assert_eq!(
            err.overlaps,
            [
                (
                    "usr/bin/a".to_string(),
                    vec!["one".to_string(), "two".to_string()]
                ),
                (
                    "usr/bin/b".to_string(),
                    vec!["one".to_string(), "two".to_string(), "three".to_string()]
                ),
            ]
        );
        let msg = err.to_string();
        assert!(
            msg.contains("2 staged paths claimed by no package"),
            "{msg}"
        );
        assert!(msg.contains("\n  etc/x\n  usr/share/z"), "{msg}");
        assert!(
            msg.contains("usr/bin/a: claimed by \"one\" and \"two\""),
            "{msg}"
        );
        assert!(
            msg.contains("usr/bin/b: claimed by \"one\" and \"two\" and \"three\""),
            "{msg}"
        );
    }

    #[test]
    fn directory_patterns_claim_directories_only() {
        let entries = vec![
            dir("dev", true),
            dir("var", false),
            dir("var/log", true),
            dir("usr", false),
            dir("usr/share", false),
            dir("usr/share/empty", true),
            file("usr/share/f"),
        ];
        let stanzas = vec![
            stanza("fsbase", &["dev/", "var/", "var/log/"]),
            stanza("data", &["usr/share/*"]),
        ];
        let p = partition(&stanzas, entries).unwrap();
        assert_eq!(paths(&p.payloads[0]), ["dev/", "var/", "var/log/"]);
        assert_eq!(paths(&p.payloads[1]), ["usr/", "usr/share/", "usr/share/f"]);
        assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("empty directory usr/share/empty is claimed by no package"));

        // A directory pattern never claims a file, so this file is an orphan.
        let err = partition(
            &[stanza("x", &["usr/share/f/"])],
            vec![
                dir("usr", false),
                dir("usr/share", false),
                file("usr/share/f"),
            ],
        )
        .unwrap_err();
        assert_eq!(err.orphans, ["usr/share/f"]);
    }

    #[test]
    fn a_claimed_directory_matched_by_another_stanza_is_an_overlap() {
        let entries = vec![dir("var", true), file("usr/bin/x")];
        let stanzas = vec![stanza("a", &["var/"]), stanza("b", &["**"])];
        let err = partition(&stanzas, entries).unwrap_err();
        assert_eq!(
            err.overlaps,
            [("var".to_string(), vec!["a".to_string(), "b".to_string()])]
        );
        assert!(err.orphans.is_empty());
    }

    #[test]
    fn warns_about_patterns_that_match_nothing_and_empty_packages() {
        let entries = vec![file("usr/bin/x")];
        let stanzas = vec![
            stanza("a", &["usr/bin/x", "usr/bin/typo"]),
            stanza("b", &[]),
        ];
        let p = partition(&stanzas, entries).unwrap();
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings[0].contains("\"usr/bin/typo\" (line 2) matched nothing"));
        assert!(p.warnings[1].contains("\"b\" claims nothing"));
        assert!(p.payloads[1].is_empty());
    }

    #[test]
    fn selected_payload_streams_wire_order_with_ancestors() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in ["usr/share/a", "usr/share/a.d", "usr/share/b"] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        for f in [
            "usr/share/a/x",
            "usr/share/a-b",
            "usr/share/a.d/y",
            "usr/share/b/z",
        ] {
            std::fs::write(root.join(f), f).unwrap();
        }
        let stanzas = vec![
            stanza("one", &["usr/share/a/**", "usr/share/a-b"]),
            stanza("two", &["usr/share/a.d/*", "usr/share/b/*"]),
        ];
        let claims = Claims::new(&stanzas);
        let select = |index| {
            SelectedPayload::new(Walk::new(root).unwrap(), index, |e| claims.owner(e, None))
                .map(|e| e.unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            paths(&select(0)),
            [
                "usr/",
                "usr/share/",
                "usr/share/a-b",
                "usr/share/a/",
                "usr/share/a/x"
            ]
        );
        assert_eq!(
            paths(&select(1)),
            [
                "usr/",
                "usr/share/",
                "usr/share/a.d/",
                "usr/share/a.d/y",
                "usr/share/b/",
                "usr/share/b/z"
            ]
        );

        // An entry that has lost its single owner since the checking pass
        // stops the stream instead of being packed or dropped silently.
        let mut stream = SelectedPayload::new(Walk::new(root).unwrap(), 0, |e| {
            if e.path == "usr/share/a-b" {
                Owner::Nobody
            } else {
                claims.owner(e, None)
            }
        });
        let err = stream.find_map(Result::err).unwrap();
        assert!(
            err.to_string().contains(
                "changed while it was packed: usr/share/a-b is now claimed by no package"
            ),
            "{err}"
        );
        assert!(stream.next().is_none());
    }
}
