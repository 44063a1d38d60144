//! PSD-009 §3.2.7 / §3.4 layout rules applied to every package of a build
//! before any is written, all violations of all packages reported at once.
//! The rules themselves live in `peipkg_format::layout`, shared with the
//! verifier, so what we produce is what consumers accept.

use peipkg_format::archive::{EntryKind, PayloadEntry};
use peipkg_format::identity::Architecture;
use peipkg_format::layout::{check_payload, LayoutKind, LayoutViolation};

use crate::recipe::PackageStanza;

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

/// Checks one payload. A directory's violation is left out when an entry
/// below it is reported too: the directory is only there as that entry's
/// ancestor, and fixing the entry fixes both.
pub fn violations(arch: &Architecture, payload: &[PayloadEntry]) -> Vec<LayoutViolation> {
    let found = check_payload(
        arch,
        payload.iter().map(|e| {
            let kind = match &e.kind {
                EntryKind::File { .. } => LayoutKind::File,
                EntryKind::Directory => LayoutKind::Directory,
                EntryKind::Symlink { target } => LayoutKind::Symlink { target },
            };
            (e.path.as_str(), kind)
        }),
    );
    let is_dir = |path: &str| {
        payload
            .iter()
            .any(|e| e.path == path && e.kind == EntryKind::Directory)
    };
    found
        .iter()
        .filter(|v| {
            !(is_dir(&v.path)
                && found.iter().any(|other| {
                    other
                        .path
                        .strip_prefix(v.path.as_str())
                        .is_some_and(|r| r.starts_with('/'))
                }))
        })
        .cloned()
        .collect()
}

/// Checks every stanza's payload (architectures were validated with the
/// recipe; a stanza whose architecture does not parse cannot reach here).
pub fn check_layouts(
    stanzas: &[PackageStanza],
    payloads: &[Vec<PayloadEntry>],
) -> Result<(), LayoutError> {
    let mut all = Vec::new();
    for (stanza, payload) in stanzas.iter().zip(payloads) {
        let Ok(arch) = Architecture::parse(&stanza.architecture) else {
            continue;
        };
        all.extend(
            violations(&arch, payload)
                .into_iter()
                .map(|v| (stanza.name.clone(), v)),
        );
    }
    if all.is_empty() {
        Ok(())
    } else {
        Err(LayoutError { violations: all })
    }
}
