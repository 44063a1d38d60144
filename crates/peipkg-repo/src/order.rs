//! Index ordering (PSD-009 §6.2.7, §6.3.5) and the active projection
//! (§6.3.6), shared by `publish`, which produces them, and `verify` and
//! `prune`, which check and re-derive them.
//!
//! Versions compare by PSD-009 §2.2 as written (DESIGN.md §2), which differs
//! from the reference tool only for versions where a `-` follows a
//! pre-release marker; the conformance fixtures do not depend on it.

use std::cmp::Ordering;

use peipkg_format::identity::Version;
use peipkg_format::repository::PackageEntry;

use peipkg_format::repository::raw::RawEntry;

/// What ordering needs of an entry.
pub trait Identity {
    fn name(&self) -> &str;
    fn version(&self) -> &str;
    fn arch(&self) -> &str;
}

/// The decoded entry and its borrowed twin store the identity in fields of
/// the same names, so one accessor body serves both.
macro_rules! identity_from_fields {
    ($($entry:ty),+) => {$(
        impl Identity for $entry {
            fn name(&self) -> &str {
                &self.name
            }
            fn version(&self) -> &str {
                &self.version
            }
            fn arch(&self) -> &str {
                &self.architecture
            }
        }
    )+};
}

identity_from_fields!(PackageEntry, RawEntry<'_>);

impl<T: Identity> Identity for &T {
    fn name(&self) -> &str {
        (*self).name()
    }
    fn version(&self) -> &str {
        (*self).version()
    }
    fn arch(&self) -> &str {
        (*self).arch()
    }
}

/// Parse every entry's version; the error names the first entry that fails.
pub fn parse_versions<T: Identity>(entries: &[T], what: &str) -> Result<Vec<Version>, String> {
    entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            Version::parse(e.version()).map_err(|err| {
                format!(
                    "{what} entry {i} ({}): version {:?} does not parse: {err}",
                    e.name(),
                    e.version()
                )
            })
        })
        .collect()
}

/// Archive order: name ascending (bytewise), then version descending.
pub fn archive_cmp(a: (&str, &Version), b: (&str, &Version)) -> Ordering {
    a.0.as_bytes()
        .cmp(b.0.as_bytes())
        .then_with(|| b.1.cmp(a.1))
}

/// Whether entries are already in archive order.
pub fn is_sorted<T: Identity>(entries: &[T], versions: &[Version]) -> bool {
    (1..entries.len()).all(|i| {
        archive_cmp(
            (entries[i - 1].name(), &versions[i - 1]),
            (entries[i].name(), &versions[i]),
        ) != Ordering::Greater
    })
}

/// Stable-sort entries into archive order. Entries whose versions compare
/// equal keep their relative order (previous entries before new ones), as
/// in the reference.
pub fn sort_archive<T>(entries: Vec<T>, versions: Vec<Version>) -> (Vec<T>, Vec<Version>)
where
    T: Identity,
{
    let mut idx: Vec<usize> = (0..entries.len()).collect();
    idx.sort_by(|&i, &j| {
        archive_cmp(
            (entries[i].name(), &versions[i]),
            (entries[j].name(), &versions[j]),
        )
    });
    let mut slots: Vec<Option<(T, Version)>> =
        entries.into_iter().zip(versions).map(Some).collect();
    idx.into_iter().filter_map(|i| slots[i].take()).unzip()
}

/// Merge `new` entries into an archive already in order, with the result a
/// stable sort of `sorted ++ new` would give: each new entry goes after
/// every entry that does not sort after it. For a few new entries this is
/// a binary search and a move each instead of a full sort.
pub fn merge_sorted<T: Identity>(
    sorted: &mut Vec<T>,
    versions: &mut Vec<Version>,
    new: Vec<T>,
    new_versions: Vec<Version>,
) {
    for (e, v) in new.into_iter().zip(new_versions) {
        let at = {
            let (s, vs) = (&*sorted, &*versions);
            let mut lo = 0;
            let mut hi = s.len();
            while lo < hi {
                let mid = (lo + hi) / 2;
                if archive_cmp((s[mid].name(), &vs[mid]), (e.name(), &v)) == Ordering::Greater {
                    hi = mid;
                } else {
                    lo = mid + 1;
                }
            }
            lo
        };
        sorted.insert(at, e);
        versions.insert(at, v);
    }
}

/// The active index derived from an archive in archive order: the position
/// of each name's first (highest-version) entry. Two architectures at the
/// same highest version cannot both be active (§6.2.7), which is an error.
pub fn derive_active<T: Identity>(
    archive: &[T],
    versions: &[Version],
) -> Result<Vec<usize>, String> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < archive.len() {
        let top = &archive[i];
        let mut j = i + 1;
        while j < archive.len() && archive[j].name() == top.name() {
            if versions[j] == versions[i] && archive[j].arch() != top.arch() {
                return Err(format!(
                    "active index conflict: {} exists at version {} for both architectures {:?} and {:?} \
                     (§6.2.7 forbids duplicate names in the active index — split multi-arch packages across separate repositories)",
                    top.name(),
                    top.version(),
                    top.arch(),
                    archive[j].arch()
                ));
            }
            j += 1;
        }
        out.push(i);
        i = j;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, version: &str, arch: &str) -> PackageEntry {
        PackageEntry {
            name: name.into(),
            version: version.into(),
            architecture: arch.into(),
            ..Default::default()
        }
    }

    fn sorted(list: Vec<PackageEntry>) -> Vec<(String, String)> {
        let v = parse_versions(&list, "archive").unwrap();
        let (s, _) = sort_archive(list, v);
        s.into_iter().map(|e| (e.name, e.version)).collect()
    }

    #[test]
    fn sorts_like_the_reference_vector() {
        let got = sorted(vec![
            e("libfoo", "1.0.0-1", "x"),
            e("libbar", "2.5-1", "x"),
            e("libfoo", "1.2.0-1", "x"),
            e("libfoo", "1.1.0-1", "x"),
            e("libbar", "2.4-1", "x"),
        ]);
        let want: Vec<(String, String)> = [
            ("libbar", "2.5-1"),
            ("libbar", "2.4-1"),
            ("libfoo", "1.2.0-1"),
            ("libfoo", "1.1.0-1"),
            ("libfoo", "1.0.0-1"),
        ]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
        assert_eq!(got, want);
        assert!(parse_versions(&[e("x", "not-a-real-version", "x")], "archive").is_err());
    }

    #[test]
    fn merging_equals_a_stable_sort() {
        let prev = vec![
            e("a", "2-1", "x"),
            e("a", "1.01-1", "x"),
            e("b", "1-1", "x"),
            e("d", "1-1", "x"),
        ];
        let new = vec![
            e("c", "1-1", "x"),
            e("a", "1.1-1", "x"),
            e("a", "3-1", "x"),
            e("e", "1-1", "x"),
            e("0", "1-1", "x"),
        ];
        let all: Vec<PackageEntry> = prev.iter().chain(&new).cloned().collect();
        let want = sorted(all);
        let mut s = prev.clone();
        let mut v = parse_versions(&s, "a").unwrap();
        assert!(is_sorted(&s, &v));
        let nv = parse_versions(&new, "n").unwrap();
        merge_sorted(&mut s, &mut v, new, nv);
        let got: Vec<(String, String)> = s.into_iter().map(|e| (e.name, e.version)).collect();
        assert_eq!(got, want);
        assert!(got.iter().position(|x| x.1 == "1.01-1") < got.iter().position(|x| x.1 == "1.1-1"));
    }

    #[test]
    fn equal_versions_keep_merge_order_and_first_is_active() {
        let list = vec![e("a", "1.01-1", "x86_64"), e("a", "1.1-1", "x86_64")];
        let v = parse_versions(&list, "archive").unwrap();
        let (s, v) = sort_archive(list, v);
        assert_eq!(s[0].version, "1.01-1");
        let active = derive_active(&s, &v).unwrap();
        assert_eq!(active, [0]);
    }

    #[test]
    fn same_top_version_on_two_architectures_is_a_conflict() {
        let list = vec![e("a", "1.0-1", "x86_64"), e("a", "1.0-1", "aarch64")];
        let v = parse_versions(&list, "archive").unwrap();
        let (s, v) = sort_archive(list, v);
        let err = derive_active(&s, &v).unwrap_err();
        assert!(
            err.contains("both architectures \"x86_64\" and \"aarch64\""),
            "{err}"
        );
    }
}
