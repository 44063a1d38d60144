//! The one error type for identity parsing.
//!
//! Every variant carries the offending text, the rule that was broken and the
//! PSD-009 section that states it, because these errors end up in front of
//! recipe authors and repository operators who need to know what to fix and
//! where the rule is written down.

use std::fmt;

/// A string that failed one of the PSD-009 identity rules.
///
/// The `Display` form is
/// `invalid <thing> "<value>": <rule> (PSD-009 §<section>)`; over-long values
/// are shortened in the message (the full value stays in the variant).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// A package or virtual name broke §2.1.
    #[error("invalid package name {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidName {
        value: String,
        reason: String,
        section: &'static str,
    },
    /// A version string broke §2.2.
    #[error("invalid version {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidVersion {
        value: String,
        reason: String,
        section: &'static str,
    },
    /// A version constraint broke §2.2.8 / §4.1.6.
    #[error("invalid version constraint {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidConstraint {
        value: String,
        reason: String,
        section: &'static str,
    },
    /// An architecture identifier broke §2.3.1.
    #[error("invalid architecture {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidArchitecture {
        value: String,
        reason: String,
        section: &'static str,
    },
    /// A dependency or conflict `arch` qualifier other than `any` (§4.1.3).
    #[error("invalid arch qualifier {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidArchQualifier {
        value: String,
        reason: String,
        section: &'static str,
    },
    /// A side-effect identifier outside the closed set, or a duplicate (§4.3).
    #[error("invalid side effect {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidSideEffect {
        value: String,
        reason: String,
        section: &'static str,
    },
    /// A package file name that is not `<name>_<version>_<arch>.peipkg` (§2.1.4).
    #[error("invalid package file name {}: {reason} (PSD-009 {section})", Shown(.value))]
    InvalidFileName {
        value: String,
        reason: String,
        section: &'static str,
    },
}

impl IdentityError {
    /// The offending text, in full.
    pub fn value(&self) -> &str {
        self.parts().0
    }

    /// The rule that was broken, without the value or the section.
    pub fn reason(&self) -> &str {
        self.parts().1
    }

    /// The PSD-009 section stating the rule, e.g. `§2.2.4`.
    pub fn section(&self) -> &'static str {
        self.parts().2
    }

    fn parts(&self) -> (&str, &str, &'static str) {
        match self {
            Self::InvalidName {
                value,
                reason,
                section,
            }
            | Self::InvalidVersion {
                value,
                reason,
                section,
            }
            | Self::InvalidConstraint {
                value,
                reason,
                section,
            }
            | Self::InvalidArchitecture {
                value,
                reason,
                section,
            }
            | Self::InvalidArchQualifier {
                value,
                reason,
                section,
            }
            | Self::InvalidSideEffect {
                value,
                reason,
                section,
            }
            | Self::InvalidFileName {
                value,
                reason,
                section,
            } => (value, reason, section),
        }
    }
}

/// Longest value (in characters) quoted whole in a message. Identity strings
/// are short; anything longer is hostile or a mistake, and a megabyte of it in
/// a log line helps nobody.
const SHOWN_CHARS: usize = 96;

/// Quotes a value for a message, escaping control characters and shortening
/// it when it is long.
pub(crate) struct Shown<'a>(pub(crate) &'a str);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(SHOWN_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}... ({} bytes in all)", &self.0[..cut], self.0.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_value_rule_and_section() {
        let e = IdentityError::InvalidName {
            value: "Foo".into(),
            reason: "must start with a lowercase letter or digit".into(),
            section: "§2.1.2",
        };
        assert_eq!(
            e.to_string(),
            "invalid package name \"Foo\": must start with a lowercase letter or digit (PSD-009 §2.1.2)"
        );
        assert_eq!(e.value(), "Foo");
        assert_eq!(e.section(), "§2.1.2");
    }

    #[test]
    fn long_values_are_shortened_in_the_message_only() {
        let long = "x".repeat(10_000);
        let e = IdentityError::InvalidVersion {
            value: long.clone(),
            reason: "r".into(),
            section: "§2.2.5",
        };
        let msg = e.to_string();
        assert!(msg.len() < 300, "{msg}");
        assert!(msg.contains("10000 bytes in all"), "{msg}");
        assert_eq!(e.value(), long);
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(Shown("a\nb").to_string(), "\"a\\nb\"");
    }
}
