//! The ELF side of binary signing: which files are acceptable, and the
//! exact bytes appended to them.
//!
//! Structures are read through `object`'s ELF64 layouts; the few bytes that
//! are written (two header fields, the blob placeholder, the string table,
//! the padding and the section header table) are produced here, field by
//! field, so the output does not depend on how a library lays files out.

use object::elf::{FileHeader64, SectionHeader64, ELFCLASS64, ELFDATA2LSB, ELFMAG, SHT_PROGBITS};
use object::pod;
use object::LittleEndian as LE;

use super::{BinSignError, ReadAt, BLOB_LEN, SECTION_NAME};

/// The ELF64 file header.
pub const HEADER_LEN: usize = 64;
/// An ELF64 section header.
pub const SHDR_LEN: usize = 64;
/// Where `e_shoff` (u64) and `e_shnum` (u16) sit in the file header.
const E_SHOFF: usize = 0x28;
const E_SHNUM: usize = 0x3c;
/// Where `sh_offset` and `sh_size` (both u64) sit in a section header.
const SH_OFFSET: usize = 24;
const SH_SIZE: usize = 32;
/// The first reserved section index; `e_shnum` must stay below it.
const SHN_LORESERVE: u16 = 0xff00;

/// The section table of an acceptable ELF file.
pub struct Sections {
    pub header: [u8; HEADER_LEN],
    pub size: u64,
    pub shnum: u16,
    pub shstrndx: u16,
    /// The raw section header table (`shnum * 64` bytes).
    pub table: Vec<u8>,
    /// The section-name string table's bytes.
    pub strtab: Vec<u8>,
}

impl Sections {
    /// The `index`th section header.
    pub fn section(&self, index: usize) -> &SectionHeader64<LE> {
        let start = index * SHDR_LEN;
        let bytes = &self.table[start..start + SHDR_LEN];
        // 64 bytes and an unaligned Pod type: cannot fail.
        match pod::from_bytes::<SectionHeader64<LE>>(bytes) {
            Ok((h, _)) => h,
            Err(()) => unreachable!("a 64-byte slice holds one section header"),
        }
    }

    /// The section's name, if `sh_name` points inside the string table.
    pub fn name(&self, index: usize) -> Option<&[u8]> {
        let at = usize::try_from(self.section(index).sh_name.get(LE)).ok()?;
        let rest = self.strtab.get(at..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        Some(&rest[..end])
    }

    /// Index of the first section named `.peios.sig`.
    pub fn find_signature(&self) -> Option<usize> {
        (0..usize::from(self.shnum)).find(|&i| self.name(i) == Some(SECTION_NAME))
    }
}

/// Reads and checks the header, the section table and the section-name
/// table, in the reference's order and with its texts.
pub fn read_sections<R: ReadAt + ?Sized>(src: &R) -> Result<Sections, BinSignError> {
    let size = src.size();
    if size < HEADER_LEN as u64 {
        return Err(BinSignError::NotElf64Le);
    }
    let mut header = [0u8; HEADER_LEN];
    src.read_exact_at(0, &mut header)?;
    let fh = match pod::from_bytes::<FileHeader64<LE>>(&header) {
        Ok((h, _)) => h,
        Err(()) => return Err(BinSignError::NotElf64Le),
    };
    let ident = &fh.e_ident;
    if ident.magic != ELFMAG || ident.class != ELFCLASS64 || ident.data != ELFDATA2LSB {
        return Err(BinSignError::NotElf64Le);
    }
    let shnum = fh.e_shnum.get(LE);
    if usize::from(fh.e_shentsize.get(LE)) != SHDR_LEN || shnum == 0 {
        // e_shnum == 0 is also how extended numbering (SHN_XINDEX) starts.
        return Err(BinSignError::NoSectionTable);
    }
    let shstrndx = fh.e_shstrndx.get(LE);
    let shoff = fh.e_shoff.get(LE);
    let table_len = u64::from(shnum) * SHDR_LEN as u64;
    // e_shstrndx == SHN_XINDEX (0xffff) is >= e_shnum and lands here too.
    if shstrndx == 0 || shstrndx >= shnum || shoff == 0 || !within(shoff, table_len, size) {
        return Err(BinSignError::Malformed);
    }
    let mut table = vec![0u8; table_len as usize];
    src.read_exact_at(shoff, &mut table)?;
    let mut sections = Sections {
        header,
        size,
        shnum,
        shstrndx,
        table,
        strtab: Vec::new(),
    };
    let str_hdr = sections.section(usize::from(shstrndx));
    let (str_off, str_len) = (str_hdr.sh_offset.get(LE), str_hdr.sh_size.get(LE));
    if !within(str_off, str_len, size) {
        return Err(BinSignError::Malformed);
    }
    let mut strtab = vec![0u8; str_len as usize];
    src.read_exact_at(str_off, &mut strtab)?;
    sections.strtab = strtab;
    Ok(sections)
}

/// `offset + len <= size` without overflow.
fn within(offset: u64, len: u64, size: u64) -> bool {
    offset.checked_add(len).is_some_and(|end| end <= size)
}

/// What signing a file changes: the new header, and everything appended
/// after the original bytes (blob first, still zero until [`Plan::set_blob`]).
pub struct Plan {
    pub header: [u8; HEADER_LEN],
    pub tail: Vec<u8>,
    /// The original length, which is also the blob's offset.
    pub original_len: u64,
}

impl Plan {
    pub fn set_blob(&mut self, blob: &[u8; BLOB_LEN]) {
        self.tail[..BLOB_LEN].copy_from_slice(blob);
    }
}

/// The signed file's layout, with the blob zeroed (what is hashed).
pub fn plan<R: ReadAt + ?Sized>(src: &R) -> Result<Plan, BinSignError> {
    let s = read_sections(src)?;
    if s.find_signature().is_some() {
        return Err(BinSignError::AlreadySigned);
    }
    let new_shnum = s.shnum.checked_add(1).filter(|&n| n < SHN_LORESERVE);
    let Some(new_shnum) = new_shnum else {
        return Err(BinSignError::TooManySections(s.shnum));
    };
    let sig_offset = s.size;
    let strtab_offset = sig_offset + BLOB_LEN as u64;
    let strtab_len = s.strtab.len() as u64 + SECTION_NAME.len() as u64 + 1;
    let strtab_end = strtab_offset + strtab_len;
    let new_shoff = strtab_end.next_multiple_of(8);
    let padding = (new_shoff - strtab_end) as usize;
    let old_strtab_len = u32::try_from(s.strtab.len()).map_err(|_| BinSignError::Malformed)?;

    let mut tail = Vec::with_capacity(
        BLOB_LEN + strtab_len as usize + padding + (usize::from(new_shnum)) * SHDR_LEN,
    );
    // 1. The blob's place, zero for now.
    tail.resize(BLOB_LEN, 0);
    // 2. The old names plus ".peios.sig\0".
    tail.extend_from_slice(&s.strtab);
    tail.extend_from_slice(SECTION_NAME);
    tail.push(0);
    // 3. Padding to 8 bytes.
    tail.resize(tail.len() + padding, 0);
    // 4. The old section headers, the name table's redirected to the copy.
    let table_start = tail.len();
    tail.extend_from_slice(&s.table);
    let str_entry = table_start + usize::from(s.shstrndx) * SHDR_LEN;
    tail[str_entry + SH_OFFSET..str_entry + SH_OFFSET + 8]
        .copy_from_slice(&strtab_offset.to_le_bytes());
    tail[str_entry + SH_SIZE..str_entry + SH_SIZE + 8].copy_from_slice(&strtab_len.to_le_bytes());
    // 5. The new section header.
    tail.extend_from_slice(&signature_header(old_strtab_len, sig_offset));

    let mut header = s.header;
    header[E_SHOFF..E_SHOFF + 8].copy_from_slice(&new_shoff.to_le_bytes());
    header[E_SHNUM..E_SHNUM + 2].copy_from_slice(&new_shnum.to_le_bytes());
    Ok(Plan {
        header,
        tail,
        original_len: s.size,
    })
}

/// The `.peios.sig` section header: PROGBITS, no flags, no address, 65
/// bytes at `offset`, byte-aligned.
fn signature_header(name: u32, offset: u64) -> [u8; SHDR_LEN] {
    let mut h = [0u8; SHDR_LEN];
    h[0..4].copy_from_slice(&name.to_le_bytes()); // sh_name
    h[4..8].copy_from_slice(&SHT_PROGBITS.to_le_bytes()); // sh_type
                                                          // sh_flags (8..16) and sh_addr (16..24) stay 0.
    h[SH_OFFSET..SH_OFFSET + 8].copy_from_slice(&offset.to_le_bytes());
    h[SH_SIZE..SH_SIZE + 8].copy_from_slice(&(BLOB_LEN as u64).to_le_bytes());
    // sh_link (40..44) and sh_info (44..48) stay 0.
    h[48..56].copy_from_slice(&1u64.to_le_bytes()); // sh_addralign
                                                    // sh_entsize (56..64) stays 0.
    h
}
