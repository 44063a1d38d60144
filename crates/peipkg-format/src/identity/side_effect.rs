//! Side-effect identifiers (PSD-009 §4.3).
//!
//! The set is closed in v0.22 (§4.3.5): a package may only ask the package
//! manager for these maintenance operations, and anything else must be
//! rejected, so the type is an enum rather than a validated string.

use std::fmt;
use std::str::FromStr;

use super::error::IdentityError;

/// A recognised side effect (§4.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SideEffect {
    /// Rebuild the shared-library cache (§4.3.4.1).
    Ldconfig,
    /// Rebuild the kernel-module dependency cache (§4.3.4.2).
    Depmod,
    /// Rebuild the man-page index (§4.3.4.3).
    ManDb,
}

impl SideEffect {
    /// Every side effect v0.22 recognises.
    pub const ALL: [SideEffect; 3] = [SideEffect::Ldconfig, SideEffect::Depmod, SideEffect::ManDb];

    /// Accepts exactly `ldconfig`, `depmod` or `man-db` (case-sensitive).
    pub fn parse(s: &str) -> Result<SideEffect, IdentityError> {
        Self::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| IdentityError::InvalidSideEffect {
                value: s.to_owned(),
                reason: "not one of the side effects PSD-009 v0.22 recognises \
                         (ldconfig, depmod, man-db)"
                    .to_owned(),
                section: "§4.3.4",
            })
    }

    /// The identifier as written in a manifest.
    pub fn as_str(self) -> &'static str {
        match self {
            SideEffect::Ldconfig => "ldconfig",
            SideEffect::Depmod => "depmod",
            SideEffect::ManDb => "man-db",
        }
    }

    /// Parses a manifest's `side_effects` array (§4.3.1): every value known,
    /// no duplicates. Order is kept as written.
    pub fn parse_list<S: AsRef<str>>(values: &[S]) -> Result<Vec<SideEffect>, IdentityError> {
        let mut out: Vec<SideEffect> = Vec::with_capacity(values.len());
        for v in values {
            let e = SideEffect::parse(v.as_ref())?;
            if out.contains(&e) {
                return Err(IdentityError::InvalidSideEffect {
                    value: e.as_str().to_owned(),
                    reason: "listed more than once; side_effects must not contain duplicates"
                        .to_owned(),
                    section: "§4.3.1",
                });
            }
            out.push(e);
        }
        Ok(out)
    }
}

impl fmt::Display for SideEffect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SideEffect {
    type Err = IdentityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SideEffect::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values_round_trip() {
        for e in SideEffect::ALL {
            assert_eq!(SideEffect::parse(e.as_str()).unwrap(), e);
            assert_eq!(e.to_string(), e.as_str());
        }
        assert_eq!(SideEffect::parse("man-db").unwrap(), SideEffect::ManDb);
    }

    #[test]
    fn unknown_values_rejected() {
        for bad in [
            "",
            "mandb",
            "LDCONFIG",
            "ldconfig ",
            "udev-reload",
            "update-mime-database",
        ] {
            let e = SideEffect::parse(bad).unwrap_err();
            assert_eq!(e.section(), "§4.3.4", "{bad:?}");
        }
    }

    #[test]
    fn list_rejects_duplicates_and_keeps_order() {
        assert_eq!(
            SideEffect::parse_list(&["man-db", "ldconfig"]).unwrap(),
            [SideEffect::ManDb, SideEffect::Ldconfig]
        );
        assert!(SideEffect::parse_list::<&str>(&[]).unwrap().is_empty());
        let e = SideEffect::parse_list(&["ldconfig", "depmod", "ldconfig"]).unwrap_err();
        assert_eq!(e.section(), "§4.3.1");
        assert!(SideEffect::parse_list(&["ldconfig", "bogus"]).is_err());
    }
}
