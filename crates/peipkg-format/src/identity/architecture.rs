//! Architecture identifiers (PSD-009 §2.3) and the dependency `arch`
//! qualifier (§4.1.3).
//!
//! Any identifier in the §2.3.1 format is accepted, not only the three
//! canonical ones, because §2.3.6 lets future versions add architectures and
//! a farm should be able to carry them; callers that need a known one ask
//! [`Architecture::is_canonical`].

use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

use super::error::IdentityError;

/// Longest legal identifier (§2.3.1).
pub const MAX_ARCH_LEN: usize = 16;

/// An architecture identifier in the §2.3.1 format: `[a-z][a-z0-9_]*`, at
/// most 16 characters.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Architecture(Cow<'static, str>);

fn err(value: &str, reason: impl Into<String>, section: &'static str) -> IdentityError {
    IdentityError::InvalidArchitecture {
        value: value.to_owned(),
        reason: reason.into(),
        section,
    }
}

impl Architecture {
    /// 64-bit x86, the primary target (§2.3.2).
    pub const X86_64: Architecture = Architecture(Cow::Borrowed("x86_64"));
    /// 64-bit ARM (§2.3.2).
    pub const AARCH64: Architecture = Architecture(Cow::Borrowed("aarch64"));
    /// Architecture-independent (§2.3.4).
    pub const NOARCH: Architecture = Architecture(Cow::Borrowed("noarch"));
    /// The identifiers PSD-009 v0.22 defines (§2.3.2).
    pub const CANONICAL: [Architecture; 3] = [Self::X86_64, Self::AARCH64, Self::NOARCH];

    /// Validates `s` against §2.3.1.
    pub fn parse(s: &str) -> Result<Architecture, IdentityError> {
        if let Some(known) = Self::CANONICAL.iter().find(|a| a.as_str() == s) {
            return Ok(known.clone());
        }
        let Some(first) = s.chars().next() else {
            return Err(err(s, "must not be empty", "§2.3.1"));
        };
        let len = s.chars().count();
        if len > MAX_ARCH_LEN {
            return Err(err(
                s,
                format!("is {len} characters long; the limit is {MAX_ARCH_LEN}"),
                "§2.3.1",
            ));
        }
        if !first.is_ascii_lowercase() {
            return Err(err(s, "must start with a lowercase letter", "§2.3.1"));
        }
        if let Some((i, c)) = s
            .char_indices()
            .find(|&(_, c)| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
        {
            return Err(err(
                s,
                format!("forbidden character {c:?} at byte {i} (allowed: a-z, 0-9, '_')"),
                "§2.3.1",
            ));
        }
        Ok(Architecture(Cow::Owned(s.to_owned())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is `noarch`.
    pub fn is_noarch(&self) -> bool {
        self.as_str() == "noarch"
    }

    /// Whether this is one of the identifiers v0.22 defines.
    pub fn is_canonical(&self) -> bool {
        Self::CANONICAL.contains(self)
    }

    /// `<identifier>-linux-peios` (§2.3.3); `None` for `noarch`, which has no
    /// triplet.
    pub fn triplet(&self) -> Option<String> {
        (!self.is_noarch()).then(|| format!("{}-linux-peios", self.as_str()))
    }

    /// §2.3.5: a package of this architecture may be installed on a system
    /// whose primary architecture is `system` when they match or this is
    /// `noarch`.
    pub fn installable_on(&self, system: &Architecture) -> bool {
        self.is_noarch() || self == system
    }
}

impl fmt::Display for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Architecture {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Architecture({:?})", self.as_str())
    }
}

impl FromStr for Architecture {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Architecture::parse(s)
    }
}

impl AsRef<str> for Architecture {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

/// The `arch` qualifier on a dependency or conflict entry (§4.1.3).
///
/// v0.22 allows only `any` (the default, used when the field is absent) and
/// requires every other value to be rejected, including concrete
/// architecture identifiers reserved for future multi-arch use.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ArchQualifier {
    /// The qualified package's architecture must equal the depending
    /// package's, or be `noarch`.
    #[default]
    Any,
}

impl ArchQualifier {
    pub fn parse(s: &str) -> Result<ArchQualifier, IdentityError> {
        match s {
            "any" => Ok(ArchQualifier::Any),
            _ => Err(IdentityError::InvalidArchQualifier {
                value: s.to_owned(),
                reason: "the only value PSD-009 v0.22 allows is \"any\"".to_owned(),
                section: "§4.1.3",
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ArchQualifier::Any => "any",
        }
    }

    /// Whether a package of architecture `candidate` can satisfy (or, for a
    /// conflict, be hit by) an entry with this qualifier declared by a
    /// package of architecture `depending`.
    pub fn admits(self, depending: &Architecture, candidate: &Architecture) -> bool {
        match self {
            ArchQualifier::Any => candidate == depending || candidate.is_noarch(),
        }
    }
}

/// Checks a dependency or conflict `arch` field value (§4.1.3); `None` (the
/// field is absent) means `any`.
pub fn validate_arch_qualifier(value: Option<&str>) -> Result<ArchQualifier, IdentityError> {
    value.map_or(Ok(ArchQualifier::Any), ArchQualifier::parse)
}

impl fmt::Display for ArchQualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ArchQualifier {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ArchQualifier::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_architectures_and_triplets() {
        let x = Architecture::parse("x86_64").unwrap();
        assert_eq!(x, Architecture::X86_64);
        assert_eq!(x.triplet().as_deref(), Some("x86_64-linux-peios"));
        assert_eq!(
            Architecture::parse("aarch64").unwrap().triplet().as_deref(),
            Some("aarch64-linux-peios")
        );
        let n = Architecture::parse("noarch").unwrap();
        assert!(n.is_noarch() && n.triplet().is_none() && n.is_canonical());
        assert!(!x.is_noarch());
    }

    #[test]
    fn other_identifiers_in_format_are_accepted() {
        for ok in [
            "riscv64",
            "i686",
            "armv7l",
            "ppc64le",
            "s390x",
            "a",
            "abcdefghijklmnop",
            "a_1",
        ] {
            let a = Architecture::parse(ok).unwrap();
            assert!(!a.is_canonical(), "{ok}");
            assert_eq!(a.triplet(), Some(format!("{ok}-linux-peios")));
        }
    }

    #[test]
    fn format_violations() {
        for bad in [
            "",
            "X86_64",
            "1abc",
            "_x",
            "x86-64",
            "x86 64",
            "abcdefghijklmnopq",
            "amd64é",
            "noarch\n",
        ] {
            let e = Architecture::parse(bad).unwrap_err();
            assert_eq!(e.section(), "§2.3.1", "{bad:?}");
        }
    }

    #[test]
    fn installability() {
        let (x, a, n) = (
            Architecture::X86_64,
            Architecture::AARCH64,
            Architecture::NOARCH,
        );
        assert!(x.installable_on(&x));
        assert!(n.installable_on(&x));
        assert!(!a.installable_on(&x));
    }

    #[test]
    fn qualifier_only_any() {
        assert_eq!(validate_arch_qualifier(None).unwrap(), ArchQualifier::Any);
        assert_eq!(
            validate_arch_qualifier(Some("any")).unwrap(),
            ArchQualifier::Any
        );
        for bad in ["x86_64", "noarch", "ANY", "", " any"] {
            let e = validate_arch_qualifier(Some(bad)).unwrap_err();
            assert_eq!(e.section(), "§4.1.3");
        }
        let q = ArchQualifier::default();
        let (x, a, n) = (
            Architecture::X86_64,
            Architecture::AARCH64,
            Architecture::NOARCH,
        );
        assert!(q.admits(&x, &x) && q.admits(&x, &n) && !q.admits(&x, &a));
        assert!(q.admits(&n, &n) && !q.admits(&n, &x));
    }
}
