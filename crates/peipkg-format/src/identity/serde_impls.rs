//! Serde support: every identity type travels as its canonical string and is
//! validated when read, so a document struct that holds a `Version` cannot be
//! deserialised from an invalid one.

use serde::de::{Deserialize, Deserializer, Error as _};
use serde::ser::{Serialize, Serializer};

use super::{ArchQualifier, Architecture, Constraint, PackageName, SideEffect, Version};

macro_rules! string_serde {
    ($ty:ty, $parse:path) => {
        impl Serialize for $ty {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $ty {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                $parse(&s).map_err(D::Error::custom)
            }
        }
    };
}

string_serde!(PackageName, PackageName::parse);
string_serde!(Version, Version::parse);
string_serde!(Constraint, Constraint::parse);
string_serde!(Architecture, Architecture::parse);
string_serde!(SideEffect, SideEffect::parse);
string_serde!(ArchQualifier, ArchQualifier::parse);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_through_json() {
        let v: Version = serde_json::from_str("\"1:1.2.3~rc1-2\"").unwrap();
        assert_eq!(serde_json::to_string(&v).unwrap(), "\"1:1.2.3~rc1-2\"");
        let c: Constraint = serde_json::from_str("\">=1.0,<2.0\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\">= 1.0, < 2.0\"");
        let e: Vec<SideEffect> = serde_json::from_str("[\"ldconfig\",\"man-db\"]").unwrap();
        assert_eq!(e, [SideEffect::Ldconfig, SideEffect::ManDb]);
        let a: Architecture = serde_json::from_str("\"x86_64\"").unwrap();
        assert_eq!(a, Architecture::X86_64);
        let q: ArchQualifier = serde_json::from_str("\"any\"").unwrap();
        assert_eq!(serde_json::to_string(&q).unwrap(), "\"any\"");
    }

    #[test]
    fn invalid_values_fail_with_the_rule() {
        let e = serde_json::from_str::<PackageName>("\"Foo\"").unwrap_err();
        assert!(e.to_string().contains("PSD-009 §2.1.1"), "{e}");
        assert!(serde_json::from_str::<Version>("\"1.0\"").is_err());
        assert!(serde_json::from_str::<Version>("10").is_err());
        assert!(serde_json::from_str::<ArchQualifier>("\"x86_64\"").is_err());
    }
}
