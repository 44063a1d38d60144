//! The streaming writer against the verifier: arbitrary entry streams
//! (sorted or not, duplicates, a file and a directory of one name, missing
//! content) must either give a package that verifies and lists exactly the
//! entries written, byte-identical to `write_package` of the same entries
//! shuffled, or fail leaving nothing in the output directory. Never panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peipkg_format::archive::{
    verify_package, write_package, write_sorted_package, EntryKind, PackOptions, PayloadEntry,
    PayloadKind, VerifyOptions,
};
use peipkg_format::documents::Manifest;
use std::path::PathBuf;
use std::sync::OnceLock;

const SEGMENTS: [&str; 7] = ["a", "a-", "a.", "b", "a0", "é", "lib"];

fn scratch() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("peipkg-fuzz-writer-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

fn manifest() -> Manifest {
    Manifest::decode(
        br#"{"schema_version":1,"name":"fz","version":"1-1","architecture":"noarch","dependencies":[],"conflicts":[],"size_installed":0,"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"f","source_ref":"r"}}"#,
    )
    .unwrap()
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    let sort = data[0] & 1 == 1;
    let mut entries = Vec::new();
    for chunk in data[1..].chunks(4).take(24) {
        if chunk.len() < 4 {
            break;
        }
        let depth = 1 + (chunk[1] % 3) as usize;
        let mut path = String::from("usr/share");
        for i in 0..depth {
            let seg = SEGMENTS[(chunk[2].rotate_left(3 * i as u32) as usize) % SEGMENTS.len()];
            path.push('/');
            path.push_str(seg);
        }
        let kind = match chunk[0] % 3 {
            0 => EntryKind::Directory,
            1 => EntryKind::File {
                size: u64::from(chunk[3] % 64),
            },
            _ => EntryKind::Symlink { target: "b".into() },
        };
        entries.push(PayloadEntry { path, kind });
    }
    let root = scratch().join("root");
    let out_dir = scratch().join("out");
    let _ = std::fs::remove_dir_all(&root);
    let _ = std::fs::remove_dir_all(&out_dir);
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&out_dir).unwrap();
    for e in &entries {
        if let EntryKind::File { size } = e.kind {
            let p = root.join(&e.path);
            // A name that is also a directory's cannot exist twice on disk:
            // the writer then meets a missing or wrong file, an error path.
            if let Some(parent) = p.parent() {
                let _ = std::fs::create_dir_all(parent);
            }
            let _ = std::fs::write(&p, vec![size as u8; size as usize]);
        }
    }
    if sort {
        entries.sort_by(peipkg_format::archive::writer::cmp_wire);
    }
    let opts = PackOptions {
        zstd_level: 1,
        signing_key: None,
    };
    let out = out_dir.join("fz.peipkg");
    let streamed = write_sorted_package(
        &manifest(),
        entries.clone().into_iter().map(Ok::<_, std::io::Error>),
        &root,
        &opts,
        &out,
    );
    match streamed {
        Ok(_) => {
            let verified = verify_package(&out, &VerifyOptions::default())
                .unwrap_or_else(|e| panic!("written package does not verify: {e}"));
            let listed: Vec<(String, bool)> = verified
                .payload
                .iter()
                .map(|p| (p.path.clone(), p.kind == PayloadKind::Directory))
                .collect();
            let given: Vec<(String, bool)> = entries
                .iter()
                .map(|e| (e.path.clone(), e.kind == EntryKind::Directory))
                .collect();
            assert_eq!(listed, given);
            let bytes = std::fs::read(&out).unwrap();
            let mut shuffled = entries.clone();
            shuffled.reverse();
            let again = out_dir.join("again.peipkg");
            write_package(&manifest(), shuffled, &root, &opts, &again).unwrap();
            assert!(std::fs::read(&again).unwrap() == bytes, "write_package differs");
        }
        Err(_) => {
            let left: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
            assert!(left.is_empty(), "a failed write left {left:?}");
        }
    }
});
