//! Tar header blocks, written byte-identically to the reference emitter.
//!
//! The reference tools write POSIX pax archives with Go's `archive/tar`, so
//! the exact bytes follow its rules (DESIGN.md §2, behaviour notes §5.2-5.3):
//!
//! - a plain ustar header when the name and link target are ASCII and fit
//!   in 100 bytes;
//! - an ASCII name over 100 bytes that can be split at a `/` into a prefix
//!   (<= 155 bytes) and a name (1..=100 bytes) uses the ustar prefix field;
//! - otherwise a PAX `x` header carrying `path` and/or `linkpath` records
//!   (sorted by key, as the reference does) precedes a main header whose
//!   name and link fields hold the ASCII-only, truncated text.
//!
//! We own these bytes rather than use a tar crate because the conformance
//! target is the reference's exact output, down to the checksum field.

/// Typeflags the format permits (PSD-009 §3.2.5) plus the PAX extension.
pub const TYPE_FILE: u8 = b'0';
pub const TYPE_FILE_OLD: u8 = 0;
pub const TYPE_DIR: u8 = b'5';
pub const TYPE_SYMLINK: u8 = b'2';
pub const TYPE_PAX: u8 = b'x';

pub const BLOCK: usize = 512;
const NAME_LEN: usize = 100;
const PREFIX_LEN: usize = 155;
/// Largest size an 11-digit octal field holds (8 GiB - 1).
pub const MAX_USTAR_SIZE: u64 = 0o77777777777;

/// The mode every entry carries (PSD-009 §3.4.6).
pub const MODE: u64 = 0o777;

/// What one payload or metadata entry looks like on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryHeader<'a> {
    /// On-wire name: directories end with `/`.
    pub name: &'a str,
    pub typeflag: u8,
    pub size: u64,
    pub mtime: u64,
    pub linkname: &'a str,
}

/// Append the header block(s) for `h` to `out`: an optional PAX header
/// (with its padded records) followed by the main header. Content and its
/// padding are the caller's.
pub fn encode(h: &EntryHeader<'_>, out: &mut Vec<u8>) {
    let name_fits = h.name.is_ascii() && h.name.len() <= NAME_LEN;
    let link_fits = h.linkname.is_ascii() && h.linkname.len() <= NAME_LEN;
    let split = if name_fits {
        None
    } else {
        split_ustar_path(h.name)
    };
    if link_fits && (name_fits || split.is_some()) {
        let (prefix, name) = split.unwrap_or(("", h.name));
        out.extend_from_slice(&main_header(h, name, prefix, h.linkname));
        return;
    }
    // Records sorted by key: "linkpath" < "path".
    let mut records = Vec::new();
    if !link_fits {
        records.extend_from_slice(pax_record("linkpath", h.linkname).as_bytes());
    }
    if !name_fits {
        records.extend_from_slice(pax_record("path", h.name).as_bytes());
    }
    out.extend_from_slice(&pax_header(h.name, records.len() as u64));
    out.extend_from_slice(&records);
    pad_to_block(out);
    let name = to_ascii(h.name);
    let link = to_ascii(h.linkname);
    out.extend_from_slice(&main_header(h, &name, "", &link));
}

/// Zero-fill `out` up to the next 512-byte boundary.
pub fn pad_to_block(out: &mut Vec<u8>) {
    let rem = out.len() % BLOCK;
    if rem != 0 {
        out.resize(out.len() + BLOCK - rem, 0);
    }
}

/// Padding needed after `size` content bytes.
pub fn padding_for(size: u64) -> usize {
    ((BLOCK as u64 - size % BLOCK as u64) % BLOCK as u64) as usize
}

fn main_header(h: &EntryHeader<'_>, name: &str, prefix: &str, linkname: &str) -> [u8; BLOCK] {
    let mut b = [0u8; BLOCK];
    put_str(&mut b[0..100], name);
    put_octal(&mut b[100..108], MODE);
    put_octal(&mut b[108..116], 0);
    put_octal(&mut b[116..124], 0);
    put_octal(&mut b[124..136], h.size);
    put_octal(&mut b[136..148], h.mtime);
    b[156] = h.typeflag;
    put_str(&mut b[157..257], linkname);
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    put_str(&mut b[265..297], "root");
    put_str(&mut b[297..329], "root");
    put_octal(&mut b[329..337], 0);
    put_octal(&mut b[337..345], 0);
    put_str(&mut b[345..500], prefix);
    put_checksum(&mut b);
    b
}

/// The `x` header block announcing `records_len` bytes of PAX records. Its
/// fields are those of the reference: mode, ids and mtime zero, no owner
/// names, device numbers left NUL.
fn pax_header(real_name: &str, records_len: u64) -> [u8; BLOCK] {
    // Like Go's path.Join(path.Split(name)...): `a/b/c` -> `a/b/PaxHeaders.0/c`,
    // `a/b/` -> `a/b/PaxHeaders.0`.
    let (dir, file) = match real_name.rfind('/') {
        Some(i) => (&real_name[..=i], &real_name[i + 1..]),
        None => ("", real_name),
    };
    let mut name = format!("{dir}PaxHeaders.0");
    if !file.is_empty() {
        name.push('/');
        name.push_str(file);
    }
    let mut name = to_ascii(&name);
    name.truncate(NAME_LEN);
    let name = name.trim_end_matches('/');
    let mut b = [0u8; BLOCK];
    put_str(&mut b[0..100], name);
    put_octal(&mut b[100..108], 0);
    put_octal(&mut b[108..116], 0);
    put_octal(&mut b[116..124], 0);
    put_octal(&mut b[124..136], records_len);
    put_octal(&mut b[136..148], 0);
    b[156] = TYPE_PAX;
    b[257..263].copy_from_slice(b"ustar\0");
    b[263..265].copy_from_slice(b"00");
    put_checksum(&mut b);
    b
}

/// `"<len> <key>=<value>\n"`, where `<len>` counts the whole record.
pub fn pax_record(key: &str, value: &str) -> String {
    let body = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = body + body.to_string().len();
    if len.to_string().len() + body != len {
        len = body + len.to_string().len();
    }
    format!("{len} {key}={value}\n")
}

/// Split an ASCII path over 100 bytes into ustar prefix and name, the way
/// the reference does: at the last `/` within the first 156 bytes (ignoring
/// a trailing `/`), with a prefix of at most 155 and a name of 1..=100 bytes.
fn split_ustar_path(name: &str) -> Option<(&str, &str)> {
    if name.len() <= NAME_LEN || !name.is_ascii() {
        return None;
    }
    let mut length = name.len();
    if length > PREFIX_LEN + 1 {
        length = PREFIX_LEN + 1;
    } else if name.ends_with('/') {
        length -= 1;
    }
    let i = name[..length].rfind('/')?;
    let suffix_len = name.len() - i - 1;
    if i == 0 || suffix_len > NAME_LEN || suffix_len == 0 || i > PREFIX_LEN {
        return None;
    }
    Some((&name[..i], &name[i + 1..]))
}

/// Drop every non-ASCII character (and NUL), as the reference does for the
/// fields a PAX record supersedes.
fn to_ascii(s: &str) -> String {
    s.chars().filter(|c| c.is_ascii() && *c != '\0').collect()
}

/// Copy `s` into a NUL-padded field; a truncated value never ends in `/`
/// (the reference replaces trailing slashes of a cut value with NUL).
fn put_str(field: &mut [u8], s: &str) {
    let bytes = s.as_bytes();
    let n = bytes.len().min(field.len());
    field[..n].copy_from_slice(&bytes[..n]);
    if bytes.len() > field.len() && field[field.len() - 1] == b'/' {
        let kept = field.iter().rposition(|&c| c != b'/').map_or(0, |p| p + 1);
        field[kept] = 0;
    }
}

/// Zero-padded octal with a NUL terminator filling the field.
fn put_octal(field: &mut [u8], value: u64) {
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    field[..digits].copy_from_slice(&s.as_bytes()[s.len() - digits..]);
    field[digits] = 0;
}

/// Recompute the checksum field of a header block (tests use it to craft
/// deliberately odd headers).
pub fn put_checksum(b: &mut [u8; BLOCK]) {
    b[148..156].fill(b' ');
    let sum: u64 = b.iter().map(|&c| u64::from(c)).sum();
    put_octal(&mut b[148..155], sum);
    b[155] = b' ';
}

/// A header as read back, before any policy is applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawHeader {
    pub name: Vec<u8>,
    pub mode: u64,
    pub uid: u64,
    pub gid: u64,
    pub size: u64,
    pub mtime: u64,
    pub typeflag: u8,
    pub linkname: Vec<u8>,
    pub magic_ok: bool,
}

/// Why a header block could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeaderError {
    #[error("header checksum mismatch (stored {stored}, computed {computed})")]
    Checksum { stored: u64, computed: u64 },
    #[error("header field {field} is not an octal number: {value:?}")]
    Octal { field: &'static str, value: String },
}

/// Decode one 512-byte header block.
pub fn decode(b: &[u8; BLOCK]) -> Result<RawHeader, HeaderError> {
    let stored = octal(&b[148..156], "chksum")?;
    let computed: u64 = b
        .iter()
        .enumerate()
        .map(|(i, &c)| {
            if (148..156).contains(&i) {
                32
            } else {
                u64::from(c)
            }
        })
        .sum();
    if stored != computed {
        return Err(HeaderError::Checksum { stored, computed });
    }
    let field = |r: std::ops::Range<usize>| {
        let f = &b[r];
        f[..f.iter().position(|&c| c == 0).unwrap_or(f.len())].to_vec()
    };
    let mut name = field(0..100);
    let prefix = field(345..500);
    if !prefix.is_empty() {
        let mut full = prefix;
        full.push(b'/');
        full.extend_from_slice(&name);
        name = full;
    }
    Ok(RawHeader {
        name,
        mode: octal(&b[100..108], "mode")?,
        uid: octal(&b[108..116], "uid")?,
        gid: octal(&b[116..124], "gid")?,
        size: octal(&b[124..136], "size")?,
        mtime: octal(&b[136..148], "mtime")?,
        typeflag: b[156],
        linkname: field(157..257),
        magic_ok: &b[257..263] == b"ustar\0" && &b[263..265] == b"00",
    })
}

fn octal(f: &[u8], field: &'static str) -> Result<u64, HeaderError> {
    let s: Vec<u8> = f
        .iter()
        .copied()
        .skip_while(|&c| c == b' ')
        .take_while(|&c| c != 0 && c != b' ')
        .collect();
    if s.is_empty() {
        return Ok(0);
    }
    let text = String::from_utf8_lossy(&s).into_owned();
    if s.len() > 22 || !s.iter().all(|c| (b'0'..=b'7').contains(c)) {
        return Err(HeaderError::Octal { field, value: text });
    }
    u64::from_str_radix(&text, 8).map_err(|_| HeaderError::Octal { field, value: text })
}

/// Parse PAX extended-header records into (key, value) pairs.
pub fn parse_pax_records(data: &[u8]) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let sp = rest
            .iter()
            .position(|&c| c == b' ')
            .ok_or("PAX record has no length")?;
        let len: usize = std::str::from_utf8(&rest[..sp])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or("PAX record length is not a number")?;
        if len <= sp + 1 || len > rest.len() || rest[len - 1] != b'\n' {
            return Err("PAX record length does not match its text".into());
        }
        let rec = &rest[sp + 1..len - 1];
        let eq = rec
            .iter()
            .position(|&c| c == b'=')
            .ok_or("PAX record has no '='")?;
        let key = String::from_utf8_lossy(&rec[..eq]).into_owned();
        out.push((key, rec[eq + 1..].to_vec()));
        rest = &rest[len..];
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pax_record_lengths_count_themselves() {
        assert_eq!(
            pax_record("path", "usr/share/layout-edge/café.txt"),
            "40 path=usr/share/layout-edge/café.txt\n"
        );
        for n in 0..300 {
            let v = "a".repeat(n);
            let r = pax_record("path", &v);
            let len: usize = r.split(' ').next().unwrap().parse().unwrap();
            assert_eq!(len, r.len(), "value length {n}");
        }
    }

    #[test]
    fn encoded_headers_decode_back() {
        let h = EntryHeader {
            name: "usr/bin/x",
            typeflag: TYPE_FILE,
            size: 20,
            mtime: 1778068800,
            linkname: "",
        };
        let mut out = Vec::new();
        encode(&h, &mut out);
        assert_eq!(out.len(), BLOCK);
        let raw = decode(out[..BLOCK].try_into().unwrap()).unwrap();
        assert_eq!(raw.name, b"usr/bin/x");
        assert_eq!(raw.mode, 0o777);
        assert_eq!(raw.size, 20);
        assert_eq!(raw.mtime, 1778068800);
        assert!(raw.magic_ok);
    }

    #[test]
    fn long_ascii_names_split_and_unsplittable_use_pax() {
        let long = format!("usr/share/{}/file", "d".repeat(95));
        let mut out = Vec::new();
        encode(
            &EntryHeader {
                name: &long,
                typeflag: TYPE_FILE,
                size: 0,
                mtime: 0,
                linkname: "",
            },
            &mut out,
        );
        assert_eq!(out.len(), BLOCK);
        assert_eq!(
            decode(out[..BLOCK].try_into().unwrap()).unwrap().name,
            long.as_bytes()
        );
        let unsplittable = format!("usr/{}", "n".repeat(120));
        let mut out = Vec::new();
        encode(
            &EntryHeader {
                name: &unsplittable,
                typeflag: TYPE_FILE,
                size: 0,
                mtime: 0,
                linkname: "",
            },
            &mut out,
        );
        assert_eq!(out.len(), 3 * BLOCK);
        assert_eq!(out[156], TYPE_PAX);
    }
}
