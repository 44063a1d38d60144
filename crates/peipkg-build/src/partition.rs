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

use peipkg_format::archive::writer::cmp_wire;
use peipkg_format::archive::{EntryKind, PayloadEntry};
use std::collections::BTreeSet;

use crate::recipe::PackageStanza;
use crate::walk::{StagedEntry, StagedKind};

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

/// The outcome of a successful partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partition {
    /// One payload per stanza, in stanza order, sorted by path, ancestors
    /// included.
    pub payloads: Vec<Vec<PayloadEntry>>,
    /// Things worth telling the operator that are not errors.
    pub warnings: Vec<String>,
}

/// Partitions `entries` (a walk of the staged tree) across `stanzas`.
/// Entries move into their payloads rather than being copied: a staged
/// tree can hold hundreds of thousands of them.
pub fn partition(
    stanzas: &[PackageStanza],
    entries: Vec<StagedEntry>,
) -> Result<Partition, PartitionError> {
    let mut leaves: Vec<Vec<StagedEntry>> = vec![Vec::new(); stanzas.len()];
    let mut orphans = Vec::new();
    let mut overlaps = Vec::new();
    let mut warnings = Vec::new();
    let mut pattern_used: Vec<Vec<bool>> =
        stanzas.iter().map(|s| vec![false; s.files.len()]).collect();

    for entry in entries {
        let is_dir = matches!(entry.kind, StagedKind::Dir { .. });
        if is_dir {
            let claimed = stanzas.iter().any(|s| {
                s.files
                    .iter()
                    .any(|f| f.glob.is_dir_pattern() && f.glob.matches(&entry.path))
            });
            if !claimed {
                if entry.kind == (StagedKind::Dir { empty: true }) {
                    warnings.push(format!(
                        "empty directory {} is claimed by no package and is left out (claim it with a pattern ending in '/', e.g. \"{}/\")",
                        entry.path, entry.path
                    ));
                }
                continue;
            }
        }
        let mut owners = Vec::new();
        for (index, stanza) in stanzas.iter().enumerate() {
            let mut matched = false;
            for (pattern_index, pattern) in stanza.files.iter().enumerate() {
                // Directory patterns claim directories only; a claimed
                // directory is also tested against the ordinary patterns.
                if pattern.glob.is_dir_pattern() && !is_dir {
                    continue;
                }
                if pattern.glob.matches(&entry.path) {
                    pattern_used[index][pattern_index] = true;
                    matched = true;
                }
            }
            if matched {
                owners.push(index);
            }
        }
        match owners.as_slice() {
            [] => orphans.push(entry.path.clone()),
            [only] => leaves[*only].push(entry),
            several => overlaps.push((
                entry.path.clone(),
                several.iter().map(|&i| stanzas[i].name.clone()).collect(),
            )),
        }
    }

    if !orphans.is_empty() || !overlaps.is_empty() {
        orphans.sort();
        overlaps.sort();
        return Err(PartitionError { orphans, overlaps });
    }

    for (stanza, used) in stanzas.iter().zip(&pattern_used) {
        for (pattern, used) in stanza.files.iter().zip(used) {
            if !used {
                warnings.push(format!(
                    "[[package]] {:?}: files pattern {:?} (line {}) matched nothing in the staged tree",
                    stanza.name,
                    pattern.glob.as_str(),
                    pattern.line
                ));
            }
        }
    }

    let payloads = leaves
        .into_iter()
        .map(payload_with_ancestors)
        .collect::<Vec<_>>();
    for (stanza, payload) in stanzas.iter().zip(&payloads) {
        if payload.is_empty() {
            warnings.push(format!(
                "[[package]] {:?} claims nothing; its package will have an empty payload",
                stanza.name
            ));
        }
    }
    Ok(Partition { payloads, warnings })
}

/// The payload entries for `leaves` plus every ancestor directory, in
/// wire order (the writer's order, so its sort has nothing left to do).
pub fn payload_with_ancestors(leaves: Vec<StagedEntry>) -> Vec<PayloadEntry> {
    // Every ancestor of a member is a member, so the climb stops at the
    // first directory already known.
    let mut directories: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::with_capacity(leaves.len());
    for leaf in leaves {
        let mut path = leaf.path.as_str();
        while let Some((parent, _)) = path.rsplit_once('/') {
            if directories.contains(parent) {
                break;
            }
            directories.insert(parent.to_string());
            path = parent;
        }
        match leaf.kind {
            StagedKind::Dir { .. } => {
                directories.insert(leaf.path);
            }
            StagedKind::File { size } => out.push(PayloadEntry {
                path: leaf.path,
                kind: EntryKind::File { size },
            }),
            StagedKind::Symlink { target } => out.push(PayloadEntry {
                path: leaf.path,
                kind: EntryKind::Symlink { target },
            }),
        }
    }
    out.extend(directories.into_iter().map(|path| PayloadEntry {
        path,
        kind: EntryKind::Directory,
    }));
    out.sort_unstable_by(cmp_wire);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::glob::Glob;
    use crate::recipe::FilePattern;

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
}
