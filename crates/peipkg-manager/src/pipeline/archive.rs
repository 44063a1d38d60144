//! What the repository already holds, read from `index/archive.json`.
//!
//! Dedup asks "is this version of this recipe published?" by the package
//! names the recipe declares. The reference compared the recipe directory
//! name instead, so a recipe `zlib/` producing `libz` and `libz-dev` was
//! rebuilt on every poll and then wedged the publisher with duplicates.
//! The index is decoded by `peipkg_format::repository::Index` (the format
//! crate owns the document and its lenient reading), and only `name`,
//! `version` and `architecture` are kept, so an index written by either
//! implementation of `peipkg-repo` works.

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use peipkg_format::identity::parse_package_file_name;
use peipkg_format::repository::{DecodeError, Index, IndexKind};

/// The (name, version, architecture) triples in the archive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Archive {
    entries: BTreeSet<(String, String, String)>,
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum ArchiveError {
    #[error("read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("parse {path}: {source}")]
    Parse { path: String, source: DecodeError },
}

impl Archive {
    /// Reads `<repo>/index/archive.json`; a repository without one (not
    /// initialised yet) is empty.
    pub(crate) fn load(repo: &Path) -> Result<Archive, ArchiveError> {
        let path = repo.join("index").join("archive.json");
        let file = match std::fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Archive::default()),
            Err(source) => {
                return Err(ArchiveError::Read {
                    path: path.display().to_string(),
                    source,
                })
            }
        };
        // Streamed, identities only: at 5,000 packages the document is
        // 10 MB and its full entries 14 MB more, which set the daemon's
        // peak memory.
        let ids = Index::decode_identities(std::io::BufReader::new(file), IndexKind::Archive)
            .map_err(|source| ArchiveError::Parse {
                path: path.display().to_string(),
                source,
            })?;
        Ok(Archive {
            entries: ids
                .into_iter()
                .map(|e| (e.name, e.version, e.architecture))
                .collect(),
        })
    }

    /// [`Archive::load`], but a state whose `index/archive.json` is the
    /// same file as last time (same device, inode, size and modification
    /// time; both implementations of `peipkg-repo` replace the file rather
    /// than rewrite it) is not read and parsed again. Polls, workers and
    /// the publisher all ask, so without this a farm pass re-read an index
    /// that grows with every publish once per recipe.
    pub(crate) fn load_cached(repo: &Path) -> Result<Arc<Archive>, ArchiveError> {
        use std::os::unix::fs::MetadataExt;
        type Cache = Mutex<HashMap<PathBuf, ((u64, u64, u64, i64, i64), Arc<Archive>)>>;
        static CACHE: OnceLock<Cache> = OnceLock::new();
        let path = repo.join("index").join("archive.json");
        let key = match std::fs::metadata(&path) {
            Ok(m) => (m.dev(), m.ino(), m.size(), m.mtime(), m.mtime_nsec()),
            Err(_) => return Archive::load(repo).map(Arc::new),
        };
        let cache = CACHE.get_or_init(Default::default);
        if let Some((k, a)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(repo) {
            if *k == key {
                return Ok(a.clone());
            }
        }
        let a = Arc::new(Archive::load(repo)?);
        cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(repo.to_path_buf(), (key, a.clone()));
        Ok(a)
    }

    pub(crate) fn contains(&self, name: &str, version: &str, arch: &str) -> bool {
        self.entries
            .contains(&(name.to_string(), version.to_string(), arch.to_string()))
    }

    /// Which of `names` are present at `version` (any architecture).
    pub(crate) fn published_names<'a>(&self, names: &'a [String], version: &str) -> Vec<&'a str> {
        names
            .iter()
            .filter(|n| {
                let from = (n.to_string(), version.to_string(), String::new());
                self.entries
                    .range(from..)
                    .next()
                    .is_some_and(|(en, ev, _)| en == *n && ev == version)
            })
            .map(String::as_str)
            .collect()
    }

    #[cfg(test)]
    fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Splits `<name>_<version>_<arch>.peipkg` with the format's own rule
/// ([`parse_package_file_name`]); `None` for a name that is not a valid
/// package file name. The version comes back in canonical form, which is
/// how the indexes spell it.
pub(crate) fn split_file_name(file: &str) -> Option<(String, String, String)> {
    let (name, version, arch) = parse_package_file_name(file).ok()?;
    Some((name.to_string(), version.to_string(), arch.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dedup_is_by_declared_package_names() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("index")).unwrap();
        std::fs::write(
            d.path().join("index/archive.json"),
            r#"{"schema_version":1,"kind":"archive","packages":[
                {"name":"libz","version":"1.3.1-1","architecture":"x86_64","extra":1},
                {"name":"libz-dev","version":"1.3.1-1","architecture":"x86_64"}]}"#,
        )
        .unwrap();
        let a = Archive::load(d.path()).unwrap();
        let names = vec!["libz".to_string(), "libz-dev".to_string()];
        assert_eq!(
            a.published_names(&names, "1.3.1-1"),
            vec!["libz", "libz-dev"]
        );
        assert!(a.published_names(&names, "1.3.2-1").is_empty());
        // The recipe directory name means nothing to the archive.
        assert!(a
            .published_names(&["zlib".to_string()], "1.3.1-1")
            .is_empty());
        assert!(a.contains("libz", "1.3.1-1", "x86_64"));
    }

    #[test]
    fn missing_archive_is_empty_and_garbage_is_an_error() {
        let d = tempfile::tempdir().unwrap();
        assert!(Archive::load(d.path()).unwrap().is_empty());
        std::fs::create_dir_all(d.path().join("index")).unwrap();
        std::fs::write(d.path().join("index/archive.json"), "{not json").unwrap();
        let e = Archive::load(d.path()).unwrap_err().to_string();
        assert!(e.contains("archive.json"), "{e}");
    }

    #[test]
    fn file_names_split_at_the_first_two_underscores() {
        assert_eq!(
            split_file_name("libz-dev_1:1.3.1-rc1-2_x86_64.peipkg"),
            Some(("libz-dev".into(), "1:1.3.1-rc1-2".into(), "x86_64".into()))
        );
        assert_eq!(split_file_name("nope.peipkg"), None);
        assert_eq!(split_file_name("a_b_c.tar"), None);
        // The format's rules, not just the shape: an invalid version or
        // architecture is not a package file name.
        assert_eq!(split_file_name("a_b_c.peipkg"), None);
        assert_eq!(split_file_name("libz_1.0-1_Bogus.peipkg"), None);
    }
}
