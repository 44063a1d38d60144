//! `publish`: add packages to a state and switch to the new state
//! atomically.
//!
//! The order of work: lock, finish or undo an interrupted publish, load
//! the previous state and check its signatures, check the signing key and
//! the timestamp, take in every package (copy + full verification), merge
//! and check for duplicates, sort, derive the active index, sign, switch.
//! Every check runs before anything in the state changes, so a refused
//! publish leaves the state exactly as it was.
//!
//! Output bytes match the reference for the same inputs: the descriptor is
//! re-encoded canonically and re-signed, the archive is the previous
//! entries plus the new ones in stable archive order, active is derived
//! from it, `index_version` is the previous maximum plus one, and
//! `generated_at` is `--timestamp` verbatim.

pub mod ingest;
pub mod url;

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use peipkg_format::identity::Version;
use peipkg_format::keys::{PublicKey, SigningKey};
use peipkg_format::repository::{
    self, IndexKind, KeyStatus, PackageEntry, DEFAULT_PACKAGE_URL_TEMPLATE,
};

use crate::commit::{self, InPlace, Recovery, Tree, WORK_DIR};
use crate::error::{RepoError, Result};
use crate::fsutil;
use crate::lock::{LockMode, StateLock};
use crate::order;
use crate::site;
use crate::site::SiteData;
use crate::state::{Docs, Rendered};
use crate::timestamp::Timestamp;
use ingest::Incoming;
use peipkg_format::repository::raw::{self, Header, RawEntry};
use url::Location;

#[derive(Debug)]
pub struct PublishOptions {
    pub input: PathBuf,
    /// Directory of new packages; ignored with `rebuild`.
    pub new_dir: Option<PathBuf>,
    pub key: SigningKey,
    pub timestamp: Timestamp,
    pub out: PathBuf,
    /// Empty means the conventional `/p/{name}/{version}/{filename}`.
    pub url_template: String,
    pub rebuild: bool,
    pub all_packages_dir: Option<PathBuf>,
    /// Accept unsigned packages (with a warning).
    pub allow_unsigned: bool,
    /// How long to wait for another writer's lock.
    pub wait: Duration,
}

#[derive(Debug)]
pub struct PublishReport {
    pub index_version: i64,
    /// `<name>_<version>_<arch>.peipkg` of each added package, sorted.
    pub added: Vec<String>,
    pub warnings: Vec<String>,
    pub recovered: Recovery,
}

/// The new state, computed from the previous one and the verified packages.
struct Plan<'a> {
    index_version: i64,
    rendered: Rendered,
    /// For each incoming package: its entry and where its file goes.
    new: Vec<(PackageEntry, Location)>,
    /// The merged archive, in archive order.
    archive: Vec<RawEntry<'a>>,
}

pub fn publish(o: &PublishOptions) -> Result<PublishReport> {
    if o.rebuild && o.all_packages_dir.is_none() {
        return Err(RepoError::refused("--rebuild requires --all-packages-dir"));
    }
    let in_abs = fsutil::absolute(&o.input)?;
    let out_abs = fsutil::absolute(&o.out)?;
    if !in_abs.is_dir() {
        return Err(RepoError::bad_file(
            &o.input,
            "not a directory: --in must be an existing repository state",
        ));
    }
    let in_place = in_abs == out_abs;
    let mut ph = crate::timings::Phases::start();
    let _lock = StateLock::acquire(
        &in_abs,
        if in_place {
            LockMode::Exclusive
        } else {
            LockMode::Shared
        },
        o.wait,
    )?;
    let recovered = if in_place {
        commit::recover(&in_abs, &site::refresh_in_place)?
    } else {
        Recovery::Nothing
    };
    ph.mark("lock and recover");

    let docs = Docs::load(&in_abs)?;
    ph.mark("read state");
    let problems = docs.descriptor.validate();
    if !problems.is_empty() {
        return Err(RepoError::bad_file(
            &in_abs.join(repository::DESCRIPTOR_PATH),
            format!("invalid descriptor: {}", problems.join("; ")),
        ));
    }
    check_sign_key(&docs, &o.key, &in_abs)?;
    let active_header = docs.active_header()?;
    let prev = if o.rebuild {
        let h = raw::parse_header(&docs.files[2].bytes, IndexKind::Archive).map_err(|e| {
            RepoError::bad_file(&in_abs.join(repository::ARCHIVE_PATH), e.to_string())
        })?;
        raw::RawIndex {
            header: h,
            entries: Vec::new(),
            canonical: true,
        }
    } else {
        docs.raw_archive()?
    };
    ph.mark("decode archive");
    docs.check_signatures()?;
    ph.mark("check signatures");
    let prev_ts = [&active_header.generated_at, &prev.header.generated_at]
        .into_iter()
        .filter_map(|s| Timestamp::parse(s).ok())
        .max();
    if let Some(prev_ts) = prev_ts {
        if o.timestamp < prev_ts {
            return Err(RepoError::refused(format!(
                "--timestamp {} is older than the state's generated_at {}; a consumer rejects an index older than the one it has (PSD-009 §6.2.4)",
                o.timestamp, prev_ts
            )));
        }
    }
    let prev_version = active_header.index_version.max(prev.header.index_version);
    let trusted: Vec<PublicKey> = docs
        .declared_keys()
        .into_iter()
        .filter(|(k, _)| k.status() == Some(KeyStatus::Active))
        .filter_map(|(_, pk)| pk.ok())
        .collect();
    let source_dir = if o.rebuild {
        o.all_packages_dir.clone().unwrap_or_default()
    } else {
        o.new_dir.clone().ok_or_else(|| {
            RepoError::refused("--new is required (or use --rebuild + --all-packages-dir)")
        })?
    };
    let scanned = ingest::scan(&source_dir)?;
    if scanned.packages.is_empty() && !scanned.ignored.is_empty() {
        // Most likely the wrong directory, or packages under other names:
        // publishing nothing would still bump index_version.
        return Err(RepoError::bad_file(
            &source_dir,
            format!(
                "holds no .peipkg file, only {} other entr{} (ignored: {}); nothing published",
                scanned.ignored.len(),
                if scanned.ignored.len() == 1 {
                    "y"
                } else {
                    "ies"
                },
                shorten(&scanned.ignored)
            ),
        ));
    }
    let sources = scanned.packages;
    let template = if o.url_template.is_empty() {
        DEFAULT_PACKAGE_URL_TEMPLATE
    } else {
        o.url_template.as_str()
    };
    let descriptor_changes = docs.descriptor.to_bytes() != docs.files[0].bytes;
    let ctx = Ctx {
        docs: &docs,
        opts: o,
        trusted: &trusted,
        template,
        prev_version,
    };
    ph.mark("checks");

    let prev_entries = prev.entries;
    let (index_version, added, warnings) = if !in_place {
        let mut result = None;
        commit::fresh_tree(&out_abs, |tree| {
            result = Some(ctx.build_tree(tree, &sources, prev_entries, true)?);
            Ok(())
        })?;
        result.ok_or_else(|| RepoError::refused("internal: no plan"))?
    } else if o.rebuild || descriptor_changes {
        let mut result = None;
        commit::replace_tree(&in_abs, |tree| {
            result = Some(ctx.build_tree(tree, &sources, prev_entries, false)?);
            Ok(())
        })?;
        result.ok_or_else(|| RepoError::refused("internal: no plan"))?
    } else {
        ctx.in_place(&in_abs, &sources, prev_entries)?
    };
    ph.mark("publish");
    Ok(PublishReport {
        index_version,
        added,
        warnings,
        recovered,
    })
}

/// The first few names of a list, for an error line.
fn shorten(names: &[String]) -> String {
    let mut out = names
        .iter()
        .take(10)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > 10 {
        out.push_str(&format!(", ... and {} more", names.len() - 10));
    }
    out
}

fn added_names(plan: &Plan<'_>) -> Vec<String> {
    let mut v: Vec<String> = plan.new.iter().map(|(e, _)| e.file_name()).collect();
    v.sort();
    v
}

fn check_sign_key(state: &Docs, key: &SigningKey, root: &Path) -> Result<()> {
    let fp = key.public_key().fingerprint();
    match state.descriptor.key(&fp) {
        Some(k) if k.status() == Some(KeyStatus::Active) => Ok(()),
        Some(k) => Err(RepoError::refused(format!(
            "--sign-key is key {fp}, which {}/repo.json declares {:?}; only an active key signs new content (PSD-009 §6.1.4)",
            root.display(),
            k.status
        ))),
        None => {
            let declared: Vec<String> = state
                .descriptor
                .repo
                .signing
                .keys
                .iter()
                .map(|k| format!("{} ({})", k.fingerprint, k.status))
                .collect();
            Err(RepoError::refused(format!(
                "--sign-key is key {fp}, which is not declared in {}/repo.json (declared: {}); \
                 sign with the repository's active key, or add this key with `peipkg-repo rotate-key`",
                root.display(),
                declared.join(", ")
            )))
        }
    }
}

struct Ctx<'a> {
    docs: &'a Docs,
    opts: &'a PublishOptions,
    trusted: &'a [PublicKey],
    template: &'a str,
    prev_version: i64,
}

/// What a finished publish reports: index_version, added file names,
/// warnings.
type Outcome = (i64, Vec<String>, Vec<String>);

impl Ctx<'_> {
    fn ingest_all(
        &self,
        sources: &[PathBuf],
        stage: &Path,
    ) -> Result<(Vec<Incoming>, Vec<String>)> {
        let mut out = Vec::with_capacity(sources.len());
        let mut warnings = Vec::new();
        for (i, src) in sources.iter().enumerate() {
            let inc = ingest::ingest(
                src,
                &stage.join(format!("{i}.peipkg")),
                self.trusted,
                self.opts.allow_unsigned,
            )?;
            warnings.extend(inc.warnings.iter().cloned());
            out.push(inc);
        }
        Ok((out, warnings))
    }

    /// Merge, check and sign: everything but writing.
    fn plan<'a>(&self, incoming: &[Incoming], prev: Vec<RawEntry<'a>>) -> Result<Plan<'a>> {
        let mut ph = crate::timings::Phases::start();
        let mut new = Vec::with_capacity(incoming.len());
        for inc in incoming {
            let m = &inc.pkg.manifest;
            let url = url::render(
                self.template,
                &m.name,
                &m.version,
                &m.architecture,
                &inc.file_name,
            );
            let loc = url::locate_new(&url).map_err(|e| {
                RepoError::bad_file(
                    &inc.source,
                    format!("--package-url-template gives a bad URL: {e}"),
                )
            })?;
            new.push((
                PackageEntry::from_manifest(m, inc.pkg.size_compressed, &inc.pkg.sha256, url),
                loc,
            ));
        }
        check_new_entries(&prev, &new, incoming)?;
        ph.mark("plan: duplicate checks");

        let archive_path = self.docs.root.join(repository::ARCHIVE_PATH);
        let mut versions = order::parse_versions(&prev, "archive")
            .map_err(|e| RepoError::bad_file(&archive_path, e))?;
        let new_raw: Vec<RawEntry<'a>> = new.iter().map(|(e, _)| raw::entry_from(e)).collect();
        let new_versions = order::parse_versions(&new_raw, "new").map_err(RepoError::refused)?;
        let mut archive = prev;
        if order::is_sorted(&archive, &versions) && new_raw.len() <= 64 {
            order::merge_sorted(&mut archive, &mut versions, new_raw, new_versions);
        } else {
            archive.extend(new_raw);
            versions.extend(new_versions);
            let (a, v) = order::sort_archive(archive, versions);
            archive = a;
            versions = v;
        }
        let active = order::derive_active(&archive, &versions).map_err(RepoError::refused)?;
        ph.mark("plan: merge, sort, derive active");

        let index_version = self.prev_version.checked_add(1).ok_or_else(|| {
            RepoError::refused("index_version cannot grow past the largest 64-bit integer")
        })?;
        let name = &self.docs.descriptor.repo.name;
        let ts = self.opts.timestamp.as_str();
        let header = |kind: IndexKind| Header {
            schema_version: 1,
            repo: name.clone(),
            kind: kind.as_str().to_string(),
            index_version,
            generated_at: ts.to_string(),
        };
        let archive_size: usize = archive.iter().map(|e| e.bytes.len() + 1).sum();
        let active_bytes = raw::write(
            &header(IndexKind::Active),
            active.iter().map(|&i| &*archive[i].bytes),
            archive_size / 4,
        );
        let archive_bytes = raw::write(
            &header(IndexKind::Archive),
            archive.iter().map(|e| &*e.bytes),
            archive_size,
        );
        let rendered = Rendered::from_bytes(
            self.docs.descriptor.to_bytes(),
            &self.opts.key,
            active_bytes,
            archive_bytes,
            &self.opts.key,
        );
        ph.mark("plan: encode and sign");
        Ok(Plan {
            index_version,
            rendered,
            new,
            archive,
        })
    }

    fn site_data<'x, 'a>(&'x self, plan: &'x Plan<'a>) -> SiteData<'x, 'a> {
        SiteData {
            descriptor: &self.docs.descriptor,
            index_version: plan.index_version,
            generated_at: self.opts.timestamp.as_str(),
            archive: &plan.archive,
        }
    }

    /// The common path: new files first, then one exchange of `index/`.
    fn in_place(
        &self,
        root: &Path,
        sources: &[PathBuf],
        prev: Vec<RawEntry<'_>>,
    ) -> Result<Outcome> {
        let mut tx = InPlace::begin(root)?;
        let (plan, warnings, ledger) = match self.stage_in_place(&mut tx, sources, prev) {
            Ok(v) => v,
            Err(e) => {
                let _ = fsutil::remove_all(&root.join(WORK_DIR));
                return Err(e);
            }
        };
        let data = self.site_data(&plan);
        let hook = |root: &Path, names: &[String]| {
            site::refresh(root, names, &data)?;
            site::append_ledger(root, &ledger)
        };
        if let Err(e) = tx.commit(&hook) {
            // Undo (or finish) at once rather than leaving it to the next run.
            let _ = commit::recover(root, &site::refresh_in_place);
            return Err(e);
        }
        Ok((plan.index_version, added_names(&plan), warnings))
    }

    fn stage_in_place<'a>(
        &self,
        tx: &mut InPlace,
        sources: &[PathBuf],
        prev: Vec<RawEntry<'a>>,
    ) -> Result<(Plan<'a>, Vec<String>, String)> {
        let mut ph = crate::timings::Phases::start();
        let incoming_dir = tx.incoming_dir();
        let (incoming, warnings) = self.ingest_all(sources, &incoming_dir)?;
        ph.mark("ingest");
        let plan = self.plan(&incoming, prev)?;
        let ledger = ledger_lines(&incoming, &plan);
        let mut names = Vec::new();
        for (inc, (entry, loc)) in incoming.iter().zip(&plan.new) {
            if let Location::Local(rel) = loc {
                tx.add_file(inc.staged.clone(), rel.clone(), inc.pkg.sha256.clone());
            }
            let (rel, bytes) = site::record(entry, &inc.pkg, self.opts.timestamp.as_str());
            let staged = incoming_dir.join(format!("{}.record", names.len()));
            fsutil::write_synced(&staged, &bytes)?;
            tx.add_file(staged, rel, sha256_hex(&bytes));
            names.push(entry.name.clone());
        }
        names.sort();
        names.dedup();
        tx.site_names(names);
        let get = |rel: &str| plan.rendered.get(rel);
        tx.set_index(
            &[
                ("active.json", get(repository::ACTIVE_PATH)),
                ("active.json.sig", get(repository::ACTIVE_SIG_PATH)),
                ("archive.json", get(repository::ARCHIVE_PATH)),
                ("archive.json.sig", get(repository::ARCHIVE_SIG_PATH)),
            ],
            &plan.rendered.archive_sha256,
        )?;
        let new_sig = get(repository::DESCRIPTOR_SIG_PATH);
        if self.docs.files[0].sig.as_deref() != Some(new_sig) {
            tx.set_descriptor_sig(new_sig)?;
        }
        ph.mark("stage index");
        Ok((plan, warnings, ledger))
    }

    /// A whole new tree: out of place (`fresh`), or in place when the
    /// descriptor changes or the state is rebuilt.
    fn build_tree(
        &self,
        tree: &mut Tree,
        sources: &[PathBuf],
        prev: Vec<RawEntry<'_>>,
        fresh: bool,
    ) -> Result<Outcome> {
        let stage = tree.path(".peipkg-repo-incoming");
        fs::create_dir(&stage).map_err(|e| RepoError::io("create", &stage, e))?;
        let (incoming, warnings) = self.ingest_all(sources, &stage)?;
        let src = self.docs.root.clone();
        if fresh {
            // Reference carry-forward: keys and the previous archive's files.
            let keys_dir = src.join("keys");
            if keys_dir.is_dir() {
                for entry in
                    fs::read_dir(&keys_dir).map_err(|e| RepoError::io("read", &keys_dir, e))?
                {
                    let entry = entry.map_err(|e| RepoError::io("read", &keys_dir, e))?;
                    if entry.path().is_file() {
                        let rel = format!("keys/{}", entry.file_name().to_string_lossy());
                        tree.copy(&entry.path(), &rel)?;
                    }
                }
            }
            let mut seen = HashSet::new();
            for e in &prev {
                if let Ok(Location::Local(rel)) = url::locate_recorded(&e.url) {
                    if !seen.insert(rel.clone()) {
                        continue;
                    }
                    let from = src.join(&rel);
                    if !from.is_file() {
                        return Err(RepoError::bad_file(
                            &from,
                            format!(
                                "missing: archive entry {} points here; restore the file or recover with --rebuild",
                                e.label()
                            ),
                        ));
                    }
                    tree.copy(&from, &rel)?;
                    let record = site::record_path_of(&e.name, &e.label());
                    let rfrom = src.join(&record);
                    if rfrom.is_file() {
                        tree.copy(&rfrom, &record)?;
                    }
                }
            }
        } else {
            let rebuild = self.opts.rebuild;
            let reserved = |rel: &str| {
                let top = rel.split('/').next().unwrap_or("");
                matches!(top, "repo.json" | "repo.json.sig" | "index" | WORK_DIR)
                    || site::is_page(rel)
                    || (rebuild && (top == "p" || site::is_record(rel)))
            };
            tree.mirror(&src, &reserved)?;
        }
        let plan = self.plan(&incoming, prev)?;
        for (inc, (entry, loc)) in incoming.iter().zip(&plan.new) {
            if let Location::Local(rel) = loc {
                tree.rename_in(&inc.staged, rel)?;
            }
            let (rel, bytes) = site::record(entry, &inc.pkg, self.opts.timestamp.as_str());
            tree.write(&rel, &bytes)?;
        }
        fsutil::remove_all(&stage)?;
        // The ledger: the previous one (unless rebuilt) plus the new lines,
        // written as a new file (the mirrored one is shared with the live state).
        let mut ledger = if self.opts.rebuild {
            Vec::new()
        } else {
            fs::read(src.join(site::LEDGER)).unwrap_or_default()
        };
        ledger.extend_from_slice(ledger_lines(&incoming, &plan).as_bytes());
        if !ledger.is_empty() {
            tree.write(site::LEDGER, &ledger)?;
        }
        for (rel, bytes) in &plan.rendered.files {
            tree.write(rel, bytes)?;
        }
        site::render_all(tree, &self.site_data(&plan))?;
        Ok((plan.index_version, added_names(&plan), warnings))
    }
}

/// The signer-ledger lines of the packages a publish adds.
fn ledger_lines(incoming: &[Incoming], plan: &Plan<'_>) -> String {
    incoming
        .iter()
        .zip(&plan.new)
        .map(|(inc, (entry, _))| {
            let (status, fp) = match &inc.pkg.signature {
                peipkg_format::archive::SignatureStatus::Verified { fingerprint } => {
                    ("verified", fingerprint.as_str())
                }
                peipkg_format::archive::SignatureStatus::NotChecked { fingerprint } => {
                    ("not checked", fingerprint.as_str())
                }
                peipkg_format::archive::SignatureStatus::Unsigned => ("unsigned", ""),
            };
            site::ledger_line(&entry.label(), &inc.pkg.sha256, status, fp)
        })
        .collect()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// Duplicates (exact or equal under §2.2) against the archive and within
/// the batch, URL collisions, and a second architecture for a name.
fn check_new_entries(
    prev: &[RawEntry<'_>],
    new: &[(PackageEntry, Location)],
    incoming: &[Incoming],
) -> Result<()> {
    // Index only the previous entries that can matter: those sharing a
    // name or a file path with a new entry. One pass, small maps.
    let new_names: HashSet<&str> = new.iter().map(|(e, _)| e.name.as_str()).collect();
    let new_paths: HashSet<&str> = new
        .iter()
        .filter_map(|(_, loc)| match loc {
            Location::Local(rel) => Some(rel.as_str()),
            Location::Remote => None,
        })
        .collect();
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut prev_paths: HashMap<&str, usize> = HashMap::new();
    for (i, e) in prev.iter().enumerate() {
        if new_names.contains(&*e.name) {
            by_name.entry(&e.name).or_default().push(i);
        }
        // Recorded URLs are located the way the reference reads them: one
        // leading slash removed; external URLs name no file here.
        if !e.url.contains("://") {
            let rel = e.url.strip_prefix('/').unwrap_or(&e.url);
            if new_paths.contains(rel) {
                prev_paths.entry(rel).or_insert(i);
            }
        }
    }
    let mut batch_paths: HashMap<&str, usize> = HashMap::new();
    for (n, (e, loc)) in new.iter().enumerate() {
        let src = incoming[n].source.display();
        let v = Version::parse(&e.version).ok();
        for &i in by_name
            .get(e.name.as_str())
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            let p = &prev[i];
            if p.architecture != e.architecture {
                return Err(RepoError::refused(format!(
                    "{src}: {} would add architecture {:?} for {}, which the archive already has as {} ({:?}); \
                     the active index lists one entry per name (PSD-009 §6.2.7) — publish each architecture to its own repository",
                    e.label(), e.architecture, e.name, p.label(), p.architecture
                )));
            }
            if *p.version == e.version {
                return Err(RepoError::refused(format!(
                    "package {} already exists in the archive (§6.3 forbids re-publishing the same name+version+architecture): \
                     {src} duplicates the archive entry published at {}",
                    e.label(),
                    p.url
                )));
            }
            if let (Some(v), Ok(pv)) = (&v, Version::parse(&p.version)) {
                if *v == pv {
                    return Err(RepoError::refused(format!(
                        "package {} from {src} has version {:?}, equal under PSD-009 §2.2 to the archived {} (published at {}); \
                         re-publishing a version under another spelling is re-publishing it",
                        e.label(), e.version, p.label(), p.url
                    )));
                }
            }
        }
        for (m, (o, _)) in new.iter().enumerate().take(n) {
            if o.name != e.name {
                continue;
            }
            let other = incoming[m].source.display();
            if o.architecture != e.architecture {
                return Err(RepoError::refused(format!(
                    "{src} ({}) and {other} ({}) are two architectures of {}; the active index lists one entry per name \
                     (PSD-009 §6.2.7) — publish each architecture to its own repository",
                    e.label(), o.label(), e.name
                )));
            }
            let equal = o.version == e.version
                || matches!((&v, Version::parse(&o.version)), (Some(a), Ok(b)) if *a == b);
            if equal {
                return Err(RepoError::refused(format!(
                    "package {} already exists in the archive (§6.3 forbids re-publishing the same name+version+architecture): \
                     {src} and {other} are the same package in one batch",
                    e.label()
                )));
            }
        }
        if let Location::Local(rel) = loc {
            if let Some(&i) = prev_paths.get(rel.as_str()) {
                return Err(RepoError::refused(format!(
                    "{src}: URL {} of {} is already the file of archive entry {}",
                    e.url,
                    e.label(),
                    prev[i].label()
                )));
            }
            if let Some(&m) = batch_paths.get(rel.as_str()) {
                return Err(RepoError::refused(format!(
                    "{src} and {}: both would be published at URL {}",
                    incoming[m].source.display(),
                    e.url
                )));
            }
            batch_paths.insert(rel.as_str(), n);
        }
    }
    Ok(())
}
