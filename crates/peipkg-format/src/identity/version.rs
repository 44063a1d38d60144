//! Version strings (PSD-009 §2.2.1–§2.2.5): parsing, accessors, text form.
//!
//! The order lives in `version_order.rs`; this file only decides what is a
//! valid version and how it is written back out.

use std::fmt;
use std::str::FromStr;

use super::error::{IdentityError, Shown};
use super::version_order;

/// A parsed version `[<epoch>:]<upstream>[-<revision>]`.
///
/// Values from [`Version::parse`] (and `FromStr`, serde) always carry the
/// peios revision §2.2.1 requires. A value without a revision only comes from
/// [`Version::parse_operand`] or [`Version::without_revision`] and stands for a
/// constraint operand (§2.2.8) that constrains epoch and upstream only.
///
/// **Text form.** `Display`/[`Version::as_str`] give the canonical text: the
/// input as written, except that an epoch of 0 is left out (`0:1.0-1` is
/// written `1.0-1`), as the reference repository tool does.
///
/// **Equality.** `==` is the spec's comparison result "equal" (§2.2.6 step 4),
/// not textual identity: `0:1.0-1 == 1.0-1`, `1.0~a-1 == 1.0~alpha-1`,
/// `1.01-1 == 1.1-1`. `Hash` agrees with it. Compare [`Version::as_str`] for
/// textual identity. A version without a revision sorts before every version
/// with the same epoch and upstream that has one, and is never equal to one.
#[derive(Clone)]
pub struct Version {
    /// Canonical text.
    text: String,
    epoch: u64,
    /// Byte range of the upstream part within `text`.
    upstream_start: usize,
    upstream_end: usize,
    revision: Option<u64>,
}

/// Whether the text after the last `-` must be a revision.
#[derive(Clone, Copy, PartialEq, Eq)]
enum RevisionRule {
    Required,
    Optional,
}

fn err(value: &str, reason: impl Into<String>, section: &'static str) -> IdentityError {
    IdentityError::InvalidVersion {
        value: value.to_owned(),
        reason: reason.into(),
        section,
    }
}

/// Parses a decimal integer written without leading zeros. `what` names the
/// field in messages.
fn parse_decimal(
    full: &str,
    digits: &str,
    what: &str,
    section: &'static str,
) -> Result<u64, IdentityError> {
    if digits.is_empty() {
        return Err(err(full, format!("empty {what}"), section));
    }
    if let Some(c) = digits.chars().find(|c| !c.is_ascii_digit()) {
        return Err(err(
            full,
            format!(
                "{what} {} must be ASCII decimal digits, found {c:?}",
                Shown(digits)
            ),
            section,
        ));
    }
    if digits.len() > 1 && digits.starts_with('0') {
        return Err(err(
            full,
            format!("{what} {} has a leading zero", Shown(digits)),
            section,
        ));
    }
    digits.parse::<u64>().map_err(|_| {
        err(
            full,
            format!(
                "{what} {} exceeds the largest supported value {}",
                Shown(digits),
                u64::MAX
            ),
            section,
        )
    })
}

/// Checks §2.2.3: non-empty, starts with a letter or digit, only
/// `[A-Za-z0-9.+~-]`. Consecutive or trailing separators are allowed; the
/// spec sets no rule against them.
fn check_upstream(full: &str, upstream: &str) -> Result<(), IdentityError> {
    let Some(first) = upstream.chars().next() else {
        return Err(err(full, "empty upstream version", "§2.2.3"));
    };
    if !first.is_ascii_alphanumeric() {
        return Err(err(
            full,
            format!(
                "upstream version {} must start with a letter or digit, not {first:?}",
                Shown(upstream)
            ),
            "§2.2.3",
        ));
    }
    if let Some((i, c)) = upstream
        .char_indices()
        .find(|&(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '-' | '~')))
    {
        return Err(err(
            full,
            format!(
                "forbidden character {c:?} at byte {i} of upstream version {} \
                 (allowed: letters, digits, '.', '+', '-', '~')",
                Shown(upstream)
            ),
            "§2.2.3",
        ));
    }
    Ok(())
}

impl Version {
    /// Parses a complete version string per §2.2.5. The peios revision is
    /// required, positive and written without leading zeros; the epoch, when
    /// present, is written without leading zeros. Epoch and revision must fit
    /// in 64 bits (an implementation limit; the reference tools stop at
    /// 2^63-1).
    pub fn parse(s: &str) -> Result<Version, IdentityError> {
        Self::parse_with(s, RevisionRule::Required)
    }

    /// Parses a constraint operand (§2.2.8), whose `-<revision>` may be left
    /// out.
    ///
    /// The text after the last `-` is taken as a revision when it is empty or
    /// all digits (and must then be a valid revision, so `1.0-0` and `1.0-`
    /// are errors rather than silently becoming upstream `1.0-0`); otherwise the
    /// whole remainder is the upstream version. So `>= 1.0-rc.1` constrains
    /// upstream `1.0-rc.1`, while `>= 1.0-rc-1` constrains upstream `1.0-rc`
    /// revision 1, exactly as the complete version `1.0-rc-1` would parse.
    pub fn parse_operand(s: &str) -> Result<Version, IdentityError> {
        Self::parse_with(s, RevisionRule::Optional)
    }

    /// Builds a complete version from its parts, validating each.
    pub fn new(epoch: u64, upstream: &str, revision: u64) -> Result<Version, IdentityError> {
        let text = if epoch == 0 {
            format!("{upstream}-{revision}")
        } else {
            format!("{epoch}:{upstream}-{revision}")
        };
        check_upstream(&text, upstream)?;
        if revision == 0 {
            return Err(err(
                &text,
                "revision 0 is reserved; the first revision is 1",
                "§2.2.4",
            ));
        }
        Ok(Self::assemble(epoch, upstream, Some(revision)))
    }

    fn parse_with(s: &str, rule: RevisionRule) -> Result<Version, IdentityError> {
        if s.is_empty() {
            return Err(err(s, "empty version string", "§2.2.5"));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => (parse_decimal(s, e, "epoch", "§2.2.2")?, rest),
            None => (0, s),
        };
        let (upstream, revision_text) = match (rest.rfind('-'), rule) {
            (Some(i), RevisionRule::Required) => (&rest[..i], Some(&rest[i + 1..])),
            (Some(i), RevisionRule::Optional)
                if rest[i + 1..].bytes().all(|b| b.is_ascii_digit()) =>
            {
                (&rest[..i], Some(&rest[i + 1..]))
            }
            (_, RevisionRule::Optional) => (rest, None),
            (None, RevisionRule::Required) => {
                return Err(err(
                    s,
                    "missing peios revision (expected [<epoch>:]<upstream>-<revision>)",
                    "§2.2.1",
                ))
            }
        };
        let revision = match revision_text {
            Some(r) => {
                let n = parse_decimal(s, r, "revision", "§2.2.4")?;
                if n == 0 {
                    return Err(err(
                        s,
                        "revision 0 is reserved; the first revision is 1",
                        "§2.2.4",
                    ));
                }
                Some(n)
            }
            None => None,
        };
        check_upstream(s, upstream)?;
        Ok(Self::assemble(epoch, upstream, revision))
    }

    fn assemble(epoch: u64, upstream: &str, revision: Option<u64>) -> Version {
        let mut text = String::with_capacity(upstream.len() + 24);
        if epoch != 0 {
            text.push_str(&epoch.to_string());
            text.push(':');
        }
        let upstream_start = text.len();
        text.push_str(upstream);
        let upstream_end = text.len();
        if let Some(r) = revision {
            text.push('-');
            text.push_str(&r.to_string());
        }
        Version {
            text,
            epoch,
            upstream_start,
            upstream_end,
            revision,
        }
    }

    /// Parses both strings as complete versions and compares them.
    pub fn compare_str(a: &str, b: &str) -> Result<std::cmp::Ordering, IdentityError> {
        Ok(Version::parse(a)?.cmp(&Version::parse(b)?))
    }

    /// The epoch; 0 when none was written.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }

    /// The upstream version, as written.
    pub fn upstream(&self) -> &str {
        &self.text[self.upstream_start..self.upstream_end]
    }

    /// The peios revision's text (decimal, no leading zeros), or `None` for a
    /// constraint operand written without one.
    pub fn revision(&self) -> Option<&str> {
        self.revision.map(|_| &self.text[self.upstream_end + 1..])
    }

    /// The peios revision as a number, or `None` for an operand without one.
    pub fn revision_number(&self) -> Option<u64> {
        self.revision
    }

    /// Whether a revision was given. Always true for [`Version::parse`].
    pub fn has_revision(&self) -> bool {
        self.revision.is_some()
    }

    /// Whether the upstream version has at least one pre-release segment
    /// (§2.2.7.3): a segment after a `~`, or a recognised pre-release token
    /// (`dev`, `alpha`, `a`, `beta`, `b`, `pre`, `rc`, any case) and what
    /// follows it. `1.0~rc1`, `1.0.0-rc.1`, `16beta1` and `1.0a` are; `1.0`,
    /// `1.0-foo` and `1.0~` (a tilde with nothing after it) are not.
    ///
    /// This is the spec's definition, not "sorts below the release": `1.0~1`
    /// has a pre-release segment yet sorts above `1.0`.
    pub fn is_prerelease(&self) -> bool {
        version_order::upstream_segments(self.upstream()).any(|s| s.prerelease)
    }

    /// The canonical text (see the type's documentation).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The same epoch and upstream without a revision: an operand that
    /// matches every revision of this upstream version.
    pub fn without_revision(&self) -> Version {
        Self::assemble(self.epoch, self.upstream(), None)
    }

    /// The same epoch and upstream with the given revision.
    pub fn with_revision(&self, revision: u64) -> Result<Version, IdentityError> {
        Version::new(self.epoch, self.upstream(), revision)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Version({:?})", self.text)
    }
}

impl FromStr for Version {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Version::parse(s)
    }
}

impl TryFrom<&str> for Version {
    type Error = IdentityError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Version::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(s: &str) -> (u64, String, Option<u64>) {
        let v = Version::parse(s).unwrap();
        (v.epoch(), v.upstream().to_owned(), v.revision_number())
    }

    #[test]
    fn spec_examples_parse() {
        assert_eq!(parts("1.26.2-3"), (0, "1.26.2".into(), Some(3)));
        assert_eq!(parts("1.26.2-rc.1-1"), (0, "1.26.2-rc.1".into(), Some(1)));
        assert_eq!(parts("2:0.5.0-1"), (2, "0.5.0".into(), Some(1)));
        assert_eq!(parts("0.22-1"), (0, "0.22".into(), Some(1)));
    }

    #[test]
    fn canonical_text_drops_zero_epoch_only() {
        assert_eq!(Version::parse("0:1.0-1").unwrap().to_string(), "1.0-1");
        assert_eq!(
            Version::parse("1:1.2.3~rc1-2").unwrap().to_string(),
            "1:1.2.3~rc1-2"
        );
        let v = Version::parse("3:A.b~C+d-e-10").unwrap();
        assert_eq!(v.as_str(), "3:A.b~C+d-e-10");
        assert_eq!(v.upstream(), "A.b~C+d-e");
        assert_eq!(v.revision(), Some("10"));
    }

    #[test]
    fn sections_in_errors() {
        let cases = [
            ("", "§2.2.5"),
            ("1.0", "§2.2.1"),
            ("01:1.0-1", "§2.2.2"),
            (":1.0-1", "§2.2.2"),
            ("1.0-0", "§2.2.4"),
            ("1.0-01", "§2.2.4"),
            ("1.0-", "§2.2.4"),
            ("-1", "§2.2.3"),
            ("1.0 -1", "§2.2.3"),
            ("1:2:3-1", "§2.2.3"),
        ];
        for (s, section) in cases {
            let e = Version::parse(s).unwrap_err();
            assert_eq!(e.section(), section, "{s:?}: {e}");
        }
    }

    #[test]
    fn huge_numbers_are_rejected_not_wrapped() {
        assert!(Version::parse("1.0-18446744073709551615").is_ok());
        let e = Version::parse("1.0-18446744073709551616").unwrap_err();
        assert!(e.reason().contains("exceeds"), "{e}");
        assert!(Version::parse("18446744073709551616:1.0-1").is_err());
    }

    #[test]
    fn operand_revision_is_optional() {
        let v = Version::parse_operand("3.0").unwrap();
        assert!(!v.has_revision());
        assert_eq!(v.revision(), None);
        assert_eq!(v.to_string(), "3.0");
        let v = Version::parse_operand("1.0-rc.1").unwrap();
        assert_eq!((v.upstream(), v.revision()), ("1.0-rc.1", None));
        let v = Version::parse_operand("1:1.0-rc-2").unwrap();
        assert_eq!(
            (v.epoch(), v.upstream(), v.revision()),
            (1, "1.0-rc", Some("2"))
        );
        assert!(Version::parse_operand("1.0-0").is_err());
        assert!(Version::parse_operand("1.0-").is_err());
        assert!(Version::parse_operand("1.0-01").is_err());
        assert!(Version::parse_operand("").is_err());
    }

    #[test]
    fn new_and_revision_helpers() {
        let v = Version::new(0, "1.2", 3).unwrap();
        assert_eq!(v.as_str(), "1.2-3");
        assert_eq!(v.without_revision().as_str(), "1.2");
        assert_eq!(v.with_revision(7).unwrap().as_str(), "1.2-7");
        assert!(Version::new(0, "1.2", 0).is_err());
        assert!(Version::new(0, "", 1).is_err());
        assert!(Version::new(0, "1_2", 1).is_err());
        assert_eq!(Version::new(4, "x", 1).unwrap().as_str(), "4:x-1");
    }

    #[test]
    fn prerelease_flag() {
        for (s, pre) in [
            ("1.0~rc1-1", true),
            ("1.0.0-rc.1-1", true),
            ("16beta1-1", true),
            ("1.0a-1", true),
            ("1.0.alpha-1", true),
            ("1.0~1-1", true),
            ("1.0-1", false),
            ("1.0-foo-1", false),
            ("1.0~-1", false),
            ("1.0+build.42-1", false),
            ("alphabet-1", false),
        ] {
            assert_eq!(Version::parse(s).unwrap().is_prerelease(), pre, "{s}");
        }
    }
}
