//! The canonical JSON encoding (DESIGN.md §2) that every document we write
//! uses, so that the same document always has the same bytes.
//!
//! Canonical means: compact, members in the order the schema lists them (the
//! order of the Rust struct fields), no HTML escaping, one trailing newline.
//! String escaping follows the reference encoder exactly: the short escapes
//! for `\b \f \n \r \t`, `\u00xx` in lowercase hex for other control bytes,
//! DEL unescaped, and U+2028/U+2029 always escaped. `serde_json` already does
//! all of that except the last, which [`CanonicalFormatter`] adds.
//!
//! Empty optional members are left out by the documents themselves
//! (`skip_serializing_if`), never by this encoder.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::ser::{CompactFormatter, Formatter};
use std::io;

/// Encode `value` canonically, with the trailing newline.
pub fn to_canonical_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    // Our documents hold only strings, integers, arrays and structs: the
    // serializer cannot fail on them (no maps with non-string keys, no
    // floats), and writing to a Vec cannot fail.
    write_canonical(&mut out, value).expect("canonical JSON encoding of a document cannot fail");
    out.push(b'\n');
    out
}

/// Encode `value` canonically into `w`, without the trailing newline: for
/// documents written piece by piece (the files manifest of a large payload).
pub fn write_canonical<W: io::Write, T: Serialize + ?Sized>(w: W, value: &T) -> io::Result<()> {
    let mut ser = serde_json::Serializer::with_formatter(w, CanonicalFormatter);
    value.serialize(&mut ser).map_err(io::Error::from)
}

/// Reads `null` as `T::default()`. Use with `#[serde(default)]` so a
/// missing member behaves the same. The reference tools write `[]` and `""`
/// but read `null` as the empty value, and documents in the wild were
/// written by them, so a `null` member must decode like a missing one.
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// serde_json's compact formatter plus the U+2028/U+2029 escapes.
#[derive(Debug, Clone, Copy, Default)]
pub struct CanonicalFormatter;

impl Formatter for CanonicalFormatter {
    fn write_string_fragment<W: ?Sized + io::Write>(
        &mut self,
        writer: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut rest = fragment;
        while let Some(pos) = rest.find(['\u{2028}', '\u{2029}']) {
            writer.write_all(&rest.as_bytes()[..pos])?;
            let ch = &rest[pos..pos + 3];
            writer.write_all(if ch == "\u{2028}" {
                b"\\u2028"
            } else {
                b"\\u2029"
            })?;
            rest = &rest[pos + 3..];
        }
        CompactFormatter.write_string_fragment(writer, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_like_the_reference_encoder() {
        let s = "a\"b\\c\n\r\t\u{8}\u{c}\u{1}\u{1b}\u{0}\u{7f}<>&\u{2028}x\u{2029}é";
        let got = String::from_utf8(to_canonical_vec(s)).unwrap();
        assert_eq!(
            got,
            "\"a\\\"b\\\\c\\n\\r\\t\\b\\f\\u0001\\u001b\\u0000\u{7f}<>&\\u2028x\\u2029é\"\n"
        );
    }

    #[test]
    fn struct_members_keep_schema_order() {
        #[derive(Serialize)]
        struct D {
            z: u32,
            a: Vec<String>,
        }
        let got = to_canonical_vec(&D { z: 1, a: vec![] });
        assert_eq!(got, b"{\"z\":1,\"a\":[]}\n");
    }
}
