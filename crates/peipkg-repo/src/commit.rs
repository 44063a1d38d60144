//! Atomic state switches, and recovery from interrupted ones.
//!
//! The guarantee: whatever instant a writer dies (kill -9, or power loss
//! once the data it fsynced is on disk), the state directory reads as the
//! complete old state or the complete new one, and `verify` passes on it.
//! The reference rewrites files in place and gives no such guarantee.
//!
//! A state's package files live under the state directory and can number in
//! the hundreds of thousands, so building a whole new tree for every publish
//! (hard-linking every package) would make a one-package publish cost
//! seconds. Three switches are therefore used, each a single atomic rename:
//!
//! - **In place** ([`InPlace`]), for the common publish and for pruning.
//!   Package files are immutable and only ever added, so new ones are moved
//!   into `p/` first, where nothing references them yet; then the whole
//!   `index/` directory is exchanged with a fully written and fsynced new one
//!   (`renameat2(RENAME_EXCHANGE)`). That exchange is the commit point. A
//!   journal written before anything outside the work directory changes
//!   lets the next run tell whether the commit happened: if it did, the
//!   post-commit work (browse site, removing pruned files) is finished; if
//!   not, the unreferenced new package files are removed again. The
//!   descriptor's bytes do not change in this path; when only its
//!   signature changes, that file is exchanged first (both the old and the
//!   new signature are valid for the same bytes).
//! - **Replace** ([`replace_tree`]), when the descriptor itself changes (key
//!   rotation) or the state is rebuilt: a complete new tree is built beside
//!   the state, unchanged files hard-linked, and exchanged with the state
//!   directory in one `renameat2`. Leftovers are removed on the next run.
//! - **Fresh** ([`fresh_tree`]), for `init` and out-of-place publishes: the
//!   tree is built beside the target and renamed onto it, which the kernel
//!   only does when the target is absent or an empty directory.
//!
//! All of this runs under the state's exclusive lock ([`crate::lock`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{IoContext, RepoError, Result};
use crate::fsutil::{self, create_dirs, exchange, fsync_dir, remove_all, write_synced};
use crate::lock;

/// The work directory of an in-place switch, inside the state. Its name is
/// reserved: no package URL may point into it.
pub const WORK_DIR: &str = ".peipkg-repo-work";
const JOURNAL: &str = "journal.json";
const SWAP_TAG: &str = ".peipkg-repo-swap-";
const NEW_TAG: &str = ".peipkg-repo-new-";

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn sha256_file(path: &Path) -> Option<String> {
    fs::read(path).ok().map(|b| sha256_hex(&b))
}

/// What the next run needs to finish or undo an in-place switch.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Journal {
    /// SHA-256 of the new `index/archive.json`: the state has switched iff
    /// the live file has this hash (index_version always grows, so the old
    /// file never has it).
    pub new_archive_sha256: String,
    /// Files moved into the state before the switch: (path, SHA-256).
    pub added: Vec<(String, String)>,
    /// Directories created for them, outermost first.
    pub created_dirs: Vec<String>,
    /// SHA-256 of the new descriptor signature when it was exchanged.
    pub new_descriptor_sig_sha256: Option<String>,
    /// Files to remove once switched (pruned packages and their records).
    pub remove_after: Vec<String>,
    /// Package names whose browse pages must be rendered once switched.
    pub site_names: Vec<String>,
}

/// Post-switch work shared by a normal run and a recovering one: given the
/// switched state and the package names touched, bring the browse site up
/// to date.
pub type SiteHook<'a> = &'a dyn Fn(&Path, &[String]) -> Result<()>;

/// An in-place switch being prepared in `<state>/.peipkg-repo-work/`.
#[derive(Debug)]
pub struct InPlace {
    root: PathBuf,
    work: PathBuf,
    journal: Journal,
    /// (staged file in the work dir, destination relative to the state)
    moves: Vec<(PathBuf, String)>,
    new_index: Option<PathBuf>,
    new_sig: Option<PathBuf>,
}

impl InPlace {
    /// Start a switch. The caller holds the exclusive lock and has run
    /// [`recover`], so no work directory exists.
    pub fn begin(root: &Path) -> Result<InPlace> {
        let work = root.join(WORK_DIR);
        remove_all(&work)?;
        fs::create_dir(&work).ctx("create work directory", &work)?;
        fs::create_dir(work.join("incoming")).ctx("create", &work.join("incoming"))?;
        Ok(InPlace {
            root: root.to_path_buf(),
            work,
            journal: Journal::default(),
            moves: Vec::new(),
            new_index: None,
            new_sig: None,
        })
    }

    /// Where to stage incoming files (same file system as the state).
    pub fn incoming_dir(&self) -> PathBuf {
        self.work.join("incoming")
    }

    /// Temporary space for post-switch writes.
    pub fn work_dir(&self) -> &Path {
        &self.work
    }

    /// Move a staged (fsynced) file to `dest` (relative to the state) before
    /// the switch. `dest` must not exist.
    pub fn add_file(&mut self, staged: PathBuf, dest: String, sha256: String) {
        self.journal.added.push((dest.clone(), sha256));
        self.moves.push((staged, dest));
    }

    /// Remove these files (relative paths) after the switch.
    pub fn remove_after(&mut self, rels: Vec<String>) {
        self.journal.remove_after.extend(rels);
    }

    /// Render these packages' browse pages after the switch.
    pub fn site_names(&mut self, names: Vec<String>) {
        self.journal.site_names = names;
    }

    /// Stage the new index directory: `files` are (name, bytes) such as
    /// (`active.json`, …). `archive_sha256` (of the new archive) identifies
    /// the commit.
    pub fn set_index(&mut self, files: &[(&str, &[u8])], archive_sha256: &[u8; 32]) -> Result<()> {
        let dir = self.work.join("index");
        fs::create_dir(&dir).ctx("create", &dir)?;
        // Two writers: the archive's write and fsync overlap the others'.
        let biggest = (0..files.len()).max_by_key(|&i| files[i].1.len());
        std::thread::scope(|s| -> Result<()> {
            let big = biggest.map(|i| {
                let (name, bytes) = files[i];
                let path = dir.join(name);
                s.spawn(move || write_synced(&path, bytes))
            });
            for (i, (name, bytes)) in files.iter().enumerate() {
                if Some(i) != biggest {
                    write_synced(&dir.join(name), bytes)?;
                }
            }
            match big.map(|h| h.join()) {
                Some(Ok(r)) => r,
                Some(Err(_)) => Err(RepoError::refused("internal: index writer thread panicked")),
                None => Ok(()),
            }
        })?;
        fsync_dir(&dir)?;
        self.journal.new_archive_sha256 = hex::encode(archive_sha256);
        self.new_index = Some(dir);
        Ok(())
    }

    /// Stage a new descriptor signature (the descriptor bytes are unchanged).
    pub fn set_descriptor_sig(&mut self, bytes: &[u8]) -> Result<()> {
        let path = self.work.join("repo.json.sig");
        write_synced(&path, bytes)?;
        self.journal.new_descriptor_sig_sha256 = Some(sha256_hex(bytes));
        self.new_sig = Some(path);
        Ok(())
    }

    /// Switch. Returns once the new state is durable and the post-switch
    /// work is done.
    pub fn commit(mut self, site: SiteHook<'_>) -> Result<()> {
        let new_index = self
            .new_index
            .clone()
            .ok_or_else(|| RepoError::refused("internal: in-place switch without an index"))?;
        let mut ph = crate::timings::Phases::start();
        self.prepare()?;

        // New package files: unreferenced until the switch.
        let mut touched_dirs: Vec<PathBuf> = Vec::new();
        for (staged, dest) in &self.moves {
            let dst = self.root.join(dest);
            let parent = dst.parent().unwrap_or(&self.root).to_path_buf();
            create_dirs(&self.root, &parent)?;
            fs::rename(staged, &dst).ctx("move package into", &dst)?;
            if !touched_dirs.contains(&parent) {
                touched_dirs.push(parent);
            }
        }
        for d in &touched_dirs {
            fsync_dir(d)?;
        }

        if let Some(sig) = &self.new_sig {
            let live = self.root.join("repo.json.sig");
            exchange(&live, sig).ctx("switch descriptor signature", &live)?;
            fsync_dir(&self.root)?;
        }

        // The commit point.
        let live_index = self.root.join("index");
        switch_dir(&live_index, &new_index, &self.work)?;
        fsync_dir(&self.root)?;
        ph.mark("commit: switch");

        let r = finish_committed(&self.root, &self.work, &self.journal, site);
        ph.mark("commit: post-switch (site, cleanup)");
        r
    }

    /// Record in the journal everything the switch will do outside the
    /// work directory, before it does any of it.
    fn prepare(&mut self) -> Result<()> {
        // Directories the new files need, recorded before any is created.
        let mut created: Vec<String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for (_, dest) in &self.moves {
            let mut missing = Vec::new();
            let mut cur = self.root.join(dest);
            while let Some(parent) = cur.parent() {
                if parent == self.root || parent.is_dir() {
                    break;
                }
                missing.push(parent.to_path_buf());
                cur = parent.to_path_buf();
            }
            for d in missing.into_iter().rev() {
                let rel = rel_of(&self.root, &d);
                if seen.insert(rel.clone()) {
                    created.push(rel);
                }
            }
        }
        self.journal.created_dirs = created;

        self.write_journal()
    }

    fn write_journal(&self) -> Result<()> {
        let tmp = self.work.join("journal.tmp");
        let bytes = serde_json::to_vec(&self.journal)
            .map_err(|e| RepoError::refused(format!("internal: encode journal: {e}")))?;
        write_synced(&tmp, &bytes)?;
        let dst = self.work.join(JOURNAL);
        fs::rename(&tmp, &dst).ctx("write journal", &dst)?;
        fsync_dir(&self.work)
    }
}

/// Exchange `live` with `new`; where the file system cannot exchange, fall
/// back to two renames through `<work>/index.old` (recovery knows that
/// name), which leaves a moment without `index/`.
fn switch_dir(live: &Path, new: &Path, work: &Path) -> Result<()> {
    match exchange(live, new) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == io::ErrorKind::Unsupported => {
            let old = work.join("index.old");
            fs::rename(live, &old).ctx("move aside", live)?;
            fs::rename(new, live).ctx("switch to new", live)
        }
        Err(e) => Err(RepoError::io("switch to new", live, e)),
    }
}

fn rel_of(root: &Path, p: &Path) -> String {
    p.strip_prefix(root)
        .unwrap_or(p)
        .to_string_lossy()
        .into_owned()
}

/// Everything after the commit point; idempotent, so recovery can redo it.
fn finish_committed(root: &Path, work: &Path, j: &Journal, site: SiteHook<'_>) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for rel in &j.remove_after {
        let p = root.join(rel);
        remove_all(&p)?;
        if let Some(parent) = p.parent() {
            dirs.push(parent.to_path_buf());
        }
    }
    // Prune empty package directories left behind, deepest first.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    dirs.dedup();
    for d in &dirs {
        let mut cur = d.clone();
        while cur.starts_with(root.join("p")) && cur != root.join("p") {
            if fs::remove_dir(&cur).is_err() {
                break;
            }
            if let Some(parent) = cur.parent() {
                let _ = fsync_dir(parent);
                cur = parent.to_path_buf();
            } else {
                break;
            }
        }
    }
    site(root, &j.site_names)?;
    remove_all(work)?;
    fsync_dir(root)
}

/// Undo a switch that did not reach its commit point.
fn roll_back(root: &Path, work: &Path, j: &Journal) -> Result<()> {
    // Fallback switch interrupted between its two renames.
    let live_index = root.join("index");
    let old = work.join("index.old");
    if !live_index.exists() && old.is_dir() {
        fs::rename(&old, &live_index).ctx("restore", &live_index)?;
        fsync_dir(root)?;
    }
    if let Some(new_sig) = &j.new_descriptor_sig_sha256 {
        let live = root.join("repo.json.sig");
        let saved = work.join("repo.json.sig");
        if sha256_file(&live).as_deref() == Some(new_sig.as_str()) && saved.exists() {
            exchange(&live, &saved).ctx("restore descriptor signature", &live)?;
            fsync_dir(root)?;
        }
    }
    for (rel, sha) in &j.added {
        let p = root.join(rel);
        // Only what this switch wrote: a file with other bytes is not ours.
        if sha256_file(&p).as_deref() == Some(sha.as_str()) {
            fs::remove_file(&p).ctx("remove", &p)?;
        }
    }
    for rel in j.created_dirs.iter().rev() {
        let _ = fs::remove_dir(root.join(rel));
    }
    let mut parents: Vec<PathBuf> = j
        .added
        .iter()
        .filter_map(|(rel, _)| root.join(rel).parent().map(Path::to_path_buf))
        .collect();
    parents.push(root.to_path_buf());
    parents.sort();
    parents.dedup();
    for p in parents {
        if p.is_dir() {
            fsync_dir(&p)?;
        }
    }
    remove_all(work)?;
    fsync_dir(root)
}

/// What [`recover`] found and did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recovery {
    Nothing,
    /// An interrupted switch had committed; its post-switch work was finished.
    RolledForward,
    /// An interrupted switch had not committed; its traces were removed.
    RolledBack,
    /// Leftover work directories without a journal were removed.
    Cleaned,
}

/// Finish or undo whatever an interrupted writer left in or beside `root`.
/// The caller holds the exclusive lock.
pub fn recover(root: &Path, site: SiteHook<'_>) -> Result<Recovery> {
    let mut outcome = Recovery::Nothing;
    if remove_stale_siblings(root, SWAP_TAG)? {
        outcome = Recovery::Cleaned;
    }
    let work = root.join(WORK_DIR);
    if !work.exists() {
        return Ok(outcome);
    }
    let jpath = work.join(JOURNAL);
    let journal: Option<Journal> = match fs::read(&jpath) {
        Ok(b) => Some(serde_json::from_slice(&b).map_err(|e| {
            RepoError::bad_file(
                &jpath,
                format!("journal of an interrupted publish does not parse ({e}); inspect it, then remove {}", work.display()),
            )
        })?),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(RepoError::io("read", &jpath, e)),
    };
    let Some(j) = journal else {
        remove_all(&work)?;
        fsync_dir(root)?;
        return Ok(Recovery::Cleaned);
    };
    let live_archive = root.join("index/archive.json");
    if sha256_file(&live_archive).as_deref() == Some(j.new_archive_sha256.as_str()) {
        finish_committed(root, &work, &j, site)?;
        Ok(Recovery::RolledForward)
    } else {
        roll_back(root, &work, &j)?;
        Ok(Recovery::RolledBack)
    }
}

/// Whether an interrupted writer left something that [`recover`] would
/// handle (for `verify` to mention).
pub fn leftovers(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let work = root.join(WORK_DIR);
    if work.exists() {
        out.push(work);
    }
    out.extend(siblings(root, SWAP_TAG));
    out
}

fn sibling_prefix(target: &Path, tag: &str) -> Option<(PathBuf, String)> {
    let parent = target.parent()?.to_path_buf();
    let name = target.file_name()?.to_string_lossy().into_owned();
    Some((parent, format!(".{name}{tag}")))
}

fn siblings(target: &Path, tag: &str) -> Vec<PathBuf> {
    let Some((parent, prefix)) = sibling_prefix(target, tag) else {
        return Vec::new();
    };
    let Ok(rd) = fs::read_dir(&parent) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = rd
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(&prefix))
        .map(|e| e.path())
        .collect();
    out.sort();
    out
}

/// Remove sibling build directories of `target` whose builder is gone (a
/// live builder holds an exclusive lock on its directory).
fn remove_stale_siblings(target: &Path, tag: &str) -> Result<bool> {
    let mut removed = false;
    for dir in siblings(target, tag) {
        if let Some(_guard) = lock::try_exclusive(&dir)? {
            remove_all(&dir)?;
            removed = true;
        }
    }
    if removed {
        if let Some(parent) = target.parent() {
            fsync_dir(parent)?;
        }
    }
    Ok(removed)
}

/// A directory tree being built beside its target. Files are fsynced as
/// they are written; directories are fsynced before the tree is switched in.
#[derive(Debug)]
pub struct Tree {
    root: PathBuf,
    dirs: Vec<PathBuf>,
    _guard: fs::File,
}

impl Tree {
    fn create(target: &Path, tag: &str) -> Result<Tree> {
        let (parent, prefix) = sibling_prefix(target, tag).ok_or_else(|| {
            RepoError::refused(format!("{}: not a usable directory path", target.display()))
        })?;
        fs::create_dir_all(&parent).ctx("create directory", &parent)?;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let root = parent.join(format!("{prefix}{}-{nanos}", std::process::id()));
        fs::create_dir(&root).ctx("create build directory", &root)?;
        let guard = lock::try_exclusive(&root)?.ok_or_else(|| {
            RepoError::Locked(format!(
                "{}: just created but already locked",
                root.display()
            ))
        })?;
        Ok(Tree {
            dirs: vec![root.clone()],
            root,
            _guard: guard,
        })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    /// The destination of `rel`, with its directory created and any file
    /// already there unlinked: that file may be a hard link shared with the
    /// live state, which must never be written through.
    fn ensure_parent(&mut self, rel: &str) -> Result<PathBuf> {
        let dst = self.root.join(rel);
        if let Some(parent) = dst.parent() {
            if !parent.is_dir() {
                let made = create_dirs(&self.root, parent)?;
                self.dirs.extend(made);
            }
        }
        match fs::remove_file(&dst) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(RepoError::io("replace", &dst, e)),
        }
        Ok(dst)
    }

    /// Write a new file.
    pub fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let dst = self.ensure_parent(rel)?;
        write_synced(&dst, bytes)
    }

    /// Put an existing file into the tree: hard link when possible.
    pub fn link(&mut self, src: &Path, rel: &str) -> Result<()> {
        let dst = self.ensure_parent(rel)?;
        fsutil::link_or_copy(src, &dst)
    }

    /// Copy an existing file into the tree.
    pub fn copy(&mut self, src: &Path, rel: &str) -> Result<()> {
        let dst = self.ensure_parent(rel)?;
        fsutil::copy_synced(src, &dst)
    }

    /// Move a staged file into the tree.
    pub fn rename_in(&mut self, src: &Path, rel: &str) -> Result<()> {
        let dst = self.ensure_parent(rel)?;
        fs::rename(src, &dst).ctx("move into", &dst)
    }

    /// Hard-link every file under `src` into the tree at the same relative
    /// path, except where `skip(rel)` says so.
    pub fn mirror(&mut self, src: &Path, skip: &dyn Fn(&str) -> bool) -> Result<()> {
        let mut stack = vec![PathBuf::new()];
        while let Some(rel_dir) = stack.pop() {
            let dir = src.join(&rel_dir);
            for entry in fs::read_dir(&dir).ctx("read directory", &dir)? {
                let entry = entry.ctx("read directory", &dir)?;
                let rel = rel_dir.join(entry.file_name());
                let rel_s = rel.to_string_lossy().into_owned();
                if skip(&rel_s) {
                    continue;
                }
                let ft = entry.file_type().ctx("inspect", &entry.path())?;
                if ft.is_dir() {
                    let d = self.root.join(&rel);
                    fs::create_dir(&d).ctx("create directory", &d)?;
                    self.dirs.push(d);
                    stack.push(rel);
                } else if ft.is_file() {
                    let dst = self.root.join(&rel);
                    fsutil::link_or_copy(&entry.path(), &dst)?;
                }
            }
        }
        Ok(())
    }

    /// Fsync every directory of the tree, deepest first.
    fn sync(&mut self) -> Result<()> {
        self.dirs
            .sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        self.dirs.dedup();
        for d in &self.dirs {
            fsync_dir(d)?;
        }
        Ok(())
    }
}

/// Build a complete new state beside `root` and exchange it with `root` in
/// one step. The caller holds the exclusive lock on `root`.
pub fn replace_tree(root: &Path, build: impl FnOnce(&mut Tree) -> Result<()>) -> Result<()> {
    let mut tree = Tree::create(root, SWAP_TAG)?;
    let res = build(&mut tree).and_then(|()| tree.sync());
    if let Err(e) = res {
        let _ = remove_all(&tree.root);
        return Err(e);
    }
    let parent = root.parent().unwrap_or(Path::new("/")).to_path_buf();
    exchange(root, &tree.root).ctx("switch state directory", root)?;
    fsync_dir(&parent)?;
    // The tree's path now holds the old state.
    remove_all(&tree.root)?;
    fsync_dir(&parent)
}

/// Build a new state beside `target` and rename it onto `target`, which
/// must be absent or an empty directory.
pub fn fresh_tree(target: &Path, build: impl FnOnce(&mut Tree) -> Result<()>) -> Result<()> {
    remove_stale_siblings(target, NEW_TAG)?;
    let mut tree = Tree::create(target, NEW_TAG)?;
    let res = build(&mut tree).and_then(|()| tree.sync());
    if let Err(e) = res {
        let _ = remove_all(&tree.root);
        return Err(e);
    }
    let parent = target.parent().unwrap_or(Path::new("/")).to_path_buf();
    if let Err(e) = fs::rename(&tree.root, target) {
        let _ = remove_all(&tree.root);
        return Err(match e.raw_os_error() {
            Some(libc::ENOTEMPTY) | Some(libc::EEXIST) => RepoError::refused(format!(
                "{} is not empty (refusing to overwrite existing state; use a fresh directory)",
                target.display()
            )),
            Some(libc::ENOTDIR) => RepoError::refused(format!(
                "{} exists and is not a directory",
                target.display()
            )),
            _ => RepoError::io("move new state to", target, e),
        });
    }
    fsync_dir(&parent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_site(_: &Path, _: &[String]) -> Result<()> {
        Ok(())
    }

    fn setup() -> (tempfile::TempDir, PathBuf) {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().join("state");
        fs::create_dir_all(root.join("index")).unwrap();
        fs::write(root.join("index/archive.json"), "old archive").unwrap();
        fs::write(root.join("index/active.json"), "old active").unwrap();
        fs::write(root.join("repo.json.sig"), "old sig").unwrap();
        (t, root)
    }

    fn stage(root: &Path) -> InPlace {
        let mut tx = InPlace::begin(root).unwrap();
        let staged = tx.incoming_dir().join("0");
        fs::write(&staged, "package").unwrap();
        tx.add_file(
            staged,
            "p/a/1.0-1/a_1.0-1_noarch.peipkg".into(),
            sha256_hex(b"package"),
        );
        let sha: [u8; 32] = Sha256::digest(b"new archive").into();
        tx.set_index(
            &[
                ("active.json", b"new active"),
                ("archive.json", b"new archive"),
            ],
            &sha,
        )
        .unwrap();
        tx.set_descriptor_sig(b"new sig").unwrap();
        tx
    }

    #[test]
    fn in_place_commit_switches_everything() {
        let (_t, root) = setup();
        stage(&root).commit(&no_site).unwrap();
        assert_eq!(
            fs::read_to_string(root.join("index/archive.json")).unwrap(),
            "new archive"
        );
        assert_eq!(
            fs::read_to_string(root.join("repo.json.sig")).unwrap(),
            "new sig"
        );
        assert!(root.join("p/a/1.0-1/a_1.0-1_noarch.peipkg").is_file());
        assert!(!root.join(WORK_DIR).exists());
    }

    #[test]
    fn recovery_rolls_back_an_uncommitted_switch() {
        let (_t, root) = setup();
        let mut tx = stage(&root);
        // Simulate a crash right after the package moved and the signature
        // was exchanged, before the index switch.
        tx.write_journal_for_test();
        let dst = root.join("p/a/1.0-1");
        fs::create_dir_all(&dst).unwrap();
        fs::rename(
            tx.incoming_dir().join("0"),
            dst.join("a_1.0-1_noarch.peipkg"),
        )
        .unwrap();
        exchange(
            &root.join("repo.json.sig"),
            &root.join(WORK_DIR).join("repo.json.sig"),
        )
        .unwrap();
        assert_eq!(recover(&root, &no_site).unwrap(), Recovery::RolledBack);
        assert_eq!(
            fs::read_to_string(root.join("index/archive.json")).unwrap(),
            "old archive"
        );
        assert_eq!(
            fs::read_to_string(root.join("repo.json.sig")).unwrap(),
            "old sig"
        );
        assert!(!root.join("p").exists());
        assert!(!root.join(WORK_DIR).exists());
    }

    #[test]
    fn recovery_rolls_forward_a_committed_switch() {
        let (_t, root) = setup();
        let mut tx = stage(&root);
        tx.site_names(vec!["a".into()]);
        tx.write_journal_for_test();
        exchange(&root.join("index"), &root.join(WORK_DIR).join("index")).unwrap();
        let seen = std::cell::RefCell::new(Vec::new());
        let hook = |_: &Path, names: &[String]| -> Result<()> {
            seen.borrow_mut().extend_from_slice(names);
            Ok(())
        };
        assert_eq!(recover(&root, &hook).unwrap(), Recovery::RolledForward);
        assert_eq!(seen.borrow().as_slice(), ["a".to_string()]);
        assert_eq!(
            fs::read_to_string(root.join("index/archive.json")).unwrap(),
            "new archive"
        );
        assert!(!root.join(WORK_DIR).exists());
    }

    #[test]
    fn fresh_tree_refuses_a_non_empty_target() {
        let t = tempfile::tempdir().unwrap();
        let target = t.path().join("out");
        fs::create_dir(&target).unwrap();
        fs::write(target.join("stray"), "x").unwrap();
        let err = fresh_tree(&target, |tree| tree.write("repo.json", b"{}")).unwrap_err();
        assert!(err.to_string().contains("is not empty"), "{err}");
        assert_eq!(
            fs::read_dir(t.path()).unwrap().count(),
            1,
            "build dir left behind"
        );
        fs::remove_file(target.join("stray")).unwrap();
        fresh_tree(&target, |tree| tree.write("index/a", b"1")).unwrap();
        assert_eq!(fs::read(target.join("index/a")).unwrap(), b"1");
    }

    #[test]
    fn replace_tree_swaps_and_cleans_up() {
        let (t, root) = setup();
        replace_tree(&root, |tree| {
            tree.mirror(&root, &|rel| rel == "repo.json.sig")?;
            tree.write("repo.json.sig", b"rotated")
        })
        .unwrap();
        assert_eq!(
            fs::read_to_string(root.join("repo.json.sig")).unwrap(),
            "rotated"
        );
        assert_eq!(
            fs::read_to_string(root.join("index/archive.json")).unwrap(),
            "old archive"
        );
        assert_eq!(fs::read_dir(t.path()).unwrap().count(), 1);
    }

    impl InPlace {
        fn write_journal_for_test(&mut self) {
            self.prepare().unwrap();
        }
    }
}
