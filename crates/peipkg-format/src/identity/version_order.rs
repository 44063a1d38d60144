//! The total order on versions (PSD-009 §2.2.6–§2.2.7, appendix B.3).
//!
//! Why this is more than a transcription of the spec: the spec's pairwise
//! rules, taken literally, are not transitive. Rank-5 alphabetic segments
//! compare by bytes "regardless" of whether they are pre-release, while the
//! end-of-string rule puts a pre-release alphabetic segment *below* the end of
//! a string and a non-pre-release one *above* it. So literally
//! `1.0~zzz < 1.0 < 1.0.aaa` but `1.0~zzz > 1.0.aaa`. A non-transitive `Ord`
//! makes sorting misbehave (Rust's sort may even panic), and a package index
//! needs one order.
//!
//! We therefore compare each position by class first, in the order the spec's
//! own numeric-vs-alphabetic and end-of-string rules already imply:
//!
//! ```text
//! pre-release alphabetic  <  end of string  <  numeric  <  other alphabetic
//! ```
//!
//! and within a class exactly as the spec says (integers by value; recognised
//! tokens by rank with aliases equal; rank-5 tokens by ASCII byte order).
//! This agrees with the spec's rules on every pair except one case: a rank-5
//! token inside a pre-release tail against a rank-5 token outside one, where
//! the spec compares bytes and we put the pre-release one lower
//! (`1.0~zeta < 1.0zeta`; the reference tool says equal). That is the only
//! choice that keeps the spec's end-of-string rule and transitivity.
//!
//! Numbers compare as unbounded integers (the reference tool clamps at
//! 2^63-1, so it calls `99999999999999999999` and `99999999999999999998`
//! equal; the spec says compare as integers).
//!
//! The pre-release tail runs from the first `~` or recognised token to the
//! end of the upstream version (§2.2.7.3). The reference repository tool ends
//! it at the next `-`; we follow the spec (DESIGN.md §2).

use std::cmp::Ordering;
use std::hash::{Hash, Hasher};

use super::version::Version;

/// Whether a segment is a run of digits or a run of letters (§2.2.7.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SegmentKind {
    Numeric,
    Alphabetic,
}

/// One segment of an upstream version, as the tokeniser (§2.2.7.1) emits it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UpstreamSegment<'a> {
    /// The segment's text as written.
    pub text: &'a str,
    pub kind: SegmentKind,
    /// Pre-release rank (§2.2.7.2): 0–4 for a recognised token, 5 for any
    /// other alphabetic segment and for numeric segments.
    pub rank: u8,
    /// Whether the segment is a pre-release segment (§2.2.7.3).
    pub prerelease: bool,
}

/// Rank given to alphabetic segments that are not recognised tokens.
pub const OTHER_RANK: u8 = 5;

/// The pre-release rank of an alphabetic token, case-insensitively (§2.2.7.2).
pub fn prerelease_rank(token: &str) -> u8 {
    const TABLE: [(&str, u8); 7] = [
        ("dev", 0),
        ("alpha", 1),
        ("a", 1),
        ("beta", 2),
        ("b", 2),
        ("pre", 3),
        ("rc", 4),
    ];
    TABLE
        .iter()
        .find(|(t, _)| t.eq_ignore_ascii_case(token))
        .map_or(OTHER_RANK, |&(_, r)| r)
}

/// The tokeniser of §2.2.7.1 with the pre-release marking of §2.2.7.3.
///
/// Any character that is not an ASCII letter or digit separates segments; a
/// valid upstream only has `.`, `+`, `-` and `~` there, and anything else is
/// tolerated so that the tokeniser cannot fail on unchecked input.
pub fn upstream_segments(upstream: &str) -> impl Iterator<Item = UpstreamSegment<'_>> {
    Segments {
        src: upstream,
        pos: 0,
        tail: false,
    }
}

struct Segments<'a> {
    src: &'a str,
    pos: usize,
    /// Set once the pre-release tail has begun; never cleared.
    tail: bool,
}

impl<'a> Iterator for Segments<'a> {
    type Item = UpstreamSegment<'a>;

    fn next(&mut self) -> Option<UpstreamSegment<'a>> {
        let bytes = self.src.as_bytes();
        while self.pos < bytes.len() && !bytes[self.pos].is_ascii_alphanumeric() {
            if bytes[self.pos] == b'~' {
                self.tail = true;
            }
            self.pos += 1;
        }
        if self.pos >= bytes.len() {
            return None;
        }
        let start = self.pos;
        let numeric = bytes[start].is_ascii_digit();
        while self.pos < bytes.len()
            && (if numeric {
                bytes[self.pos].is_ascii_digit()
            } else {
                bytes[self.pos].is_ascii_alphabetic()
            })
        {
            self.pos += 1;
        }
        // Both ends sit on ASCII bytes, hence on char boundaries.
        let text = &self.src[start..self.pos];
        let (kind, rank) = if numeric {
            (SegmentKind::Numeric, OTHER_RANK)
        } else {
            let rank = prerelease_rank(text);
            if rank < OTHER_RANK {
                self.tail = true;
            }
            (SegmentKind::Alphabetic, rank)
        };
        Some(UpstreamSegment {
            text,
            kind,
            rank,
            prerelease: self.tail,
        })
    }
}

/// Position classes, lowest first (see the module documentation).
const CLASS_PRE_ALPHA: u8 = 0;
const CLASS_END: u8 = 1;
const CLASS_NUMERIC: u8 = 2;
const CLASS_ALPHA: u8 = 3;

fn class(seg: Option<&UpstreamSegment<'_>>) -> u8 {
    match seg {
        None => CLASS_END,
        Some(s) => match (s.kind, s.prerelease) {
            (SegmentKind::Numeric, _) => CLASS_NUMERIC,
            (SegmentKind::Alphabetic, true) => CLASS_PRE_ALPHA,
            (SegmentKind::Alphabetic, false) => CLASS_ALPHA,
        },
    }
}

fn strip_zeros(digits: &str) -> &str {
    digits.trim_start_matches('0')
}

/// Integers of any length by value: fewer significant digits is smaller.
fn cmp_numeric(a: &str, b: &str) -> Ordering {
    let (a, b) = (strip_zeros(a), strip_zeros(b));
    a.len().cmp(&b.len()).then_with(|| a.cmp(b))
}

fn cmp_position(a: Option<&UpstreamSegment<'_>>, b: Option<&UpstreamSegment<'_>>) -> Ordering {
    class(a).cmp(&class(b)).then_with(|| match (a, b) {
        (Some(x), Some(y)) => match x.kind {
            SegmentKind::Numeric => cmp_numeric(x.text, y.text),
            SegmentKind::Alphabetic => x.rank.cmp(&y.rank).then_with(|| {
                if x.rank == OTHER_RANK {
                    x.text.as_bytes().cmp(y.text.as_bytes())
                } else {
                    Ordering::Equal
                }
            }),
        },
        _ => Ordering::Equal,
    })
}

/// Compares two upstream version strings (§2.2.7, with the transitivity
/// resolution described in the module documentation).
pub fn compare_upstream(a: &str, b: &str) -> Ordering {
    let (mut ia, mut ib) = (upstream_segments(a), upstream_segments(b));
    loop {
        let (x, y) = (ia.next(), ib.next());
        if x.is_none() && y.is_none() {
            return Ordering::Equal;
        }
        let o = cmp_position(x.as_ref(), y.as_ref());
        if o != Ordering::Equal {
            return o;
        }
    }
}

/// Feeds exactly what `compare_upstream` treats as significant, so that
/// equal upstreams hash equally.
fn hash_upstream<H: Hasher>(upstream: &str, state: &mut H) {
    for seg in upstream_segments(upstream) {
        let c = class(Some(&seg));
        state.write_u8(c);
        match seg.kind {
            SegmentKind::Numeric => strip_zeros(seg.text).hash(state),
            SegmentKind::Alphabetic if seg.rank < OTHER_RANK => state.write_u8(seg.rank),
            SegmentKind::Alphabetic => seg.text.hash(state),
        }
    }
    state.write_u8(CLASS_END);
}

impl Version {
    /// Compares epoch and upstream only (§2.2.6 steps 1–2), the comparison a
    /// constraint operand without a revision uses (§2.2.8).
    pub fn cmp_ignoring_revision(&self, other: &Version) -> Ordering {
        self.epoch()
            .cmp(&other.epoch())
            .then_with(|| compare_upstream(self.upstream(), other.upstream()))
    }
}

impl Ord for Version {
    /// §2.2.6: epoch, then upstream, then revision. A missing revision (only
    /// possible for constraint operands) sorts below any revision.
    fn cmp(&self, other: &Version) -> Ordering {
        self.cmp_ignoring_revision(other)
            .then_with(|| self.revision_number().cmp(&other.revision_number()))
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Version {}

impl Hash for Version {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.epoch().hash(state);
        hash_upstream(self.upstream(), state);
        self.revision_number().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segs(s: &str) -> Vec<(&str, bool, bool)> {
        upstream_segments(s)
            .map(|x| (x.text, x.kind == SegmentKind::Numeric, x.prerelease))
            .collect()
    }

    #[test]
    fn tokenisation_table_of_2_2_7_1() {
        assert_eq!(
            segs("1.26.2"),
            [("1", true, false), ("26", true, false), ("2", true, false)]
        );
        assert_eq!(
            segs("1.0.0-rc.1"),
            [
                ("1", true, false),
                ("0", true, false),
                ("0", true, false),
                ("rc", false, true),
                ("1", true, true)
            ]
        );
        assert_eq!(
            segs("1.0~rc1"),
            [
                ("1", true, false),
                ("0", true, false),
                ("rc", false, true),
                ("1", true, true)
            ]
        );
        assert_eq!(
            segs("16beta1"),
            [
                ("16", true, false),
                ("beta", false, true),
                ("1", true, true)
            ]
        );
        assert_eq!(
            segs("1.0-foo"),
            [
                ("1", true, false),
                ("0", true, false),
                ("foo", false, false)
            ]
        );
    }

    #[test]
    fn tokeniser_survives_non_ascii() {
        assert_eq!(segs("1é2ü"), [("1", true, false), ("2", true, false)]);
        assert_eq!(segs(""), []);
        assert_eq!(segs("~~~"), []);
    }

    #[test]
    fn ranks_are_case_insensitive() {
        assert_eq!(prerelease_rank("ALPHA"), 1);
        assert_eq!(prerelease_rank("Rc"), 4);
        assert_eq!(prerelease_rank("alphabet"), 5);
        assert_eq!(prerelease_rank(""), 5);
    }

    #[test]
    fn numeric_compare_is_unbounded() {
        assert_eq!(cmp_numeric("007", "7"), Ordering::Equal);
        assert_eq!(cmp_numeric("0", "000"), Ordering::Equal);
        assert_eq!(
            cmp_numeric("99999999999999999999", "99999999999999999998"),
            Ordering::Greater
        );
        assert_eq!(cmp_numeric("10", "9"), Ordering::Greater);
    }
}
