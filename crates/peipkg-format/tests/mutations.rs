//! Every class of corruption the verifier must reject, each built on purpose
//! and each asserted to give its own specific error.

mod common;

use peipkg_format::archive::tar_header::{self, EntryHeader, BLOCK};
use peipkg_format::archive::{verify_reader, VerifyError, VerifyOptions};
use peipkg_format::documents::{FileEntry, FilesManifest, Manifest};
use peipkg_format::keys::{SignatureError, SigningKey};
use peipkg_format::layout::PathError;
use sha2::{Digest, Sha256};

const MTIME: u64 = 1778068800;

#[derive(Clone)]
struct Raw {
    name: String,
    typeflag: u8,
    content: Vec<u8>,
    link: String,
    mode: u64,
}

fn file(name: &str, content: &[u8]) -> Raw {
    Raw {
        name: name.into(),
        typeflag: b'0',
        content: content.to_vec(),
        link: String::new(),
        mode: 0o777,
    }
}
fn dir(name: &str) -> Raw {
    Raw {
        name: name.into(),
        typeflag: b'5',
        content: vec![],
        link: String::new(),
        mode: 0o777,
    }
}
fn link(name: &str, target: &str) -> Raw {
    Raw {
        name: name.into(),
        typeflag: b'2',
        content: vec![],
        link: target.into(),
        mode: 0o777,
    }
}

fn base() -> Vec<Raw> {
    vec![
        dir("usr/"),
        dir("usr/share/"),
        dir("usr/share/x/"),
        file("usr/share/x/a.txt", b"hello, world\n"),
        file("usr/share/x/b.txt", b"second file\n"),
        link("usr/share/x/l", "a.txt"),
    ]
}

fn manifest(size: u64) -> Manifest {
    let text = format!(
        r#"{{"schema_version":1,"name":"mut","version":"1.0-1","architecture":"noarch","dependencies":[],"conflicts":[],"size_installed":{size},"build":{{"timestamp":"2026-05-06T12:00:00Z","farm_id":"t","source_ref":"t"}}}}"#
    );
    Manifest::decode(text.as_bytes()).unwrap()
}

fn files_for(entries: &[Raw]) -> FilesManifest {
    let mut v: Vec<FileEntry> = entries
        .iter()
        .filter(|e| e.typeflag == b'0' && !e.name.starts_with(".peipkg/"))
        .map(|e| FileEntry {
            path: e.name.clone(),
            size: e.content.len() as u64,
            hash: hex::encode(Sha256::digest(&e.content)),
        })
        .collect();
    v.sort_by(|a, b| a.path.cmp(&b.path));
    FilesManifest::new(v)
}

fn member(out: &mut Vec<u8>, e: &Raw) {
    let start = out.len();
    tar_header::encode(
        &EntryHeader {
            name: &e.name,
            typeflag: e.typeflag,
            size: e.content.len() as u64,
            mtime: MTIME,
            linkname: &e.link,
        },
        out,
    );
    if e.mode != 0o777 {
        let last = out.len() - BLOCK;
        let block: &mut [u8; BLOCK] = (&mut out[last..]).try_into().unwrap();
        let m = format!("{:07o}\0", e.mode);
        block[100..108].copy_from_slice(m.as_bytes());
        tar_header::put_checksum(block);
    }
    let _ = start;
    out.extend_from_slice(&e.content);
    tar_header::pad_to_block(out);
}

/// A tar stream: manifest, files.json, payload as given, optional signature.
fn tar(m: &Manifest, files: &FilesManifest, payload: &[Raw], key: Option<&SigningKey>) -> Vec<u8> {
    let mut out = Vec::new();
    member(&mut out, &file(".peipkg/manifest.json", &m.to_bytes()));
    member(&mut out, &file(".peipkg/files.json", &files.to_bytes()));
    for e in payload {
        member(&mut out, e);
    }
    if let Some(k) = key {
        let digest: [u8; 32] = Sha256::digest(&out).into();
        member(
            &mut out,
            &file(
                ".peipkg/signature",
                &k.envelope_for_digest(&digest).to_bytes(),
            ),
        );
    }
    out.extend_from_slice(&[0u8; 2 * BLOCK]);
    out
}

fn good_tar(key: Option<&SigningKey>) -> Vec<u8> {
    let p = base();
    let f = files_for(&p);
    tar(
        &manifest(f.entries.iter().map(|e| e.size).sum()),
        &f,
        &p,
        key,
    )
}

fn z(tar: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(tar, 3).unwrap()
}

fn key() -> SigningKey {
    SigningKey::from_seed(&[42u8; 32])
}

fn opts_signed() -> VerifyOptions {
    VerifyOptions {
        trusted_keys: vec![key().public_key()],
        require_signature: true,
        ..Default::default()
    }
}

fn check(pkg: &[u8], opts: &VerifyOptions) -> Result<(), VerifyError> {
    verify_reader(pkg, opts).map(|_| ())
}

/// Variation of the base payload, re-hashed so only the intended flaw remains.
fn with_payload(payload: Vec<Raw>) -> Vec<u8> {
    let f = files_for(&payload);
    z(&tar(
        &manifest(f.entries.iter().map(|e| e.size).sum()),
        &f,
        &payload,
        None,
    ))
}

fn find(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).position(|w| w == needle).unwrap()
}

#[test]
fn baseline_packages_verify() {
    check(&z(&good_tar(None)), &VerifyOptions::default()).unwrap();
    check(&z(&good_tar(Some(&key()))), &opts_signed()).unwrap();
}

#[test]
fn flipped_payload_byte_unsigned_is_a_hash_mismatch() {
    let mut t = good_tar(None);
    let at = find(&t, b"hello, world");
    t[at] ^= 0x20;
    assert!(
        matches!(check(&z(&t), &VerifyOptions::default()), Err(VerifyError::Hash(p)) if p == "usr/share/x/a.txt")
    );
}

#[test]
fn flipped_payload_byte_signed_is_a_bad_signature() {
    let mut t = good_tar(Some(&key()));
    let at = find(&t, b"hello, world");
    t[at] ^= 0x20;
    assert!(matches!(
        check(&z(&t), &opts_signed()),
        Err(VerifyError::Signature(SignatureError::BadSignature(_)))
    ));
}

#[test]
fn flipped_manifest_byte_signed_is_a_bad_signature() {
    let mut t = good_tar(Some(&key()));
    let at = find(&t, b"\"farm_id\":\"t\"");
    t[at + 11] = b'u';
    assert!(matches!(
        check(&z(&t), &opts_signed()),
        Err(VerifyError::Signature(SignatureError::BadSignature(_)))
    ));
}

#[test]
fn reordered_entries_are_rejected() {
    let mut p = base();
    p.swap(3, 4);
    let err = check(&with_payload(p), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Order { prev, next } if prev == "usr/share/x/b.txt" && next == "usr/share/x/a.txt"),
        "{err}"
    );
}

#[test]
fn directory_sorted_without_its_slash_is_rejected() {
    // The older emitter's order: `fpu/` before `fpu.h` (sorted without the slash).
    let p = vec![
        dir("usr/"),
        dir("usr/include/"),
        dir("usr/include/fpu/"),
        file("usr/include/fpu.h", b"x"),
    ];
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Order { .. })
    ));
}

#[test]
fn extra_envelope_member_is_rejected() {
    let mut t = good_tar(Some(&key()));
    let at = find(&t, b"{\"schema_version\":1,\"algorithm\":\"ed25519\"");
    // Replace the envelope content in place with one that has an extra member,
    // keeping the length so the header stays valid.
    let env_end = at + t[at..].iter().position(|&b| b == b'\n').unwrap();
    let original = String::from_utf8(t[at..env_end].to_vec()).unwrap();
    let modified = original.replacen(
        "{\"schema_version\":1,",
        "{\"x\":1,\"schema_version\":1,",
        1,
    );
    // Keep the length: drop six characters of the signature value.
    let cut = modified.len() - original.len();
    let sig_at = modified.rfind("\"}").unwrap();
    let fixed = format!("{}{}", &modified[..sig_at - cut], &modified[sig_at..]);
    assert_eq!(fixed.len(), original.len());
    t[at..env_end].copy_from_slice(fixed.as_bytes());
    let err = check(&z(&t), &opts_signed()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::Signature(SignatureError::Envelope(_))),
        "{err}"
    );
    assert!(err.to_string().contains("unknown field"), "{err}");
}

#[test]
fn unknown_fingerprint_is_rejected() {
    let other = SigningKey::from_seed(&[7u8; 32]);
    let t = good_tar(Some(&other));
    assert!(
        matches!(check(&z(&t), &opts_signed()), Err(VerifyError::Signature(SignatureError::UnknownKey(fp))) if fp == other.public_key().fingerprint())
    );
}

#[test]
fn unsigned_is_rejected_when_a_signature_is_required() {
    assert!(matches!(
        check(&z(&good_tar(None)), &opts_signed()),
        Err(VerifyError::Unsigned)
    ));
}

#[test]
fn truncated_streams_are_rejected() {
    let pkg = z(&good_tar(None));
    let err = check(&pkg[..pkg.len() / 2], &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(err, VerifyError::Truncated | VerifyError::Decompress(_)),
        "{err}"
    );
    let t = good_tar(None);
    let err = check(&z(&t[..t.len() - 3 * BLOCK]), &VerifyOptions::default()).unwrap_err();
    assert!(matches!(err, VerifyError::Truncated), "{err}");
}

#[test]
fn decompression_bombs_are_stopped() {
    let big = vec![0u8; 4 << 20];
    let pkg = with_payload(vec![
        dir("usr/"),
        dir("usr/share/"),
        file("usr/share/zeros", &big),
    ]);
    assert!(pkg.len() < 64 * 1024);
    let opts = VerifyOptions {
        decompressed_cap: 1 << 20,
        ..Default::default()
    };
    assert!(matches!(check(&pkg, &opts), Err(VerifyError::DecompressedBound(c)) if c == 1 << 20));
    // The index-declared installed size bounds it too (plus the allowance).
    let opts = VerifyOptions {
        expected_size_installed: Some(0),
        decompressed_cap: (320 << 20) + 1024,
        ..Default::default()
    };
    check(&pkg, &opts).unwrap();
    // And the manifest's own size_installed: a manifest that understates
    // its payload cannot hide a bomb behind the absolute cap.
    let p = vec![
        dir("usr/"),
        dir("usr/share/"),
        file("usr/share/zeros", &big),
    ];
    let f = files_for(&p);
    let lying = z(&tar(&manifest(1), &f, &p, None));
    assert!(matches!(
        check(&lying, &VerifyOptions::default()),
        Err(VerifyError::SizeInstalled { declared: 1, .. })
    ));
}

#[test]
fn compressed_size_bound_is_enforced() {
    let pkg = z(&good_tar(None));
    let opts = VerifyOptions {
        expected_size_compressed: Some(pkg.len() as u64 / 2),
        ..Default::default()
    };
    assert!(matches!(
        check(&pkg, &opts),
        Err(VerifyError::CompressedBound(_))
    ));
}

#[test]
fn wrong_package_hash_is_reported_first() {
    let pkg = z(&good_tar(Some(&key())));
    let opts = VerifyOptions {
        expected_sha256: Some("00".repeat(32)),
        ..opts_signed()
    };
    assert!(matches!(
        check(&pkg, &opts),
        Err(VerifyError::PackageHash { .. })
    ));
}

#[test]
fn dot_dot_and_absolute_paths_are_rejected() {
    let mut p = base();
    p.push(file("usr/share/x/../../../etc/evil", b"x"));
    p.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Path {
            error: PathError::DotSegment,
            ..
        })
    ));
    let mut p = base();
    p.insert(0, file("/etc/evil", b"x"));
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Path {
            error: PathError::Absolute,
            ..
        })
    ));
}

#[test]
fn hardlinks_and_devices_are_rejected() {
    for t in [b'1', b'3', b'4', b'6', b'7'] {
        let mut p = base();
        p.push(Raw {
            name: "usr/share/x/z".into(),
            typeflag: t,
            content: vec![],
            link: "usr/share/x/a.txt".into(),
            mode: 0o777,
        });
        let err = check(&with_payload(p), &VerifyOptions::default()).unwrap_err();
        assert!(
            matches!(&err, VerifyError::EntryType { typeflag, .. } if *typeflag == t as char),
            "{err}"
        );
    }
}

#[test]
fn setuid_and_other_modes_are_rejected() {
    let mut p = base();
    p[3].mode = 0o4777;
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Setuid { mode: 0o4777, .. })
    ));
    let mut p = base();
    p[3].mode = 0o644;
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Mode { mode: 0o644, .. })
    ));
}

#[test]
fn non_nfc_paths_are_rejected() {
    let mut p = base();
    p.push(file("usr/share/x/cafe\u{301}", b"x"));
    p.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Path {
            error: PathError::NotNfc(_),
            ..
        })
    ));
}

#[test]
fn duplicate_paths_are_rejected() {
    let mut p = base();
    p.insert(4, file("usr/share/x/a.txt", b"hello, world\n"));
    let payload = p.clone();
    let mut f = files_for(&payload);
    f.entries.dedup_by(|a, b| a.path == b.path);
    let pkg = z(&tar(&manifest(13 + 13 + 12), &f, &payload, None));
    assert!(
        matches!(check(&pkg, &VerifyOptions::default()), Err(VerifyError::Duplicate(p)) if p == "usr/share/x/a.txt")
    );
}

#[test]
fn files_json_and_payload_must_agree() {
    let p = base();
    let size: u64 = 25;
    // A listed file that is not in the payload.
    let mut f = files_for(&p);
    f.entries.push(FileEntry {
        path: "usr/share/x/zz".into(),
        size: 1,
        hash: "0".repeat(64),
    });
    assert!(
        matches!(check(&z(&tar(&manifest(size), &f, &p, None)), &VerifyOptions::default()), Err(VerifyError::Missing(p)) if p == "usr/share/x/zz")
    );
    // A payload file that files.json does not list.
    let mut f = files_for(&p);
    f.entries.remove(1);
    assert!(
        matches!(check(&z(&tar(&manifest(size), &f, &p, None)), &VerifyOptions::default()), Err(VerifyError::Unlisted(p)) if p == "usr/share/x/b.txt")
    );
    // A size that disagrees.
    let mut f = files_for(&p);
    f.entries[0].size += 1;
    assert!(matches!(
        check(
            &z(&tar(&manifest(size), &f, &p, None)),
            &VerifyOptions::default()
        ),
        Err(VerifyError::Size { .. })
    ));
}

#[test]
fn signature_must_be_last() {
    let mut t = good_tar(Some(&key()));
    t.truncate(t.len() - 2 * BLOCK);
    member(&mut t, &file("usr/share/x/late", b"x"));
    t.extend_from_slice(&[0u8; 2 * BLOCK]);
    assert!(
        matches!(check(&z(&t), &opts_signed()), Err(VerifyError::Layout { path, .. }) if path == "usr/share/x/late")
    );
}

#[test]
fn foreign_pax_records_are_rejected() {
    let mut t = Vec::new();
    let p = base();
    let f = files_for(&p);
    member(
        &mut t,
        &file(".peipkg/manifest.json", &manifest(25).to_bytes()),
    );
    member(&mut t, &file(".peipkg/files.json", &f.to_bytes()));
    let rec = tar_header::pax_record("mtime", "1778068800.5");
    member(
        &mut t,
        &Raw {
            name: "usr/PaxHeaders.0".into(),
            typeflag: b'x',
            content: rec.into_bytes(),
            link: String::new(),
            mode: 0,
        },
    );
    for e in &p {
        member(&mut t, e);
    }
    t.extend_from_slice(&[0u8; 2 * BLOCK]);
    assert!(
        matches!(check(&z(&t), &VerifyOptions::default()), Err(VerifyError::PaxRecord { key, .. }) if key == "mtime")
    );
}

#[test]
fn corrupt_header_checksum_is_rejected() {
    let mut t = good_tar(None);
    t[2 * BLOCK + 3 * BLOCK] ^= 1; // somewhere in a payload header name
    let err = check(&z(&t), &VerifyOptions::default()).unwrap_err();
    assert!(matches!(err, VerifyError::Header { .. }), "{err}");
}

#[test]
fn escaping_symlinks_are_rejected() {
    let mut p = base();
    p.push(link("usr/share/x/m", "../../../../tmp/x"));
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::Symlink { .. })
    ));
}

#[test]
fn entries_under_a_symlink_are_rejected_naming_both_paths() {
    // The link resolves inside the layout, so only the ancestor rule can
    // catch it; an unrelated sibling sorts between link and victim.
    let mut p = base();
    p.push(dir("usr/share/y/"));
    p.push(link("usr/share/y/x", "../../../etc"));
    p.push(file("usr/share/y/x-sibling", b"fine\n"));
    p.push(file("usr/share/y/x/pwned", b"owned\n"));
    let err = check(&with_payload(p), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::UnderSymlink { path, link }
            if path == "usr/share/y/x/pwned" && link == "usr/share/y/x"),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains("usr/share/y/x/pwned") && text.contains("\"usr/share/y/x\""),
        "{text}"
    );
    // A directory under a symlink is refused the same way.
    let mut p = base();
    p.push(link("usr/share/x/m", "."));
    p.push(dir("usr/share/x/m/d/"));
    assert!(matches!(
        check(&with_payload(p), &VerifyOptions::default()),
        Err(VerifyError::UnderSymlink { .. })
    ));
}

#[test]
fn manifest_must_come_first() {
    let mut t = Vec::new();
    let p = base();
    let f = files_for(&p);
    member(&mut t, &file(".peipkg/files.json", &f.to_bytes()));
    member(
        &mut t,
        &file(".peipkg/manifest.json", &manifest(25).to_bytes()),
    );
    t.extend_from_slice(&[0u8; 2 * BLOCK]);
    assert!(matches!(
        check(&z(&t), &VerifyOptions::default()),
        Err(VerifyError::Layout { .. })
    ));
}

#[test]
fn invalid_manifest_is_rejected_with_every_problem() {
    let p = base();
    let f = files_for(&p);
    let mut m = manifest(25);
    m.name = "Bad Name".into();
    m.version = "not a version".into();
    let err = check(&z(&tar(&m, &f, &p, None)), &VerifyOptions::default()).unwrap_err();
    assert!(
        matches!(&err, VerifyError::ManifestInvalid(v) if v.len() == 2),
        "{err}"
    );
}

#[test]
fn garbage_never_panics() {
    // A quick deterministic sweep; the fuzz targets go much further.
    let good = z(&good_tar(Some(&key())));
    let mut state = 0x9e3779b97f4a7c15u64;
    for _ in 0..300 {
        let mut pkg = good.clone();
        for _ in 0..4 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let i = (state % pkg.len() as u64) as usize;
            pkg[i] ^= (state >> 32) as u8 | 1;
        }
        let _ = check(&pkg, &opts_signed());
    }
    let _ = check(b"", &VerifyOptions::default());
    let _ = check(&[0x28, 0xb5, 0x2f, 0xfd], &VerifyOptions::default());
}
