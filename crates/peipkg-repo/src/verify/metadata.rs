//! The metadata checks of `verify`.

use std::collections::{HashMap, HashSet};

use peipkg_format::documents::SignatureEnvelope;
use peipkg_format::identity::Version;
use peipkg_format::keys::{PublicKey, SignatureError};
use peipkg_format::repository::{IndexKind, KeyEntry, KeyStatus, PackageEntry};

use super::{Findings, VerifyOptions};
use crate::order;
use crate::site;
use crate::state::{load_declared_key, State};
use crate::timestamp::Timestamp;

/// A declared key with its public key and what its status means now.
#[derive(Debug)]
pub(crate) struct KeyInfo {
    pub entry: KeyEntry,
    pub key: Result<PublicKey, String>,
}

/// The descriptor's keys, judged at one instant.
#[derive(Debug)]
pub(crate) struct KeyTable {
    keys: Vec<KeyInfo>,
    at: Timestamp,
}

impl KeyTable {
    pub fn new(state: &State, at: &Timestamp) -> KeyTable {
        let keys = state
            .descriptor
            .repo
            .signing
            .keys
            .iter()
            .map(|k| KeyInfo {
                entry: k.clone(),
                key: if k.status() == Some(KeyStatus::Revoked) {
                    Err("revoked".into())
                } else {
                    load_declared_key(&state.root, k)
                },
            })
            .collect();
        KeyTable {
            keys,
            at: at.clone(),
        }
    }

    /// Why a signature by `fp` is not acceptable now, or `None` if it is
    /// (PSD-009 §6.1.4: active keys always; transitioning keys at or before
    /// `valid_until`; revoked keys never).
    pub fn refusal(&self, fp: &str) -> Option<String> {
        let Some(info) = self.keys.iter().find(|k| k.entry.fingerprint == fp) else {
            return Some(format!(
                "signing key fingerprint {fp} is not declared in the descriptor"
            ));
        };
        match info.entry.status() {
            Some(KeyStatus::Active) => None,
            Some(KeyStatus::Revoked) => Some(format!(
                "signed by key {fp}, which the descriptor declares revoked (PSD-009 §6.1.4: consumers reject it)"
            )),
            Some(KeyStatus::Transitioning) => match Timestamp::parse(&info.entry.valid_until) {
                Ok(until) if self.at <= until => None,
                Ok(until) => Some(format!(
                    "signed by transitioning key {fp}, whose valid_until {until} has passed (checked at {}; PSD-009 §6.1.4)",
                    self.at
                )),
                Err(_) => Some(format!(
                    "signed by transitioning key {fp}, which has no usable valid_until (PSD-009 §6.1.4)"
                )),
            },
            None => Some(format!(
                "signed by key {fp}, whose status {:?} is not one of active, transitioning, revoked",
                info.entry.status
            )),
        }
    }

    /// Keys whose signatures are acceptable now.
    pub fn acceptable(&self) -> Vec<PublicKey> {
        self.keys
            .iter()
            .filter(|k| self.refusal(&k.entry.fingerprint).is_none())
            .filter_map(|k| k.key.as_ref().ok().cloned())
            .collect()
    }

    fn get(&self, fp: &str) -> Option<&KeyInfo> {
        self.keys.iter().find(|k| k.entry.fingerprint == fp)
    }
}

pub(crate) fn check(state: &State, keys: &KeyTable, o: &VerifyOptions, f: &mut Findings) {
    let mut ph = crate::timings::Phases::start();
    for p in state.descriptor.validate() {
        f.issue("descriptor", p);
    }
    check_keys(keys, f);
    check_signatures(state, keys, o, f);
    let name = &state.descriptor.repo.name;
    for p in state.active.validate_header(IndexKind::Active, name) {
        f.issue("indexes", p);
    }
    for p in state.archive.validate_header(IndexKind::Archive, name) {
        f.issue("indexes", p);
    }
    for (label, idx) in [("active", &state.active), ("archive", &state.archive)] {
        if !idx.generated_at.is_empty() && Timestamp::parse(&idx.generated_at).is_err() {
            f.issue(
                "indexes",
                format!(
                    "{label}.generated_at {:?} is not an RFC 3339 UTC timestamp (PSD-009 §6.2.2)",
                    idx.generated_at
                ),
            );
        }
    }
    if state.active.index_version != state.archive.index_version {
        f.warn(
            "indexes",
            format!(
                "active.index_version is {} but archive.index_version is {}; a publish writes both with the same value",
                state.active.index_version, state.archive.index_version
            ),
        );
    }
    ph.mark("metadata: keys, signatures, headers");
    let archive_versions = check_entries(&state.archive.packages, "archive", f);
    check_entries(&state.active.packages, "active", f);
    ph.mark("metadata: entries");
    check_archive_order(&state.archive.packages, &archive_versions, f);
    check_active(state, &archive_versions, f);
    ph.mark("metadata: order and active");
    check_package_signers(state, keys, o, f);
    ph.mark("metadata: package signers");
}

fn check_keys(keys: &KeyTable, f: &mut Findings) {
    for k in &keys.keys {
        if k.entry.status() == Some(KeyStatus::Revoked) {
            continue;
        }
        if let Err(e) = &k.key {
            f.issue(
                "keys",
                format!("descriptor key {}: {e}", k.entry.fingerprint),
            );
        }
    }
}

fn check_signatures(state: &State, keys: &KeyTable, o: &VerifyOptions, f: &mut Findings) {
    for file in &state.files {
        let label = file.label;
        let Some(sig) = &file.sig else {
            let msg = format!(
                "{label}: no detached signature present (PSD-009 §6.1.6 and §6.2.1 require one; only an 'optional' trust policy accepts its absence)"
            );
            if o.allow_unsigned {
                f.warn("signatures", msg);
            } else {
                f.issue("signatures", msg);
            }
            continue;
        };
        let env = match SignatureEnvelope::decode(sig) {
            Ok((env, _)) => env,
            Err(e) => {
                f.issue("signatures", format!("{label}: {e}"));
                continue;
            }
        };
        let fp = &env.key_fingerprint;
        if let Some(why) = keys.refusal(fp) {
            f.issue("signatures", format!("{label}: {why}"));
            continue;
        }
        let pk = match keys.get(fp).map(|k| &k.key) {
            Some(Ok(pk)) => pk.clone(),
            Some(Err(e)) => {
                f.issue(
                    "signatures",
                    format!(
                        "{label}: signing key {fp} is declared but its public key is unusable: {e}"
                    ),
                );
                continue;
            }
            None => continue,
        };
        match peipkg_format::keys::verify_detached(sig, &file.bytes, &[pk]) {
            Ok(_) => {}
            Err(SignatureError::BadSignature(_)) => f.issue(
                "signatures",
                format!("{label}: signature does not verify against the declared key"),
            ),
            Err(e) => f.issue("signatures", format!("{label}: {e}")),
        }
    }
}

/// Identity rules of every entry; returns the parsed versions (None where
/// they do not parse).
fn check_entries(entries: &[PackageEntry], what: &str, f: &mut Findings) -> Vec<Option<Version>> {
    let mut out = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        for p in e.validate(&format!("{what} entry {i} ({})", e.label())) {
            f.issue("entries", p);
        }
        if let Err(why) = crate::publish::url::locate_recorded(&e.url) {
            f.issue("entries", format!("{what} entry {}: {why}", e.label()));
        } else if !e.url.starts_with('/') && !e.url.contains("://") {
            f.warn(
                "entries",
                format!(
                    "{what} entry {}: URL {:?} has no leading /, so a consumer resolves it against the index's URL (PSD-009 §6.4.6)",
                    e.label(),
                    e.url
                ),
            );
        }
        out.push(Version::parse(&e.version).ok());
    }
    out
}

fn check_archive_order(entries: &[PackageEntry], versions: &[Option<Version>], f: &mut Findings) {
    let mut sorted = true;
    for i in 1..entries.len() {
        let (p, e) = (&entries[i - 1], &entries[i]);
        match p.name.as_bytes().cmp(e.name.as_bytes()) {
            std::cmp::Ordering::Greater => {
                sorted = false;
                f.issue(
                    "order",
                    format!(
                        "archive is not sorted by name: {} (entry {}) comes before {} (entry {i}) (PSD-009 §6.3.5)",
                        p.label(),
                        i - 1,
                        e.label()
                    ),
                )
            }
            std::cmp::Ordering::Equal => {
                if let (Some(pv), Some(v)) = (&versions[i - 1], &versions[i]) {
                    match pv.cmp(v) {
                        std::cmp::Ordering::Less => {
                            sorted = false;
                            f.issue(
                                "order",
                                format!(
                                    "archive versions of {} are not highest first: {} comes before {} (PSD-009 §6.3.5)",
                                    e.name, p.version, e.version
                                ),
                            )
                        }
                        std::cmp::Ordering::Equal
                            if p.architecture == e.architecture && p.version != e.version =>
                        {
                            f.issue(
                                "order",
                                format!(
                                    "archive entries {} and {} have equal versions under PSD-009 §2.2 (the same package published twice under two spellings)",
                                    p.label(),
                                    e.label()
                                ),
                            )
                        }
                        _ => {}
                    }
                }
            }
            std::cmp::Ordering::Less => {}
        }
    }
    // Exact duplicates sit next to each other in a sorted archive; in an
    // unsorted one they can be anywhere.
    let dup = |j: usize, i: usize, e: &PackageEntry| {
        format!(
            "archive entries {j} and {i} are both {} (§6.3 forbids re-publishing the same name+version+architecture)",
            e.label()
        )
    };
    if sorted {
        for i in 1..entries.len() {
            let (p, e) = (&entries[i - 1], &entries[i]);
            if p.name == e.name && p.version == e.version && p.architecture == e.architecture {
                f.issue("order", dup(i - 1, i, e));
            }
        }
    } else {
        let mut seen: HashMap<(&str, &str, &str), usize> = HashMap::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            if let Some(j) = seen.insert((&e.name, &e.version, &e.architecture), i) {
                f.issue("order", dup(j, i, e));
            }
        }
    }
}

fn check_active(state: &State, archive_versions: &[Option<Version>], f: &mut Findings) {
    let archive = &state.archive.packages;
    let active = &state.active.packages;
    let mut by_key: HashMap<(&str, &str, &str), &PackageEntry> =
        HashMap::with_capacity(archive.len());
    for e in archive {
        by_key
            .entry((&e.name, &e.version, &e.architecture))
            .or_insert(e);
    }
    for e in active {
        match by_key.get(&(e.name.as_str(), e.version.as_str(), e.architecture.as_str())) {
            None => f.issue(
                "active",
                format!(
                    "active entry {} has no matching archive entry (§6.3.5)",
                    e.label()
                ),
            ),
            Some(a) if a.hash.value != e.hash.value => f.issue(
                "active",
                format!(
                    "active entry {} hash {} differs from archive entry hash {}",
                    e.label(),
                    e.hash.value,
                    a.hash.value
                ),
            ),
            Some(a) if *a != e => {
                let fields = differing_fields(a, e);
                f.issue(
                    "active",
                    format!(
                        "active entry {} differs from its archive entry in {} (PSD-009 §6.2.5: both derive from the same manifest)",
                        e.label(),
                        fields.join(", ")
                    ),
                );
            }
            Some(_) => {}
        }
    }
    let mut names = HashSet::with_capacity(active.len());
    for (i, e) in active.iter().enumerate() {
        if !names.insert(e.name.as_str()) {
            f.issue(
                "active",
                format!("active index has duplicate name {:?} (§6.2.7)", e.name),
            );
        }
        if i > 0 && active[i - 1].name.as_bytes() > e.name.as_bytes() {
            f.issue(
                "active",
                format!(
                    "active index is not sorted by name: {:?} comes before {:?} (PSD-009 §6.2.7)",
                    active[i - 1].name,
                    e.name
                ),
            );
        }
    }
    // Active must be the per-name maximum of the archive (§6.3.6).
    if archive_versions.iter().any(Option::is_none) {
        return;
    }
    let versions: Vec<Version> = archive_versions.iter().flatten().cloned().collect();
    let refs: Vec<&PackageEntry> = archive.iter().collect();
    let (sorted, sorted_v) = if order::is_sorted(&refs, &versions) {
        (refs, versions)
    } else {
        order::sort_archive(refs, versions)
    };
    let expected: Vec<&PackageEntry> = match order::derive_active(&sorted, &sorted_v) {
        Ok(x) => x.into_iter().map(|i| sorted[i]).collect(),
        Err(e) => {
            f.issue("active", e);
            return;
        }
    };
    let listed: HashMap<&str, &PackageEntry> =
        active.iter().map(|e| (e.name.as_str(), e)).collect();
    for want in &expected {
        match listed.get(want.name.as_str()) {
            None => f.issue(
                "active",
                format!(
                    "the archive has {} but the active index does not list {} at all (active is the per-name maximum of the archive, PSD-009 §6.3.6)",
                    want.label(),
                    want.name
                ),
            ),
            Some(got) if got.version != want.version || got.architecture != want.architecture => {
                let equal = Version::parse(&got.version)
                    .ok()
                    .zip(Version::parse(&want.version).ok())
                    .is_some_and(|(a, b)| a == b && got.architecture == want.architecture);
                if !equal {
                    f.issue(
                        "active",
                        format!(
                            "active lists {} but the highest archived version of {} is {} (PSD-009 §6.3.6)",
                            got.label(),
                            want.name,
                            want.label()
                        ),
                    );
                }
            }
            Some(_) => {}
        }
    }
}

/// The names of the members in which two entries differ.
pub(crate) fn differing_fields(a: &PackageEntry, b: &PackageEntry) -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! cmp {
        ($($f:ident),*) => { $( if a.$f != b.$f { out.push(stringify!($f)); } )* };
    }
    cmp!(
        name,
        version,
        architecture,
        description,
        license,
        homepage,
        dependencies,
        optional_dependencies,
        conflicts,
        provides,
        replaces,
        side_effects,
        size_compressed,
        size_installed,
        hash,
        url,
        build
    );
    out
}

/// The signer recorded at publish time, judged against today's keys.
/// Records are what `publish` wrote to the browse site's data; a package
/// without one (published by another tool) is counted and left to the
/// hash stage, which reads the package itself.
fn check_package_signers(state: &State, keys: &KeyTable, o: &VerifyOptions, f: &mut Findings) {
    let root = &state.root;
    let entries = &state.archive.packages;
    let ledger = site::load_ledger(root);
    let records = crate::parallel::map(entries, o.jobs, |e| match ledger.get(&e.hash.value) {
        Some(hit) => Some(hit.clone()),
        None => site::load_signer(root, &e.name, &e.label(), &e.hash.value),
    });
    let mut unrecorded = 0usize;
    let mut unsigned = Vec::new();
    for (e, rec) in entries.iter().zip(records) {
        let Some((signature, fingerprint)) = rec else {
            unrecorded += 1;
            continue;
        };
        match signature.as_str() {
            "unsigned" => unsigned.push(e.label()),
            _ => {
                if let Some(why) = keys.refusal(&fingerprint) {
                    f.issue(
                        "packages",
                        format!(
                            "package {}: {why}; re-sign and re-publish it under a new revision",
                            e.label()
                        ),
                    );
                }
            }
        }
    }
    if !unsigned.is_empty() {
        let msg = format!(
            "{} package(s) were published unsigned: {}",
            unsigned.len(),
            unsigned.join(", ")
        );
        if o.allow_unsigned {
            f.warn("packages", msg);
        } else {
            f.issue("packages", msg);
        }
    }
    if unrecorded > 0 {
        f.warn(
            "packages",
            format!(
                "{unrecorded} package(s) have no publish record (published by another tool); --mode hashes checks their signatures from the files"
            ),
        );
    }
}
