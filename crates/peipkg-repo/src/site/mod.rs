//! The browse site: static HTML pages written beside the state on every
//! publish, for people (consumers read the indexes).
//!
//! Layout, all links relative so the site works under any path prefix and
//! on hosts that do not serve directory indexes (object storage):
//!
//! - `index.html`: every active package, one row each.
//! - `packages/<name>.html`: one package, every archived version, each
//!   version's file list and the signing key checked at publish time.
//! - `packages/<name>/<name>_<version>_<arch>.json`: the publish record the
//!   pages are built from (what verification saw: signer and file list),
//!   so a later publish can re-render a page without re-reading old
//!   packages.
//! - `assets/style.css`.
//!
//! No scripts, fonts or third-party resources. Pages carry no per-publish
//! data except the front page, so a publish re-renders only the front page
//! and the pages of the names it touched.

mod html;

use std::fs;
use std::path::Path;

use peipkg_format::archive::{PayloadKind, SignatureStatus, VerifiedPackage};
use peipkg_format::repository::{Descriptor, PackageEntry};
use serde::{Deserialize, Serialize};

use crate::commit::{Tree, WORK_DIR};
use crate::error::{IoContext, Result};
use crate::fsutil;
use crate::state::Docs;
use peipkg_format::repository::raw::RawEntry;

pub const STYLE_CSS: &str = include_str!("style.css");

/// Marks pages this tool rendered.
pub const GENERATOR: &str = "<meta name=\"generator\" content=\"peipkg-repo\">";

/// What publish-time verification established about one package.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub name: String,
    pub version: String,
    pub architecture: String,
    pub sha256: String,
    /// `verified` or `unsigned`.
    pub signature: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key_fingerprint: String,
    /// The publish's `--timestamp`.
    pub checked_at: String,
    pub files: Vec<RecordFile>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordFile {
    pub path: String,
    /// `file`, `dir` or `symlink`.
    #[serde(rename = "type")]
    pub kind: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
}

/// Where an entry's record lives.
pub fn record_path(e: &PackageEntry) -> String {
    record_path_of(&e.name, &e.label())
}

/// Where the record of `<name>_<version>_<arch>` (the label) lives.
pub fn record_path_of(name: &str, label: &str) -> String {
    format!("packages/{name}/{label}.json")
}

/// The record of a package verified at publish time.
pub fn record(e: &PackageEntry, pkg: &VerifiedPackage, checked_at: &str) -> (String, Vec<u8>) {
    let (signature, fp) = match &pkg.signature {
        SignatureStatus::Verified { fingerprint } => ("verified", fingerprint.clone()),
        SignatureStatus::NotChecked { fingerprint } => ("not checked", fingerprint.clone()),
        SignatureStatus::Unsigned => ("unsigned", String::new()),
    };
    let rec = Record {
        name: e.name.clone(),
        version: e.version.clone(),
        architecture: e.architecture.clone(),
        sha256: pkg.sha256.clone(),
        signature: signature.to_string(),
        key_fingerprint: fp,
        checked_at: checked_at.to_string(),
        files: pkg
            .payload
            .iter()
            .map(|p| RecordFile {
                path: p.path.clone(),
                kind: match p.kind {
                    PayloadKind::File => "file",
                    PayloadKind::Directory => "dir",
                    PayloadKind::Symlink => "symlink",
                }
                .to_string(),
                size: p.size,
                target: p.link_target.clone().unwrap_or_default(),
            })
            .collect(),
    };
    (record_path(e), peipkg_format::json::to_canonical_vec(&rec))
}

/// Read an entry's record under `root`, if there is one for these bytes.
pub fn load_record(root: &Path, e: &PackageEntry) -> Option<Record> {
    let bytes = fs::read(root.join(record_path(e))).ok()?;
    let rec: Record = serde_json::from_slice(&bytes).ok()?;
    (rec.sha256 == e.hash.value).then_some(rec)
}

/// Who signed a package, as its record says (`None` without a record for
/// these bytes). Only the three members are decoded: `verify` reads one
/// record per archived package.
pub fn load_signer(root: &Path, name: &str, label: &str, sha256: &str) -> Option<(String, String)> {
    #[derive(Deserialize)]
    struct View<'a> {
        #[serde(borrow)]
        sha256: std::borrow::Cow<'a, str>,
        #[serde(borrow)]
        signature: std::borrow::Cow<'a, str>,
        #[serde(borrow, default)]
        key_fingerprint: std::borrow::Cow<'a, str>,
    }
    let bytes = fs::read(root.join(record_path_of(name, label))).ok()?;
    let v: View<'_> = serde_json::from_slice(&bytes).ok()?;
    (v.sha256 == sha256).then(|| (v.signature.into_owned(), v.key_fingerprint.into_owned()))
}

/// The signer ledger: one line per published package,
/// `<sha256>\t<label>\t<verified|unsigned>\t<fingerprint or ->`, appended
/// by every publish. It duplicates what the records say so that `verify`
/// can judge 100,000 packages' signers by reading one file instead of
/// 100,000; a package missing from it is looked up in its record.
pub const LEDGER: &str = "packages/signers.tsv";

/// The ledger line of a record.
pub fn ledger_line(label: &str, sha256: &str, signature: &str, fingerprint: &str) -> String {
    let fp = if fingerprint.is_empty() {
        "-"
    } else {
        fingerprint
    };
    format!("{sha256}\t{label}\t{signature}\t{fp}\n")
}

/// Append lines to the ledger (derived data: not fsynced, never required).
pub fn append_ledger(root: &Path, lines: &str) -> Result<()> {
    use std::io::Write;
    if lines.is_empty() {
        return Ok(());
    }
    let path = root.join(LEDGER);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).ctx("create", parent)?;
    }
    fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .and_then(|mut f| f.write_all(lines.as_bytes()))
        .ctx("append to", &path)
}

/// The ledger as a map from package SHA-256 to (signature status,
/// fingerprint); later lines win. Empty when there is no ledger.
pub fn load_ledger(root: &Path) -> std::collections::HashMap<String, (String, String)> {
    let mut out = std::collections::HashMap::new();
    let Ok(text) = fs::read_to_string(root.join(LEDGER)) else {
        return out;
    };
    for line in text.lines() {
        let mut cols = line.split('\t');
        if let (Some(sha), Some(_label), Some(status), Some(fp)) =
            (cols.next(), cols.next(), cols.next(), cols.next())
        {
            let fp = if fp == "-" { "" } else { fp };
            out.insert(sha.to_string(), (status.to_string(), fp.to_string()));
        }
    }
    out
}

/// Whether a state-relative path is a rendered page or asset (regenerated,
/// never carried over).
pub fn is_page(rel: &str) -> bool {
    rel == "index.html"
        || rel == "assets"
        || rel.starts_with("assets/")
        || (rel.starts_with("packages/") && rel.ends_with(".html"))
}

/// Whether a state-relative path is a publish record.
pub fn is_record(rel: &str) -> bool {
    rel.starts_with("packages/") && rel.ends_with(".json")
}

/// The entries of `name` in an archive sorted by name.
fn entries_of<'x, 'a>(archive: &'x [RawEntry<'a>], name: &str) -> &'x [RawEntry<'a>] {
    let start = archive.partition_point(|e| &*e.name < name);
    let end = start + archive[start..].partition_point(|e| e.name == name);
    &archive[start..end]
}

/// Active entries from an archive in archive order: the first of each name.
fn active_of<'x, 'a>(archive: &'x [RawEntry<'a>]) -> Vec<&'x RawEntry<'a>> {
    let mut out: Vec<&RawEntry> = Vec::new();
    for e in archive {
        if out.last().is_none_or(|l| l.name != e.name) {
            out.push(e);
        }
    }
    out
}

/// What the pages are rendered from.
#[derive(Debug, Clone, Copy)]
pub struct SiteData<'x, 'a> {
    pub descriptor: &'x Descriptor,
    pub index_version: i64,
    pub generated_at: &'x str,
    /// The archive, in archive order.
    pub archive: &'x [RawEntry<'a>],
}

impl SiteData<'_, '_> {
    fn meta(&self) -> IndexMeta<'_> {
        IndexMeta {
            index_version: self.index_version,
            generated_at: self.generated_at,
        }
    }
}

/// Index metadata shown on the front page.
#[derive(Debug, Clone, Copy)]
pub struct IndexMeta<'a> {
    pub index_version: i64,
    pub generated_at: &'a str,
}

fn package_page(root: &Path, data: &SiteData<'_, '_>, entries: &[RawEntry<'_>]) -> String {
    let typed: Vec<PackageEntry> = entries.iter().map(RawEntry::decode).collect();
    html::package_page(root, data.descriptor, &typed)
}

/// Render the whole site into a tree being built (records are read from
/// the tree).
pub fn render_all(tree: &mut Tree, data: &SiteData<'_, '_>) -> Result<()> {
    let root = tree.root().to_path_buf();
    tree.write("assets/style.css", STYLE_CSS.as_bytes())?;
    let active = active_of(data.archive);
    tree.write(
        "index.html",
        html::front_page(data.descriptor, &active, data.meta()).as_bytes(),
    )?;
    for top in active {
        let entries = entries_of(data.archive, &top.name);
        let page = package_page(&root, data, entries);
        tree.write(&format!("packages/{}.html", top.name), page.as_bytes())?;
    }
    Ok(())
}

/// Bring the site of a switched state up to date for `names`: the front
/// page, those names' pages (removed when a name has left the archive),
/// and any page that is missing. Writes go through the work directory and
/// a rename, so a reader never sees half a page.
pub fn refresh(root: &Path, names: &[String], data: &SiteData<'_, '_>) -> Result<()> {
    let tmp_dir = root.join(WORK_DIR).join("site");
    fs::create_dir_all(&tmp_dir).ctx("create", &tmp_dir)?;
    let mut dirs: Vec<std::path::PathBuf> = vec![root.to_path_buf()];
    let mut put = |rel: &str, bytes: &[u8], sync: bool| -> Result<()> {
        let dst = root.join(rel);
        if fs::read(&dst).is_ok_and(|old| old == bytes) {
            return Ok(());
        }
        if let Some(parent) = dst.parent() {
            fsutil::create_dirs(root, parent)?;
            if !dirs.iter().any(|d| d == parent) {
                dirs.push(parent.to_path_buf());
            }
        }
        let tmp = tmp_dir.join("page.tmp");
        if sync {
            fsutil::write_synced(&tmp, bytes)?;
        } else {
            fs::write(&tmp, bytes).ctx("write", &tmp)?;
        }
        fs::rename(&tmp, &dst).ctx("write", &dst)?;
        Ok(())
    };
    put("assets/style.css", STYLE_CSS.as_bytes(), true)?;
    let active = active_of(data.archive);
    let mut todo: Vec<&str> = names.iter().map(String::as_str).collect();
    let mut missing = 0usize;
    // The front page is written last, so when ours is there every page
    // was rendered once; otherwise (a state from another tool, or an
    // interrupted first render) look for missing pages.
    let complete = fs::read(root.join("index.html")).is_ok_and(|b| {
        b.windows(GENERATOR.len())
            .any(|w| w == GENERATOR.as_bytes())
    });
    if !complete {
        for top in &active {
            if !root.join(format!("packages/{}.html", top.name)).exists() {
                todo.push(&top.name);
                missing += 1;
            }
        }
    }
    todo.sort_unstable();
    todo.dedup();
    // A first render of a large site writes thousands of pages: fsyncing
    // each would take minutes. Pages are derived data that the next
    // publish rewrites if a crash loses them, so bulk renders sync once.
    let sync_each = missing < 64;
    for name in todo {
        let entries = entries_of(data.archive, name);
        let rel = format!("packages/{name}.html");
        if entries.is_empty() {
            fsutil::remove_all(&root.join(&rel))?;
            let dir = root.join("packages").join(name);
            if dir.is_dir() && fsutil::dir_is_empty(&dir)? {
                fsutil::remove_all(&dir)?;
            }
            continue;
        }
        put(
            &rel,
            package_page(root, data, entries).as_bytes(),
            sync_each,
        )?;
    }
    if !sync_each {
        fsutil::syncfs(root)?;
    }
    put(
        "index.html",
        html::front_page(data.descriptor, &active, data.meta()).as_bytes(),
        true,
    )?;
    for d in &dirs {
        if d.is_dir() {
            fsutil::fsync_dir(d)?;
        }
    }
    Ok(())
}

/// [`refresh`] for a state read back from disk (recovery).
pub fn refresh_in_place(root: &Path, names: &[String]) -> Result<()> {
    let docs = Docs::load(root)?;
    let archive = docs.raw_archive()?;
    let data = SiteData {
        descriptor: &docs.descriptor,
        index_version: archive.header.index_version,
        generated_at: &archive.header.generated_at,
        archive: &archive.entries,
    };
    refresh(root, names, &data)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(name: &str, version: &str) -> RawEntry<'static> {
        peipkg_format::repository::raw::entry_from(&PackageEntry {
            name: name.into(),
            version: version.into(),
            architecture: "noarch".into(),
            ..Default::default()
        })
    }

    #[test]
    fn finds_entries_and_active_in_a_sorted_archive() {
        let archive = vec![e("a", "2-1"), e("a", "1-1"), e("b", "1-1"), e("bc", "1-1")];
        assert_eq!(entries_of(&archive, "a").len(), 2);
        assert_eq!(entries_of(&archive, "b").len(), 1);
        assert!(entries_of(&archive, "z").is_empty());
        let act: Vec<&str> = active_of(&archive).iter().map(|e| &*e.version).collect();
        assert_eq!(act, ["2-1", "1-1", "1-1"]);
    }

    #[test]
    fn classifies_site_paths() {
        assert!(is_page("index.html"));
        assert!(is_page("packages/a.html"));
        assert!(is_page("assets/style.css"));
        assert!(!is_page("p/a/1-1/a_1-1_noarch.peipkg"));
        assert!(is_record("packages/a/a_1-1_noarch.json"));
        assert!(!is_record("index/active.json"));
    }
}
