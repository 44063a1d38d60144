//! Package names (PSD-009 §2.1).
//!
//! Names are the key of every index, URL and file name, so they are validated
//! once here and carried as [`PackageName`] afterwards: a value of that type
//! cannot hold `../x`, an underscore (the file-name separator) or anything
//! else §2.1 forbids.

use std::fmt;
use std::str::FromStr;

use super::error::IdentityError;

/// Shortest legal name (§2.1.2).
pub const MIN_NAME_LEN: usize = 2;
/// Longest legal name (§2.1.2).
pub const MAX_NAME_LEN: usize = 64;

/// A package or virtual name that satisfies every rule of PSD-009 §2.1.
///
/// Equality and order are byte-wise, which §2.1.3 makes the same as the
/// spec's case-sensitive comparison and §4.1.7's "lexicographically by name".
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PackageName(String);

fn is_separator(c: char) -> bool {
    matches!(c, '-' | '.' | '+')
}

fn is_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

fn err(value: &str, reason: impl Into<String>, section: &'static str) -> IdentityError {
    IdentityError::InvalidName {
        value: value.to_owned(),
        reason: reason.into(),
        section,
    }
}

impl PackageName {
    /// Validates `s` against §2.1.1 (character set) and §2.1.2 (structure).
    ///
    /// The normative rules are applied as written, which rejects the spec's
    /// own informative example `libstdc++` (it ends in `+` and contains `++`).
    pub fn parse(s: &str) -> Result<PackageName, IdentityError> {
        if s.is_empty() {
            return Err(err(s, "must not be empty", "§2.1.2"));
        }
        let chars = s.chars().count();
        if chars > MAX_NAME_LEN {
            return Err(err(
                s,
                format!("is {chars} characters long; the limit is {MAX_NAME_LEN}"),
                "§2.1.2",
            ));
        }
        for (i, c) in s.char_indices() {
            if is_alnum(c) || is_separator(c) {
                continue;
            }
            let why = if c.is_ascii_uppercase() {
                "uppercase letters are not allowed"
            } else if c == '_' {
                "underscores are not allowed (the underscore separates file-name fields)"
            } else if c.is_whitespace() {
                "whitespace is not allowed"
            } else {
                "only a-z, 0-9, '-', '.' and '+' are allowed"
            };
            return Err(err(
                s,
                format!("forbidden character {c:?} at byte {i}: {why}"),
                "§2.1.1",
            ));
        }
        // Every character is now ASCII, so byte positions are character positions.
        let bytes = s.as_bytes();
        if !is_alnum(bytes[0] as char) {
            return Err(err(
                s,
                "must start with a lowercase letter or digit",
                "§2.1.2",
            ));
        }
        if !is_alnum(bytes[bytes.len() - 1] as char) {
            return Err(err(
                s,
                "must end with a lowercase letter or digit",
                "§2.1.2",
            ));
        }
        if let Some(i) = bytes
            .windows(2)
            .position(|w| is_separator(w[0] as char) && is_separator(w[1] as char))
        {
            return Err(err(
                s,
                format!("two consecutive separators {:?} at byte {i}", &s[i..i + 2]),
                "§2.1.2",
            ));
        }
        if chars < MIN_NAME_LEN {
            return Err(err(
                s,
                format!("must be at least {MIN_NAME_LEN} characters long"),
                "§2.1.2",
            ));
        }
        Ok(PackageName(s.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PackageName({:?})", self.0)
    }
}

impl FromStr for PackageName {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        PackageName::parse(s)
    }
}

impl AsRef<str> for PackageName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for PackageName {
    type Error = IdentityError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        PackageName::parse(s)
    }
}

impl TryFrom<String> for PackageName {
    type Error = IdentityError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        PackageName::parse(&s)?;
        Ok(PackageName(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section_of(s: &str) -> &'static str {
        PackageName::parse(s).unwrap_err().section()
    }

    #[test]
    fn accepts_spec_patterns() {
        for ok in [
            "hello",
            "jq",
            "nginx",
            "peios-docs",
            "lib32-foo",
            "python3.example",
            "libfoo-dev",
            "g+1",
            "0ad",
            "a1",
            "x-y.z+w",
        ] {
            let n = PackageName::parse(ok).unwrap();
            assert_eq!(n.as_str(), ok);
            assert_eq!(n.to_string(), ok);
        }
    }

    #[test]
    fn length_limits() {
        assert!(PackageName::parse(&"a".repeat(64)).is_ok());
        assert_eq!(section_of(&"a".repeat(65)), "§2.1.2");
        assert!(PackageName::parse("ab").is_ok());
        let e = PackageName::parse("a").unwrap_err();
        assert!(e.reason().contains("at least 2"), "{e}");
        assert!(PackageName::parse("").is_err());
    }

    #[test]
    fn character_set() {
        for bad in [
            "Foo", "foo_bar", "foo bar", "foo/bar", "föö", "foo\0", "foo:1", "foo~1",
        ] {
            let e = PackageName::parse(bad).unwrap_err();
            assert_eq!(e.section(), "§2.1.1", "{bad}: {e}");
        }
        let e = PackageName::parse("Foo").unwrap_err();
        assert!(
            e.to_string().starts_with("invalid package name \"Foo\": "),
            "{e}"
        );
        assert!(e.reason().contains("uppercase"), "{e}");
    }

    #[test]
    fn structure() {
        for bad in [
            "-foo", ".foo", "+foo", "foo-", "foo.", "foo+", "a--b", "a..b", "a++b", "a-.b", "a.+b",
        ] {
            assert_eq!(section_of(bad), "§2.1.2", "{bad}");
        }
        assert!(PackageName::parse("../../escaped").is_err());
    }

    /// PSD-009 §2.1's informative note and §2.1.4's file-name examples use
    /// `libstdc++`, but the normative §2.1.2 rules forbid a trailing `+` and
    /// `++`. Normative text wins: we reject it.
    #[test]
    fn libstdcxx_example_contradicts_normative_rules_and_is_rejected() {
        let e = PackageName::parse("libstdc++").unwrap_err();
        assert_eq!(e.section(), "§2.1.2");
        assert!(e.reason().contains("end with"), "{e}");
    }

    #[test]
    fn order_is_bytewise() {
        let mut v: Vec<PackageName> = ["libfoo-dev", "libfoo", "libc", "a1", "libfoo.x"]
            .iter()
            .map(|s| PackageName::parse(s).unwrap())
            .collect();
        v.sort();
        let got: Vec<&str> = v.iter().map(PackageName::as_str).collect();
        assert_eq!(got, ["a1", "libc", "libfoo", "libfoo-dev", "libfoo.x"]);
    }
}
