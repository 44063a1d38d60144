//! Trusted-binary signing: the `.peios.sig` ELF section the Peios kernel
//! checks at exec time to give a binary PIP trust.
//!
//! The format is fixed by the kernel (and by the reference tool, whose
//! output must be byte-identical for the same input and key): a 65-byte
//! PROGBITS section named `.peios.sig` holding `0x01` followed by a pure
//! Ed25519 signature over SHA-256 of the whole signed file with those 65
//! bytes taken as zero. The section is appended, together with a fresh
//! section-name table and a new section header table; the original bytes
//! are kept, apart from two fields of the ELF header.
//!
//! [`elf`] computes that layout (reading structures with the `object`
//! crate, writing every byte itself), [`verify`] applies the kernel's rule
//! to the result before anything is replaced, and [`file`] does the
//! temporary-file dance so the input is untouched on every error.

pub mod elf;
pub mod file;
pub mod verify;

use std::path::PathBuf;

use peipkg_format::keys::SigningKey;
use sha2::{Digest, Sha256};

pub use file::{sign_file, SignFileError};

/// The section the kernel looks for.
pub const SECTION_NAME: &[u8] = b".peios.sig";
/// Version byte + Ed25519 signature.
pub const BLOB_LEN: usize = 65;
/// The only blob version the kernel accepts.
pub const BLOB_VERSION: u8 = 1;

/// Why an ELF file cannot be (or was not) signed. The texts are the
/// reference tool's, so scripts matching on them keep working.
#[derive(Debug, thiserror::Error)]
pub enum BinSignError {
    #[error("binsign: not a little-endian ELF64 binary")]
    NotElf64Le,
    #[error("binsign: ELF has no usable section header table")]
    NoSectionTable,
    #[error("binsign: malformed ELF section table")]
    Malformed,
    #[error("binsign: ELF already has a .peios.sig section")]
    AlreadySigned,
    /// One more section would reach SHN_LORESERVE (0xff00), which needs
    /// extended section numbering; the kernel's reader does not do that.
    #[error("binsign: ELF has {0} sections; one more would need extended section numbering (SHN_XINDEX), which is not supported")]
    TooManySections(u16),
    #[error("binsign: post-sign self-verification failed")]
    SelfVerify,
    #[error("binsign: {op} {path}: {source}")]
    Io {
        op: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Random access to the bytes being signed or verified: a file (read in
/// place, never loaded whole) or a slice. Errors are already worded for
/// the user (a file names itself).
pub trait ReadAt {
    fn size(&self) -> u64;
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BinSignError>;
}

impl ReadAt for [u8] {
    fn size(&self) -> u64 {
        self.len() as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BinSignError> {
        let start = usize::try_from(offset).ok();
        let end = start.and_then(|s| s.checked_add(buf.len()));
        match (start, end) {
            (Some(s), Some(e)) if e <= self.len() => {
                buf.copy_from_slice(&self[s..e]);
                Ok(())
            }
            // Callers check bounds first; reaching this is a malformed file.
            _ => Err(BinSignError::Malformed),
        }
    }
}

/// Feeds `len` bytes of `src` from `offset` into `hasher`, in chunks.
pub(crate) fn hash_range<R: ReadAt + ?Sized>(
    src: &R,
    offset: u64,
    len: u64,
    hasher: &mut Sha256,
) -> Result<(), BinSignError> {
    let mut buf = vec![0u8; CHUNK.min(len as usize)];
    let mut done = 0u64;
    while done < len {
        let n = (len - done).min(buf.len() as u64) as usize;
        src.read_exact_at(offset + done, &mut buf[..n])?;
        hasher.update(&buf[..n]);
        done += n as u64;
    }
    Ok(())
}

/// Read size for streaming over a file.
pub(crate) const CHUNK: usize = 1 << 20;

/// Signs ELF bytes in memory; returns the signed file. Used by tests and
/// the fuzz target; [`sign_file`] streams instead.
pub fn sign_bytes(input: &[u8], key: &SigningKey) -> Result<Vec<u8>, BinSignError> {
    let mut plan = elf::plan(input)?;
    let mut hasher = Sha256::new();
    hasher.update(plan.header);
    hasher.update(&input[elf::HEADER_LEN..]);
    hasher.update(&plan.tail);
    let digest: [u8; 32] = hasher.finalize().into();
    plan.set_blob(&blob(key, &digest));
    let mut out = Vec::with_capacity(input.len() + plan.tail.len());
    out.extend_from_slice(&plan.header);
    out.extend_from_slice(&input[elf::HEADER_LEN..]);
    out.extend_from_slice(&plan.tail);
    if verify::verify(out.as_slice(), &key.public_key()).is_err() {
        return Err(BinSignError::SelfVerify);
    }
    Ok(out)
}

/// `0x01` followed by Ed25519 over the 32-byte digest (pure Ed25519, the
/// digest is the message; Ed25519 is deterministic, so is the blob).
fn blob(key: &SigningKey, digest: &[u8; 32]) -> [u8; BLOB_LEN] {
    let mut blob = [0u8; BLOB_LEN];
    blob[0] = BLOB_VERSION;
    blob[1..].copy_from_slice(&key.sign_digest(digest));
    blob
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal ELF64 LE: header, `n` section headers at 64, the name
    /// table (section 1) after them.
    fn synthetic(n: u16) -> Vec<u8> {
        let names = b"\0.shstrtab\0".to_vec();
        let table_end = 64 + usize::from(n) * 64;
        let mut v = vec![0u8; table_end];
        v[..4].copy_from_slice(b"\x7fELF");
        v[4] = 2; // ELFCLASS64
        v[5] = 1; // ELFDATA2LSB
        v[6] = 1;
        v[0x28..0x30].copy_from_slice(&64u64.to_le_bytes());
        v[0x3a..0x3c].copy_from_slice(&64u16.to_le_bytes());
        v[0x3c..0x3e].copy_from_slice(&n.to_le_bytes());
        v[0x3e..0x40].copy_from_slice(&1u16.to_le_bytes());
        let s = 64 + 64;
        v[s..s + 4].copy_from_slice(&1u32.to_le_bytes());
        v[s + 4..s + 8].copy_from_slice(&3u32.to_le_bytes()); // SHT_STRTAB
        v[s + 24..s + 32].copy_from_slice(&(table_end as u64).to_le_bytes());
        v[s + 32..s + 40].copy_from_slice(&(names.len() as u64).to_le_bytes());
        v.extend_from_slice(&names);
        v
    }

    #[test]
    fn a_minimal_elf_signs_and_verifies() {
        let key = SigningKey::from_seed(&[4u8; 32]);
        let input = synthetic(2);
        let signed = sign_bytes(&input, &key).unwrap();
        verify::verify(signed.as_slice(), &key.public_key()).unwrap();
        // The blob sits at the original end; the new table is 8-aligned.
        assert_eq!(signed[input.len()], BLOB_VERSION);
        let shoff = u64::from_le_bytes(signed[0x28..0x30].try_into().unwrap());
        assert_eq!(shoff % 8, 0);
        assert_eq!(u16::from_le_bytes([signed[0x3c], signed[0x3d]]), 3);
        assert!(matches!(
            sign_bytes(&signed, &key),
            Err(BinSignError::AlreadySigned)
        ));
        let other = SigningKey::from_seed(&[5u8; 32]);
        assert!(verify::verify(signed.as_slice(), &other.public_key()).is_err());
    }

    #[test]
    fn one_section_short_of_the_reserved_range_is_refused() {
        let key = SigningKey::from_seed(&[4u8; 32]);
        assert!(sign_bytes(&synthetic(0xfefe), &key).is_ok());
        let err = sign_bytes(&synthetic(0xfeff), &key).unwrap_err();
        assert!(
            matches!(err, BinSignError::TooManySections(0xfeff)),
            "{err}"
        );
    }

    #[test]
    fn names_outside_the_table_are_not_a_match_and_not_a_panic() {
        let key = SigningKey::from_seed(&[4u8; 32]);
        let mut input = synthetic(3);
        // Section 2's sh_name points far past the name table.
        let s2 = 64 + 2 * 64;
        input[s2..s2 + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        sign_bytes(&input, &key).unwrap();
    }
}
