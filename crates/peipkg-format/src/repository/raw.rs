//! Index documents as canonical bytes, for publishing at scale.
//!
//! A publish into a 100,000-entry archive changes one entry and two header
//! members, yet decoding the 70 MB archive into owned structures and
//! encoding it again is most of what a naive publish costs (and most of its
//! memory). A canonical document (what the reference and we write) can be
//! handled as bytes instead: this module recognises the exact language of
//! the canonical encoder (member order, escapes, omitted empty members) with
//! a zero-copy matcher, keeps each entry's bytes plus the few members a
//! publish looks at, and writes a document by concatenation.
//!
//! The guarantee that makes this safe is that the matcher accepts only
//! bytes the canonical encoder itself produces, so an accepted entry
//! re-encodes to exactly its own bytes. Anything else (whitespace, unknown
//! or reordered members, `null`, other escapes) falls back to the typed
//! decoder and canonical re-encoding, the reference's behaviour. Tests check
//! both paths against the typed encoder.
//!
//! It lives in the format crate, next to the typed [`Index`], because it
//! decides the bytes of the index documents just as the typed encoder does:
//! the two must change together.

use std::borrow::Cow;

use super::{DecodeError, Index, IndexKind, PackageEntry};
use crate::json::to_canonical_vec;

/// The members of an index before `packages`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub schema_version: i64,
    pub repo: String,
    pub kind: String,
    pub index_version: i64,
    pub generated_at: String,
}

/// One entry: canonical bytes and the members a publish needs.
#[derive(Debug, Clone)]
pub struct RawEntry<'a> {
    pub bytes: Cow<'a, [u8]>,
    pub name: Cow<'a, str>,
    pub version: Cow<'a, str>,
    pub architecture: Cow<'a, str>,
    pub description: Cow<'a, str>,
    pub size_compressed: u64,
    pub url: Cow<'a, str>,
    pub hash: Cow<'a, str>,
}

impl RawEntry<'_> {
    pub fn label(&self) -> String {
        format!("{}_{}_{}", self.name, self.version, self.architecture)
    }

    pub fn file_name(&self) -> String {
        format!(
            "{}_{}_{}.peipkg",
            self.name, self.version, self.architecture
        )
    }

    /// The full typed entry (decoded from the canonical bytes).
    pub fn decode(&self) -> PackageEntry {
        // Canonical entry bytes always decode: they came from the matcher
        // or from encoding a PackageEntry.
        serde_json::from_slice(&self.bytes).unwrap_or_default()
    }

    pub fn into_owned(self) -> RawEntry<'static> {
        RawEntry {
            bytes: Cow::Owned(self.bytes.into_owned()),
            name: Cow::Owned(self.name.into_owned()),
            version: Cow::Owned(self.version.into_owned()),
            architecture: Cow::Owned(self.architecture.into_owned()),
            description: Cow::Owned(self.description.into_owned()),
            size_compressed: self.size_compressed,
            url: Cow::Owned(self.url.into_owned()),
            hash: Cow::Owned(self.hash.into_owned()),
        }
    }
}

/// The canonical entry of a typed entry.
pub fn entry_from(e: &PackageEntry) -> RawEntry<'static> {
    let mut bytes = to_canonical_vec(e);
    bytes.pop();
    RawEntry {
        bytes: Cow::Owned(bytes),
        name: Cow::Owned(e.name.clone()),
        version: Cow::Owned(e.version.clone()),
        architecture: Cow::Owned(e.architecture.clone()),
        description: Cow::Owned(e.description.clone()),
        size_compressed: e.size_compressed,
        url: Cow::Owned(e.url.clone()),
        hash: Cow::Owned(e.hash.value.clone()),
    }
}

/// A decoded index.
#[derive(Debug, Clone)]
pub struct RawIndex<'a> {
    pub header: Header,
    pub entries: Vec<RawEntry<'a>>,
    /// Whether the input bytes were canonical (the zero-copy path).
    pub canonical: bool,
}

/// Decode an index, zero-copy when the bytes are canonical.
pub fn parse(bytes: &[u8], kind: IndexKind) -> Result<RawIndex<'_>, DecodeError> {
    if let Some(idx) = Matcher::new(bytes).and_then(|mut m| m.document()) {
        return Ok(idx);
    }
    let idx = Index::decode(bytes, kind)?;
    Ok(RawIndex {
        header: Header {
            schema_version: idx.schema_version,
            repo: idx.repo.clone(),
            kind: idx.kind.clone(),
            index_version: idx.index_version,
            generated_at: idx.generated_at.clone(),
        },
        entries: idx.packages.iter().map(entry_from).collect(),
        canonical: false,
    })
}

/// Only the header, without looking at the entries (for the active index,
/// whose packages a publish re-derives anyway).
pub fn parse_header(bytes: &[u8], kind: IndexKind) -> Result<Header, DecodeError> {
    if let Some(mut m) = Matcher::new(bytes) {
        if let Some(h) = m.header() {
            return Ok(h);
        }
    }
    parse(bytes, kind).map(|i| i.header)
}

fn canonical_str(s: &str) -> Vec<u8> {
    let mut v = to_canonical_vec(s);
    v.pop();
    v
}

/// Encode an index: exactly `to_canonical_vec(&Index)` for the same content.
pub fn write<'e>(
    header: &Header,
    entries: impl Iterator<Item = &'e [u8]>,
    size_hint: usize,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(size_hint + 256);
    out.extend_from_slice(b"{\"schema_version\":");
    out.extend_from_slice(header.schema_version.to_string().as_bytes());
    out.extend_from_slice(b",\"repo\":");
    out.extend_from_slice(&canonical_str(&header.repo));
    out.extend_from_slice(b",\"kind\":");
    out.extend_from_slice(&canonical_str(&header.kind));
    out.extend_from_slice(b",\"index_version\":");
    out.extend_from_slice(header.index_version.to_string().as_bytes());
    out.extend_from_slice(b",\"generated_at\":");
    out.extend_from_slice(&canonical_str(&header.generated_at));
    out.extend_from_slice(b",\"packages\":[");
    for (i, e) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(e);
    }
    out.extend_from_slice(b"]}\n");
    out
}

/// A matcher for exactly the canonical encoder's output.
struct Matcher<'a> {
    b: &'a [u8],
    s: &'a str,
    i: usize,
}

impl<'a> Matcher<'a> {
    fn new(b: &'a [u8]) -> Option<Matcher<'a>> {
        let s = std::str::from_utf8(b).ok()?;
        Some(Matcher { b, s, i: 0 })
    }

    fn lit(&mut self, l: &[u8]) -> Option<()> {
        if self.b.get(self.i..self.i + l.len())? == l {
            self.i += l.len();
            Some(())
        } else {
            None
        }
    }

    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    /// A string as the canonical encoder writes it.
    fn string(&mut self) -> Option<Cow<'a, str>> {
        self.lit(b"\"")?;
        let start = self.i;
        let mut owned: Option<String> = None;
        let mut run = start;
        loop {
            let c = *self.b.get(self.i)?;
            match c {
                b'"' => {
                    let end = self.i;
                    self.i += 1;
                    return Some(match owned {
                        None => Cow::Borrowed(&self.s[start..end]),
                        Some(mut o) => {
                            o.push_str(&self.s[run..end]);
                            Cow::Owned(o)
                        }
                    });
                }
                b'\\' => {
                    let o = owned.get_or_insert_with(String::new);
                    o.push_str(&self.s[run..self.i]);
                    let e = *self.b.get(self.i + 1)?;
                    let (ch, len) = match e {
                        b'"' => ('"', 2),
                        b'\\' => ('\\', 2),
                        b'b' => ('\u{8}', 2),
                        b'f' => ('\u{c}', 2),
                        b'n' => ('\n', 2),
                        b'r' => ('\r', 2),
                        b't' => ('\t', 2),
                        b'u' => {
                            let hex = self.s.get(self.i + 2..self.i + 6)?;
                            let ch = match hex {
                                "2028" => '\u{2028}',
                                "2029" => '\u{2029}',
                                _ => {
                                    // Only control characters without a
                                    // short escape, in lowercase hex.
                                    if !hex.starts_with("00")
                                        || hex.bytes().any(|h| h.is_ascii_uppercase())
                                    {
                                        return None;
                                    }
                                    let v = u8::from_str_radix(&hex[2..], 16).ok()?;
                                    if v >= 0x20 || matches!(v, 0x08 | 0x0c | b'\n' | b'\r' | b'\t')
                                    {
                                        return None;
                                    }
                                    char::from(v)
                                }
                            };
                            (ch, 6)
                        }
                        _ => return None,
                    };
                    o.push(ch);
                    self.i += len;
                    run = self.i;
                }
                0x00..=0x1f => return None,
                // U+2028 and U+2029 must be escaped.
                0xe2 if self.b.get(self.i + 1) == Some(&0x80)
                    && matches!(self.b.get(self.i + 2), Some(0xa8 | 0xa9)) =>
                {
                    return None
                }
                _ => self.i += 1,
            }
        }
    }

    fn nonempty_string(&mut self) -> Option<Cow<'a, str>> {
        let s = self.string()?;
        (!s.is_empty()).then_some(s)
    }

    fn uint(&mut self) -> Option<u64> {
        let start = self.i;
        while self.peek().is_some_and(|c| c.is_ascii_digit()) {
            self.i += 1;
        }
        let digits = &self.s[start..self.i];
        if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        digits.parse().ok()
    }

    fn int(&mut self) -> Option<i64> {
        if self.peek() == Some(b'-') {
            self.i += 1;
            let v = self.uint()?;
            if v == 0 {
                return None;
            }
            return i64::try_from(v).ok().map(|v| -v);
        }
        i64::try_from(self.uint()?).ok()
    }

    /// `[` item (`,` item)* `]`
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.lit(b"[")?;
        if self.peek() == Some(b']') {
            self.i += 1;
            return Some(());
        }
        loop {
            item(self)?;
            match self.peek()? {
                b',' => self.i += 1,
                b']' => {
                    self.i += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `{"name":S[,"<a>":S+][,"<b>":S+]}`
    fn relation(&mut self, optional: &[&[u8]]) -> Option<()> {
        self.lit(b"{\"name\":")?;
        self.string()?;
        for member in optional {
            if self.b.get(self.i..self.i + member.len()) == Some(member) {
                self.i += member.len();
                self.nonempty_string()?;
            }
        }
        self.lit(b"}")
    }

    fn entry(&mut self) -> Option<RawEntry<'a>> {
        let start = self.i;
        self.lit(b"{\"name\":")?;
        let name = self.string()?;
        self.lit(b",\"version\":")?;
        let version = self.string()?;
        self.lit(b",\"architecture\":")?;
        let architecture = self.string()?;
        self.lit(b",\"description\":")?;
        let description = self.string()?;
        self.lit(b",\"license\":")?;
        self.string()?;
        self.lit(b",\"homepage\":")?;
        self.string()?;
        const DEP: &[&[u8]] = &[b",\"constraint\":", b",\"arch\":"];
        for member in [
            &b",\"dependencies\":"[..],
            b",\"optional_dependencies\":",
            b",\"conflicts\":",
        ] {
            self.lit(member)?;
            self.array(|m| m.relation(DEP))?;
        }
        self.lit(b",\"provides\":")?;
        self.array(|m| m.relation(&[b",\"version\":"]))?;
        self.lit(b",\"replaces\":")?;
        self.array(|m| m.relation(&[b",\"constraint\":"]))?;
        self.lit(b",\"side_effects\":")?;
        self.array(|m| m.string().map(|_| ()))?;
        self.lit(b",\"size_compressed\":")?;
        let size_compressed = self.uint()?;
        self.lit(b",\"size_installed\":")?;
        self.uint()?;
        self.lit(b",\"hash\":{\"algorithm\":")?;
        self.string()?;
        self.lit(b",\"value\":")?;
        let hash = self.string()?;
        self.lit(b"},\"url\":")?;
        let url = self.string()?;
        self.lit(b",\"build\":{\"timestamp\":")?;
        self.string()?;
        self.lit(b",\"farm_id\":")?;
        self.string()?;
        self.lit(b"}}")?;
        Some(RawEntry {
            bytes: Cow::Borrowed(&self.b[start..self.i]),
            name,
            version,
            architecture,
            description,
            size_compressed,
            url,
            hash,
        })
    }

    fn header(&mut self) -> Option<Header> {
        self.lit(b"{\"schema_version\":")?;
        let schema_version = self.int()?;
        self.lit(b",\"repo\":")?;
        let repo = self.string()?.into_owned();
        self.lit(b",\"kind\":")?;
        let kind = self.string()?.into_owned();
        self.lit(b",\"index_version\":")?;
        let index_version = self.int()?;
        self.lit(b",\"generated_at\":")?;
        let generated_at = self.string()?.into_owned();
        self.lit(b",\"packages\":")?;
        Some(Header {
            schema_version,
            repo,
            kind,
            index_version,
            generated_at,
        })
    }

    fn document(&mut self) -> Option<RawIndex<'a>> {
        let header = self.header()?;
        let mut entries = Vec::with_capacity(self.b.len() / 700);
        self.array(|m| {
            entries.push(m.entry()?);
            Some(())
        })?;
        self.lit(b"}\n")?;
        (self.i == self.b.len()).then_some(RawIndex {
            header,
            entries,
            canonical: true,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repository::{BuildSubset, Dependency, Hash, Provides, Replaces};

    fn sample(i: usize) -> PackageEntry {
        PackageEntry {
            name: format!("pkg{i}"),
            version: format!("1:{i}.0~rc1-2"),
            architecture: "x86_64".into(),
            description: match i % 4 {
                0 => "plain".into(),
                1 => "quote \" backslash \\ tab \t nl \n ctl \u{1} del \u{7f} é \u{2028}".into(),
                2 => String::new(),
                _ => "<html> & friends".into(),
            },
            license: "MIT".into(),
            homepage: "https://example.org".into(),
            dependencies: vec![
                Dependency {
                    name: "libc".into(),
                    constraint: ">= 2.0".into(),
                    arch: String::new(),
                },
                Dependency {
                    name: "x".into(),
                    constraint: String::new(),
                    arch: "any".into(),
                },
            ],
            optional_dependencies: vec![],
            conflicts: vec![Dependency {
                name: "old".into(),
                ..Default::default()
            }],
            provides: vec![Provides {
                name: "abi".into(),
                version: String::new(),
            }],
            replaces: vec![Replaces {
                name: "r".into(),
                constraint: "< 1.0".into(),
            }],
            side_effects: vec!["ldconfig".into()],
            size_compressed: i as u64 * 10,
            size_installed: 0,
            hash: Hash::sha256(&"ab".repeat(32)),
            url: format!("/p/pkg{i}/x.peipkg"),
            build: BuildSubset {
                timestamp: "2026-05-06T12:00:00Z".into(),
                farm_id: "f".into(),
            },
        }
    }

    fn index(n: usize) -> Index {
        Index::new(
            IndexKind::Archive,
            "r\u{2029}\"",
            -3,
            "2026-05-07T00:00:00,5Z",
            (0..n).map(sample).collect(),
        )
    }

    #[test]
    fn canonical_documents_take_the_fast_path_and_round_trip() {
        for n in [0, 1, 7] {
            let idx = index(n);
            let bytes = idx.to_bytes();
            let raw = parse(&bytes, IndexKind::Archive).unwrap();
            assert!(raw.canonical, "n={n}");
            assert_eq!(raw.entries.len(), n);
            let out = write(
                &raw.header,
                raw.entries.iter().map(|e| &*e.bytes),
                bytes.len(),
            );
            assert_eq!(out, bytes);
            for (e, want) in raw.entries.iter().zip(&idx.packages) {
                assert_eq!(e.decode(), *want);
                assert_eq!(e.name, want.name);
                assert_eq!(e.description, want.description);
                assert_eq!(e.url, want.url);
                assert_eq!(e.hash, want.hash.value);
                assert_eq!(e.size_compressed, want.size_compressed);
            }
            assert_eq!(raw.header.repo, "r\u{2029}\"");
            assert_eq!(
                parse_header(&bytes, IndexKind::Archive).unwrap(),
                raw.header
            );
        }
    }

    #[test]
    fn anything_else_is_reencoded_like_the_typed_decoder() {
        let canonical = String::from_utf8(index(3).to_bytes()).unwrap();
        let variants = [
            canonical.replacen("{\"name\"", "{ \"name\"", 1),
            canonical.replacen(
                "\"license\":\"MIT\"",
                "\"license\":\"MIT\",\"extra\":[1]",
                1,
            ),
            canonical.replacen(
                "\"optional_dependencies\":[]",
                "\"optional_dependencies\":null",
                1,
            ),
            canonical.replacen(
                "\"constraint\":\">= 2.0\"",
                "\"constraint\":\"\\u003e= 2.0\"",
                1,
            ),
            canonical.replacen(
                "\"conflicts\":[{\"name\":\"old\"}]",
                "\"conflicts\":[{\"name\":\"old\",\"arch\":\"\"}]",
                1,
            ),
            canonical.replacen("\\u2029", "\u{2029}", 1),
            canonical.trim_end().to_string(),
        ];
        let mut checked = 0;
        for v in variants {
            let typed = Index::decode(v.as_bytes(), IndexKind::Archive).unwrap();
            checked += 1;
            let raw = parse(v.as_bytes(), IndexKind::Archive).unwrap();
            assert!(!raw.canonical, "{v}");
            let out = write(&raw.header, raw.entries.iter().map(|e| &*e.bytes), v.len());
            assert_eq!(out, typed.to_bytes(), "{v}");
        }
        assert_eq!(checked, 7);
    }

    #[test]
    fn errors_name_the_document() {
        let err = parse(b"{\"packages\":", IndexKind::Active).unwrap_err();
        assert_eq!(err.document, "index/active.json");
    }
}
