//! The active and archive indexes (PSD-009 §6.2, §6.3): one shape, two kinds.

use serde::{Deserialize, Serialize};

use super::entry::PackageEntry;
use super::lenient::null_default;
use super::DecodeError;

/// Which index a document is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IndexKind {
    Active,
    Archive,
}

impl IndexKind {
    /// The `kind` member value.
    pub fn as_str(self) -> &'static str {
        match self {
            IndexKind::Active => "active",
            IndexKind::Archive => "archive",
        }
    }

    fn section(self) -> &'static str {
        match self {
            IndexKind::Active => "6.2",
            IndexKind::Archive => "6.3",
        }
    }

    fn document(self) -> &'static str {
        match self {
            IndexKind::Active => "index/active.json",
            IndexKind::Archive => "index/archive.json",
        }
    }
}

/// `index/active.json` or `index/archive.json`. Field order is byte order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Index {
    #[serde(default, deserialize_with = "null_default")]
    pub schema_version: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub repo: String,
    #[serde(default, deserialize_with = "null_default")]
    pub kind: String,
    #[serde(default, deserialize_with = "null_default")]
    pub index_version: i64,
    /// Kept verbatim: the reference stores `--timestamp` as given.
    #[serde(default, deserialize_with = "null_default")]
    pub generated_at: String,
    #[serde(default, deserialize_with = "null_default")]
    pub packages: Vec<PackageEntry>,
}

/// One entry's identity: all that a reader asking "is this version
/// published?" needs from an index.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
pub struct EntryIdentity {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    #[serde(default, deserialize_with = "null_default")]
    pub version: String,
    #[serde(default, deserialize_with = "null_default")]
    pub architecture: String,
}

/// The `packages` member only; serde skips every other member unread.
#[derive(Deserialize)]
struct Identities {
    #[serde(default, deserialize_with = "null_default")]
    packages: Vec<EntryIdentity>,
}

impl Index {
    pub fn new(
        kind: IndexKind,
        repo: &str,
        index_version: i64,
        generated_at: &str,
        packages: Vec<PackageEntry>,
    ) -> Index {
        Index {
            schema_version: 1,
            repo: repo.to_string(),
            kind: kind.as_str().to_string(),
            index_version,
            generated_at: generated_at.to_string(),
            packages,
        }
    }

    /// Canonical bytes, with the trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::to_canonical_vec(self)
    }

    /// Lenient decode (see the module documentation). `kind` only names the
    /// document in the error; the `kind` member is checked by
    /// [`Index::validate_header`].
    pub fn decode(bytes: &[u8], kind: IndexKind) -> Result<Index, DecodeError> {
        serde_json::from_slice(bytes).map_err(|e| DecodeError {
            document: kind.document(),
            section: kind.section(),
            reason: e.to_string(),
        })
    }

    /// The identities of the entries, read from a stream with the same
    /// lenient rules as [`Index::decode`]. An archive index of a large
    /// repository is tens of megabytes and its full entries several times
    /// that in memory; a farm that only deduplicates must hold neither.
    pub fn decode_identities<R: std::io::Read>(
        reader: R,
        kind: IndexKind,
    ) -> Result<Vec<EntryIdentity>, DecodeError> {
        let ids: Identities = serde_json::from_reader(reader).map_err(|e| DecodeError {
            document: kind.document(),
            section: kind.section(),
            reason: e.to_string(),
        })?;
        Ok(ids.packages)
    }

    /// The MUSTs of the top-level members (§6.2.2): schema version, kind,
    /// positive index_version, and a `repo` equal to the descriptor's name.
    /// Entries are checked separately ([`PackageEntry::validate`]), because a
    /// verifier walks them anyway.
    pub fn validate_header(&self, kind: IndexKind, repo_name: &str) -> Vec<String> {
        let doc = kind.document();
        let sec = kind.section();
        let mut out = Vec::new();
        if self.schema_version != 1 {
            out.push(format!(
                "{doc} schema_version is {}, must be 1 (PSD-009 §{sec})",
                self.schema_version
            ));
        }
        if self.kind != kind.as_str() {
            out.push(format!(
                "{doc} kind is {:?}, must be {:?} (PSD-009 §{sec})",
                self.kind,
                kind.as_str()
            ));
        }
        if self.index_version < 1 {
            out.push(format!(
                "{doc} index_version is {}, must be >= 1 (PSD-009 §6.2.4)",
                self.index_version
            ));
        }
        if self.repo != repo_name {
            out.push(format!(
                "{doc} repo is {:?}, must match the descriptor's repo.name {:?} (PSD-009 §6.2.2)",
                self.repo, repo_name
            ));
        }
        if self.generated_at.is_empty() {
            out.push(format!("{doc} generated_at is empty (PSD-009 §6.2.2)"));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repository::{BuildSubset, Dependency, Hash, Provides};

    #[test]
    fn empty_index_matches_the_reference_bytes() {
        let got = Index::new(
            IndexKind::Active,
            "test-repo",
            1,
            "2026-05-07T00:00:00Z",
            vec![],
        );
        assert_eq!(
            String::from_utf8(got.to_bytes()).unwrap(),
            "{\"schema_version\":1,\"repo\":\"test-repo\",\"kind\":\"active\",\"index_version\":1,\"generated_at\":\"2026-05-07T00:00:00Z\",\"packages\":[]}\n"
        );
    }

    #[test]
    fn entry_matches_the_reference_bytes() {
        let entry = PackageEntry {
            name: "libfoo".into(),
            version: "1:1.2.3~rc1-2".into(),
            architecture: "x86_64".into(),
            description: "libfoo runtime library".into(),
            license: "MIT OR Apache-2.0".into(),
            homepage: "https://example.org/libfoo".into(),
            dependencies: vec![Dependency {
                name: "libc".into(),
                ..Default::default()
            }],
            provides: vec![Provides {
                name: "foo-abi".into(),
                version: "1.2-1".into(),
            }],
            side_effects: vec!["ldconfig".into()],
            size_compressed: 877,
            size_installed: 41,
            hash: Hash::sha256("d44851ed325971510deebc802f2dd4e2daf9e9930fab662500f42f2952a5a831"),
            url: "/p/libfoo/1:1.2.3~rc1-2/libfoo_1:1.2.3~rc1-2_x86_64.peipkg".into(),
            build: BuildSubset {
                timestamp: "2026-05-06T13:30:00Z".into(),
                farm_id: "test-farm-1".into(),
            },
            ..Default::default()
        };
        let want = "{\"name\":\"libfoo\",\"version\":\"1:1.2.3~rc1-2\",\"architecture\":\"x86_64\",\"description\":\"libfoo runtime library\",\"license\":\"MIT OR Apache-2.0\",\"homepage\":\"https://example.org/libfoo\",\"dependencies\":[{\"name\":\"libc\"}],\"optional_dependencies\":[],\"conflicts\":[],\"provides\":[{\"name\":\"foo-abi\",\"version\":\"1.2-1\"}],\"replaces\":[],\"side_effects\":[\"ldconfig\"],\"size_compressed\":877,\"size_installed\":41,\"hash\":{\"algorithm\":\"sha256\",\"value\":\"d44851ed325971510deebc802f2dd4e2daf9e9930fab662500f42f2952a5a831\"},\"url\":\"/p/libfoo/1:1.2.3~rc1-2/libfoo_1:1.2.3~rc1-2_x86_64.peipkg\",\"build\":{\"timestamp\":\"2026-05-06T13:30:00Z\",\"farm_id\":\"test-farm-1\"}}\n";
        assert_eq!(
            String::from_utf8(crate::json::to_canonical_vec(&entry)).unwrap(),
            want
        );
        assert!(
            entry.validate("entry").is_empty(),
            "{:?}",
            entry.validate("entry")
        );
    }

    #[test]
    fn nulls_and_missing_members_read_as_empty() {
        let text = "{\"schema_version\":1,\"repo\":\"r\",\"kind\":\"archive\",\"index_version\":0,\"generated_at\":\"t\",\"packages\":[{\"name\":\"a\",\"dependencies\":null,\"unknown\":{\"x\":1},\"hash\":{\"algorithm\":\"sha256\",\"value\":\"ab\"}}]}";
        let idx = Index::decode(text.as_bytes(), IndexKind::Archive).unwrap();
        assert_eq!(idx.index_version, 0);
        let e = &idx.packages[0];
        assert!(e.dependencies.is_empty());
        assert_eq!(e.version, "");
        let out = String::from_utf8(idx.to_bytes()).unwrap();
        assert!(out.contains("\"dependencies\":[],\"optional_dependencies\":[]"));
        assert!(!out.contains("unknown"));
    }

    #[test]
    fn negative_sizes_and_fractions_are_decode_errors() {
        for bad in [
            "{\"packages\":[{\"size_compressed\":-1}]}",
            "{\"packages\":[{\"size_installed\":1.0}]}",
            "{\"index_version\":\"2\"}",
            "{\"packages\":{}}",
        ] {
            let err = Index::decode(bad.as_bytes(), IndexKind::Active).unwrap_err();
            assert_eq!(err.document, "index/active.json", "{bad}");
        }
    }

    #[test]
    fn header_validation_names_each_problem() {
        let mut idx = Index::new(IndexKind::Active, "other", 0, "", vec![]);
        idx.schema_version = 3;
        idx.kind = "archive".into();
        let p = idx.validate_header(IndexKind::Active, "mine").join("\n");
        for needle in [
            "schema_version is 3",
            "kind is \"archive\"",
            "index_version is 0",
            "repo is \"other\"",
            "generated_at is empty",
        ] {
            assert!(p.contains(needle), "{needle} not in {p}");
        }
    }
}
