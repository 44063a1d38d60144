//! Shared test helpers: where the conformance fixtures are, and a reader for
//! plain tar streams so tests can look inside expected outputs.
#![allow(dead_code)]

use peipkg_format::archive::tar_header;
use std::path::PathBuf;

/// `../shared/conformance` from the workspace root, or
/// `$PEIPKG_CONFORMANCE_DIR`.
pub fn conformance_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("PEIPKG_CONFORMANCE_DIR") {
        return PathBuf::from(d);
    }
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/conformance");
    assert!(
        d.join("README.md").exists(),
        "conformance fixtures not found at {} (set PEIPKG_CONFORMANCE_DIR)",
        d.display()
    );
    d
}

pub fn test_key() -> peipkg_format::keys::SigningKey {
    peipkg_format::keys::SigningKey::load(&conformance_dir().join("keys/test-signing.ed25519"))
        .expect("test key loads")
}

/// One entry of a plain tar stream, PAX records applied.
#[derive(Debug, Clone)]
pub struct TarEntry {
    pub name: String,
    pub typeflag: u8,
    pub link: String,
    pub content: Vec<u8>,
}

pub fn read_tar(data: &[u8]) -> Vec<TarEntry> {
    let mut out = Vec::new();
    let mut off = 0;
    let mut pax: Vec<(String, Vec<u8>)> = Vec::new();
    while off + 512 <= data.len() {
        let block: &[u8; 512] = data[off..off + 512].try_into().unwrap();
        if block.iter().all(|&b| b == 0) {
            break;
        }
        let h = tar_header::decode(block).unwrap();
        let size = h.size as usize;
        let content = data[off + 512..off + 512 + size].to_vec();
        off += 512 + size.div_ceil(512) * 512;
        if h.typeflag == b'x' {
            pax = tar_header::parse_pax_records(&content).unwrap();
            continue;
        }
        let mut name = String::from_utf8(h.name).unwrap();
        let mut link = String::from_utf8(h.linkname).unwrap();
        for (k, v) in pax.drain(..) {
            match k.as_str() {
                "path" => name = String::from_utf8(v).unwrap(),
                "linkpath" => link = String::from_utf8(v).unwrap(),
                _ => panic!("unexpected PAX key {k}"),
            }
        }
        out.push(TarEntry {
            name,
            typeflag: h.typeflag,
            link,
            content,
        });
    }
    out
}
