//! PSD-009 §3.2.7 / §3.4 layout rules applied to every package of a build
//! before any is written, all violations of all packages reported at once,
//! checked in the same pass over the staged tree as the partition.
//! The rules themselves live in `peipkg_format::layout`, shared with the
//! verifier, so what we produce is what consumers accept.

use peipkg_format::archive::reader::MAX_ENTRIES;
use peipkg_format::archive::{EntryKind, PayloadEntry};
use peipkg_format::identity::Architecture;
use peipkg_format::layout::{check_payload, LayoutKind, LayoutViolation};

use crate::partition::{Owner, PayloadSelector};
use crate::recipe::PackageStanza;
use crate::walk::StagedEntry;

/// Layout violations, per package name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct LayoutError {
    pub violations: Vec<(String, LayoutViolation)>,
}

impl LayoutError {
    fn render(&self) -> String {
        let n = self.violations.len();
        let mut out = format!(
            "payload layout check failed ({n} violation{}):",
            if n == 1 { "" } else { "s" }
        );
        for (package, violation) in &self.violations {
            out.push_str(&format!("\n  package {package:?}: {violation}"));
        }
        out
    }
}

/// Checks every package's payload as the walk goes, with the same
/// [`PayloadSelector`] the writing pass uses, so what is checked is what
/// will be written, ancestors included.
pub struct LayoutCheck {
    packages: Vec<PackageLayout>,
}

struct PackageLayout {
    name: String,
    /// `None` when the architecture did not parse (already reported with
    /// the recipe or manifest): nothing to check against.
    arch: Option<Architecture>,
    selector: PayloadSelector,
    entries: u64,
    found: Vec<(LayoutViolation, bool)>,
}

impl LayoutCheck {
    /// One package per stanza index, named, with its architecture.
    pub fn new(packages: impl IntoIterator<Item = (String, Option<Architecture>)>) -> Self {
        LayoutCheck {
            packages: packages
                .into_iter()
                .enumerate()
                .map(|(index, (name, arch))| PackageLayout {
                    name,
                    arch,
                    selector: PayloadSelector::new(index),
                    entries: 0,
                    found: Vec::new(),
                })
                .collect(),
        }
    }

    /// For every stanza of a recipe.
    pub fn for_stanzas(stanzas: &[PackageStanza]) -> Self {
        Self::new(
            stanzas
                .iter()
                .map(|s| (s.name.clone(), Architecture::parse(&s.architecture).ok())),
        )
    }

    /// The next entry of the walk and its owner; `seen` is told of every
    /// payload entry this adds, with its package's index.
    pub fn offer(
        &mut self,
        entry: &StagedEntry,
        owner: &Owner,
        mut seen: impl FnMut(usize, &PayloadEntry),
    ) {
        for (index, package) in self.packages.iter_mut().enumerate() {
            let PackageLayout {
                arch,
                selector,
                entries,
                found,
                ..
            } = package;
            selector.offer(entry, owner, |e| {
                *entries += 1;
                if let Some(arch) = arch {
                    let kind = match &e.kind {
                        EntryKind::File { .. } => LayoutKind::File,
                        EntryKind::Directory => LayoutKind::Directory,
                        EntryKind::Symlink { target } => LayoutKind::Symlink { target },
                    };
                    let is_dir = e.kind == EntryKind::Directory;
                    found.extend(
                        check_payload(arch, [(e.path.as_str(), kind)])
                            .into_iter()
                            .map(|v| (v, is_dir)),
                    );
                }
                seen(index, &e);
            });
        }
    }

    /// A warning for each package whose payload came out empty.
    pub fn empty_payload_warnings(&self) -> Vec<String> {
        self.packages
            .iter()
            .filter(|p| p.entries == 0)
            .map(|p| {
                format!(
                    "[[package]] {:?} claims nothing; its package will have an empty payload",
                    p.name
                )
            })
            .collect()
    }

    /// Every violation of every package, or none. A directory's violation
    /// is left out when an entry below it is reported too: the directory is
    /// only there as that entry's ancestor, and fixing the entry fixes both.
    pub fn finish(self) -> Result<(), LayoutError> {
        let mut all = Vec::new();
        for package in self.packages {
            if package.entries > MAX_ENTRIES {
                all.push((
                    package.name.clone(),
                    LayoutViolation {
                        path: "the payload".into(),
                        rule: format!(
                            "has {} entries, ancestors included; consumers accept at most {MAX_ENTRIES} (PSD-009 §3.2.8): split it across [[package]] stanzas",
                            package.entries
                        ),
                    },
                ));
            }
            let found = &package.found;
            for (v, is_dir) in found {
                let below = |other: &(LayoutViolation, bool)| {
                    other
                        .0
                        .path
                        .strip_prefix(v.path.as_str())
                        .is_some_and(|r| r.starts_with('/'))
                };
                if !(*is_dir && found.iter().any(below)) {
                    all.push((package.name.clone(), v.clone()));
                }
            }
        }
        if all.is_empty() {
            Ok(())
        } else {
            Err(LayoutError { violations: all })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::walk::StagedKind;

    #[test]
    fn a_payload_over_the_entry_limit_is_refused_before_writing() {
        let arch = Architecture::parse("noarch").ok();
        let mut check =
            LayoutCheck::new([("big".to_string(), arch.clone()), ("small".into(), arch)]);
        let dir = |path: &str| StagedEntry {
            path: path.into(),
            kind: StagedKind::Dir { empty: false },
        };
        check.offer(&dir("usr"), &Owner::Nobody, |_, _| {});
        check.offer(&dir("usr/share"), &Owner::Nobody, |_, _| {});
        check.offer(
            &StagedEntry {
                path: "usr/share/one".into(),
                kind: StagedKind::File { size: 1 },
            },
            &Owner::One(1),
            |_, _| {},
        );
        // The ancestors count: 2 + (MAX_ENTRIES - 1) = one over.
        for i in 0..MAX_ENTRIES - 1 {
            let entry = StagedEntry {
                path: format!("usr/share/f{i:06}"),
                kind: StagedKind::File { size: 0 },
            };
            check.offer(&entry, &Owner::One(0), |_, _| {});
        }
        let err = check.finish().unwrap_err();
        assert_eq!(err.violations.len(), 1, "{err}");
        let msg = err.to_string();
        assert!(
            msg.contains("package \"big\": the payload: has 100001 entries, ancestors included; consumers accept at most 100000"),
            "{msg}"
        );
    }
}
