//! An ELF signature checker written from the behaviour notes, sharing no
//! code with `peipkg-build`: it parses the section table itself, zeroes
//! the `.peios.sig` bytes, hashes and verifies with `ed25519-dalek`, and
//! re-derives the exact appended layout from the unsigned original.
#![allow(dead_code)]

use ed25519_dalek::{Signature, Verifier, VerifyingKey};
use sha2::{Digest, Sha256};

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(b[at..at + 2].try_into().unwrap())
}
fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}
fn u64_at(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().unwrap())
}

#[derive(Debug, Clone)]
pub struct Shdr {
    pub name: u32,
    pub kind: u32,
    pub offset: u64,
    pub size: u64,
    pub raw: Vec<u8>,
}

/// (e_shoff, e_shnum, e_shstrndx, headers)
pub fn sections(elf: &[u8]) -> (u64, u16, u16, Vec<Shdr>) {
    let shoff = u64_at(elf, 0x28);
    let shnum = u16_at(elf, 0x3c);
    let shstrndx = u16_at(elf, 0x3e);
    let headers = (0..shnum as usize)
        .map(|i| {
            let at = shoff as usize + i * 64;
            let raw = elf[at..at + 64].to_vec();
            Shdr {
                name: u32_at(&raw, 0),
                kind: u32_at(&raw, 4),
                offset: u64_at(&raw, 24),
                size: u64_at(&raw, 32),
                raw,
            }
        })
        .collect();
    (shoff, shnum, shstrndx, headers)
}

pub fn section_name(elf: &[u8], strtab: &Shdr, name: u32) -> Vec<u8> {
    let start = strtab.offset as usize + name as usize;
    let end = strtab.offset as usize + strtab.size as usize;
    let bytes = &elf[start..end];
    bytes[..bytes.iter().position(|&b| b == 0).unwrap()].to_vec()
}

/// The kernel's rule: first `.peios.sig`, PROGBITS, 65 bytes, version 1,
/// Ed25519 over SHA-256 of the file with the section zeroed.
pub fn verify_signature(elf: &[u8], public: &[u8; 32]) -> Result<(), String> {
    let (_, _, shstrndx, headers) = sections(elf);
    let strtab = headers[shstrndx as usize].clone();
    let sig = headers
        .iter()
        .find(|h| section_name(elf, &strtab, h.name) == b".peios.sig")
        .ok_or("no .peios.sig")?;
    if sig.kind != 1 || sig.size != 65 {
        return Err(format!("type {} size {}", sig.kind, sig.size));
    }
    let at = sig.offset as usize;
    let blob = &elf[at..at + 65];
    if blob[0] != 1 {
        return Err(format!("version {}", blob[0]));
    }
    let mut zeroed = elf.to_vec();
    zeroed[at..at + 65].fill(0);
    let digest = Sha256::digest(&zeroed);
    let key = VerifyingKey::from_bytes(public).map_err(|e| e.to_string())?;
    let signature = Signature::from_bytes(blob[1..].try_into().unwrap());
    key.verify(&digest, &signature).map_err(|e| e.to_string())
}

/// Checks every byte of `signed` against the layout the notes give for
/// signing `orig`, except the 64 signature bytes (checked by
/// [`verify_signature`]).
pub fn assert_reference_layout(orig: &[u8], signed: &[u8]) {
    let len = orig.len();
    let (_, shnum, shstrndx, old) = sections(orig);
    let old_str = &old[shstrndx as usize];
    let old_strtab = &orig[old_str.offset as usize..(old_str.offset + old_str.size) as usize];
    let mut new_strtab = old_strtab.to_vec();
    new_strtab.extend_from_slice(b".peios.sig\0");
    let strtab_off = len + 65;
    let table_off = (strtab_off + new_strtab.len()).div_ceil(8) * 8;
    let total = table_off + (shnum as usize + 1) * 64;
    assert_eq!(signed.len(), total, "signed length");

    // Header: only e_shoff and e_shnum change.
    let mut header = orig[..64].to_vec();
    header[0x28..0x30].copy_from_slice(&(table_off as u64).to_le_bytes());
    header[0x3c..0x3e].copy_from_slice(&(shnum + 1).to_le_bytes());
    assert_eq!(&signed[..64], &header[..], "ELF header");
    assert!(signed[64..len] == orig[64..], "original bytes changed");
    assert_eq!(signed[len], 1, "version byte at the original length");
    assert_eq!(
        &signed[strtab_off..strtab_off + new_strtab.len()],
        &new_strtab[..]
    );
    assert!(
        signed[strtab_off + new_strtab.len()..table_off]
            .iter()
            .all(|&b| b == 0),
        "padding"
    );
    for (i, h) in old.iter().enumerate() {
        let mut want = h.raw.clone();
        if i == shstrndx as usize {
            want[24..32].copy_from_slice(&(strtab_off as u64).to_le_bytes());
            want[32..40].copy_from_slice(&(new_strtab.len() as u64).to_le_bytes());
        }
        let at = table_off + i * 64;
        assert_eq!(&signed[at..at + 64], &want[..], "section header {i}");
    }
    let mut new = [0u8; 64];
    new[0..4].copy_from_slice(&(old_strtab.len() as u32).to_le_bytes());
    new[4..8].copy_from_slice(&1u32.to_le_bytes());
    new[24..32].copy_from_slice(&(len as u64).to_le_bytes());
    new[32..40].copy_from_slice(&65u64.to_le_bytes());
    new[48..56].copy_from_slice(&1u64.to_le_bytes());
    let at = table_off + shnum as usize * 64;
    assert_eq!(&signed[at..at + 64], &new[..], "the .peios.sig header");
}

/// The public key of a 32-byte seed.
pub fn public_of_seed(seed: &[u8; 32]) -> [u8; 32] {
    ed25519_dalek::SigningKey::from_bytes(seed)
        .verifying_key()
        .to_bytes()
}

/// (path, contents) of each regular file.
pub type PackedFiles = Vec<(String, Vec<u8>)>;
/// (path, target) of each symlink.
pub type PackedLinks = Vec<(String, String)>;

/// Regular files in a `.peipkg` (zstd tar): (path, bytes); symlinks as
/// (path, target) in the second list.
pub fn package_entries(pkg: &std::path::Path) -> (PackedFiles, PackedLinks) {
    let raw = zstd::decode_all(std::fs::File::open(pkg).unwrap()).unwrap();
    let mut files = Vec::new();
    let mut links = Vec::new();
    let mut at = 0;
    let mut long_name: Option<String> = None;
    while at + 512 <= raw.len() && raw[at..at + 512].iter().any(|&b| b != 0) {
        let h = &raw[at..at + 512];
        let field = |r: std::ops::Range<usize>| {
            let b = &h[r];
            String::from_utf8_lossy(&b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())])
                .into_owned()
        };
        let size = u64::from_str_radix(field(124..136).trim(), 8).unwrap_or(0) as usize;
        let prefix = field(345..500);
        let mut name = field(0..100);
        if !prefix.is_empty() {
            name = format!("{prefix}/{name}");
        }
        if let Some(n) = long_name.take() {
            name = n;
        }
        let data = raw[at + 512..at + 512 + size].to_vec();
        match h[156] {
            b'x' => {
                let text = String::from_utf8_lossy(&data).into_owned();
                long_name = text
                    .lines()
                    .find_map(|l| l.split_once(" path=").map(|(_, p)| p.to_string()));
            }
            b'0' | 0 => files.push((name, data)),
            b'2' => links.push((name, field(157..257))),
            _ => {}
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    (files, links)
}
