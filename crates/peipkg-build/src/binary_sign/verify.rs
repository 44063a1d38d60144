//! The kernel's acceptance rule, applied to what we are about to install:
//! the first section named `.peios.sig` must be PROGBITS, 65 bytes, start
//! with version byte 1, and carry an Ed25519 signature over SHA-256 of the
//! file with those 65 bytes taken as zero. A file that fails it is never
//! put in place of the input.

use object::elf::SHT_PROGBITS;
use object::LittleEndian as LE;
use peipkg_format::keys::PublicKey;
use sha2::{Digest, Sha256};

use super::elf::read_sections;
use super::{hash_range, BinSignError, ReadAt, BLOB_LEN, BLOB_VERSION};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error(transparent)]
    Read(#[from] BinSignError),
    #[error("no .peios.sig section")]
    NoSection,
    #[error(".peios.sig is not PROGBITS")]
    NotProgbits,
    #[error(".peios.sig is {0} bytes, expected 65 inside the file")]
    Size(u64),
    #[error(".peios.sig version byte is {0}, expected 1")]
    Version(u8),
    #[error(".peios.sig signature does not verify")]
    Signature,
}

/// Checks `src` the way the kernel does at exec.
pub fn verify<R: ReadAt + ?Sized>(src: &R, key: &PublicKey) -> Result<(), VerifyError> {
    let sections = read_sections(src)?;
    let index = sections.find_signature().ok_or(VerifyError::NoSection)?;
    let header = sections.section(index);
    if header.sh_type.get(LE) != SHT_PROGBITS {
        return Err(VerifyError::NotProgbits);
    }
    let (offset, size) = (header.sh_offset.get(LE), header.sh_size.get(LE));
    let inside = offset
        .checked_add(BLOB_LEN as u64)
        .is_some_and(|end| end <= src.size());
    if size != BLOB_LEN as u64 || !inside {
        return Err(VerifyError::Size(size));
    }
    let mut blob = [0u8; BLOB_LEN];
    src.read_exact_at(offset, &mut blob)?;
    if blob[0] != BLOB_VERSION {
        return Err(VerifyError::Version(blob[0]));
    }
    let mut hasher = Sha256::new();
    hash_range(src, 0, offset, &mut hasher)?;
    hasher.update([0u8; BLOB_LEN]);
    let after = offset + BLOB_LEN as u64;
    hash_range(src, after, src.size() - after, &mut hasher)?;
    let digest: [u8; 32] = hasher.finalize().into();
    let mut signature = [0u8; 64];
    signature.copy_from_slice(&blob[1..]);
    if key.verify_digest(&digest, &signature) {
        Ok(())
    } else {
        Err(VerifyError::Signature)
    }
}
