//! The repository descriptor `repo.json` (PSD-009 §6.1).

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::lenient::null_default;
use super::DecodeError;
use crate::documents::signature::is_sha256_hex;

/// `repo.json`. Field order is byte order.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(default, deserialize_with = "null_default")]
    pub schema_version: i64,
    #[serde(default, deserialize_with = "null_default")]
    pub repo: RepoInfo,
    #[serde(default, deserialize_with = "null_default")]
    pub indexes: IndexPointers,
}

/// `repo`: identity and signing keys.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RepoInfo {
    #[serde(default, deserialize_with = "null_default")]
    pub name: String,
    /// Always written, even when empty (as the reference does).
    #[serde(default, deserialize_with = "null_default")]
    pub description: String,
    #[serde(default, deserialize_with = "null_default")]
    pub signing: Signing,
}

/// `repo.signing` (§6.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Signing {
    #[serde(default, deserialize_with = "null_default")]
    pub algorithm: String,
    #[serde(default, deserialize_with = "null_default")]
    pub keys: Vec<KeyEntry>,
}

/// One declared signing key. `status` stays a string so that a descriptor
/// with a status this version does not know still round-trips and can be
/// reported by [`Descriptor::validate`] instead of failing to load.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct KeyEntry {
    #[serde(default, deserialize_with = "null_default")]
    pub fingerprint: String,
    #[serde(default, deserialize_with = "null_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_default")]
    pub status: String,
    #[serde(
        default,
        deserialize_with = "null_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub valid_until: String,
}

/// The key statuses of §6.1.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyStatus {
    Active,
    Transitioning,
    Revoked,
}

impl KeyStatus {
    pub fn parse(s: &str) -> Option<KeyStatus> {
        match s {
            "active" => Some(KeyStatus::Active),
            "transitioning" => Some(KeyStatus::Transitioning),
            "revoked" => Some(KeyStatus::Revoked),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Active => "active",
            KeyStatus::Transitioning => "transitioning",
            KeyStatus::Revoked => "revoked",
        }
    }
}

impl KeyEntry {
    /// An `active` key at its conventional URL.
    pub fn active(fingerprint: &str) -> KeyEntry {
        KeyEntry {
            fingerprint: fingerprint.to_string(),
            url: format!("/{}", super::key_path(fingerprint)),
            status: KeyStatus::Active.as_str().to_string(),
            valid_until: String::new(),
        }
    }

    /// The parsed status, `None` when it is not one of the three of §6.1.4.
    pub fn status(&self) -> Option<KeyStatus> {
        KeyStatus::parse(&self.status)
    }

    /// `valid_until` as Unix seconds, when present and RFC 3339 UTC.
    pub fn valid_until_unix(&self) -> Option<i64> {
        parse_utc(&self.valid_until)
    }
}

/// `indexes` (§6.1.5).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IndexPointers {
    #[serde(default, deserialize_with = "null_default")]
    pub active: IndexPointer,
    #[serde(default, deserialize_with = "null_default")]
    pub archive: IndexPointer,
}

/// One index pointer.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct IndexPointer {
    #[serde(default, deserialize_with = "null_default")]
    pub url: String,
    #[serde(default, deserialize_with = "null_default")]
    pub signature_url: String,
}

impl IndexPointers {
    /// The conventional index URLs of §6.1.5.
    pub fn conventional() -> IndexPointers {
        IndexPointers {
            active: IndexPointer {
                url: format!("/{}", super::ACTIVE_PATH),
                signature_url: format!("/{}", super::ACTIVE_SIG_PATH),
            },
            archive: IndexPointer {
                url: format!("/{}", super::ARCHIVE_PATH),
                signature_url: format!("/{}", super::ARCHIVE_SIG_PATH),
            },
        }
    }
}

impl Descriptor {
    /// The descriptor of a new repository: one active key, conventional URLs.
    pub fn new(name: &str, description: &str, fingerprint: &str) -> Descriptor {
        Descriptor {
            schema_version: 1,
            repo: RepoInfo {
                name: name.to_string(),
                description: description.to_string(),
                signing: Signing {
                    algorithm: "ed25519".to_string(),
                    keys: vec![KeyEntry::active(fingerprint)],
                },
            },
            indexes: IndexPointers::conventional(),
        }
    }

    /// Canonical bytes, with the trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::to_canonical_vec(self)
    }

    /// Lenient decode (see the module documentation).
    pub fn decode(bytes: &[u8]) -> Result<Descriptor, DecodeError> {
        serde_json::from_slice(bytes).map_err(|e| DecodeError {
            document: "repo.json",
            section: "6.1",
            reason: e.to_string(),
        })
    }

    /// The declared key with this fingerprint.
    pub fn key(&self, fingerprint: &str) -> Option<&KeyEntry> {
        self.repo
            .signing
            .keys
            .iter()
            .find(|k| k.fingerprint == fingerprint)
    }

    /// Every MUST of §6.1 the descriptor breaks, each naming the member, the
    /// rule and the offending value. Empty when the descriptor is valid.
    pub fn validate(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.schema_version != 1 {
            out.push(format!(
                "repo.json schema_version is {}, must be 1 (PSD-009 §6.1.2)",
                self.schema_version
            ));
        }
        if self.repo.name.is_empty() {
            out.push("repo.json repo.name is empty, must be non-empty (PSD-009 §6.1.2)".into());
        }
        if self.repo.signing.algorithm != "ed25519" {
            out.push(format!(
                "repo.json repo.signing.algorithm is {:?}, must be \"ed25519\" (PSD-009 §6.1.3)",
                self.repo.signing.algorithm
            ));
        }
        let keys = &self.repo.signing.keys;
        if !keys.iter().any(|k| k.status() == Some(KeyStatus::Active)) {
            out.push(
                "repo.json repo.signing.keys has no key with status \"active\", must have at least one (PSD-009 §6.1.3)"
                    .into(),
            );
        }
        for (i, k) in keys.iter().enumerate() {
            let at = format!("repo.json repo.signing.keys[{i}]");
            if !is_sha256_hex(&k.fingerprint) {
                out.push(format!(
                    "{at}.fingerprint {:?} is not 64 lowercase hex characters (PSD-009 §5.2.3)",
                    k.fingerprint
                ));
            }
            if k.url.is_empty() {
                out.push(format!("{at}.url is empty (PSD-009 §6.1.3)"));
            }
            match k.status() {
                None => out.push(format!(
                    "{at}.status is {:?}, must be one of active, transitioning, revoked (PSD-009 §6.1.4)",
                    k.status
                )),
                Some(KeyStatus::Transitioning) if k.valid_until.is_empty() => out.push(format!(
                    "{at} ({}) is transitioning without valid_until, which a transitioning key must have (PSD-009 §6.1.4)",
                    k.fingerprint
                )),
                _ => {}
            }
            if !k.valid_until.is_empty() && k.valid_until_unix().is_none() {
                out.push(format!(
                    "{at}.valid_until {:?} is not an RFC 3339 UTC timestamp ending in Z (PSD-009 §6.1.3)",
                    k.valid_until
                ));
            }
            if i > 0 {
                let prev = &keys[i - 1].fingerprint;
                if prev == &k.fingerprint {
                    out.push(format!(
                        "{at}: fingerprint {} is declared twice (PSD-009 §6.1.3)",
                        k.fingerprint
                    ));
                } else if prev > &k.fingerprint {
                    out.push(format!(
                        "{at}: keys are not sorted by fingerprint ({prev} before {}) (PSD-009 §6.1.3)",
                        k.fingerprint
                    ));
                }
            }
        }
        for (label, p) in [
            ("indexes.active", &self.indexes.active),
            ("indexes.archive", &self.indexes.archive),
        ] {
            if p.url.is_empty() {
                out.push(format!("repo.json {label}.url is empty (PSD-009 §6.1.5)"));
            }
            if p.signature_url.is_empty() {
                out.push(format!(
                    "repo.json {label}.signature_url is empty (PSD-009 §6.1.5)"
                ));
            }
        }
        out
    }
}

/// RFC 3339 with a `Z` suffix, as Unix seconds.
fn parse_utc(s: &str) -> Option<i64> {
    if !s.ends_with('Z') {
        return None;
    }
    OffsetDateTime::parse(s, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "56475aa75463474c0285df5dbf2bcab73da651358839e9b77481b2eab107708c";

    #[test]
    fn new_descriptor_matches_the_reference_bytes() {
        // Golden vector from the reference tool (behaviour notes §14).
        let got = Descriptor::new("test-repo", "", FP).to_bytes();
        let want = format!(
            "{{\"schema_version\":1,\"repo\":{{\"name\":\"test-repo\",\"description\":\"\",\"signing\":{{\"algorithm\":\"ed25519\",\"keys\":[{{\"fingerprint\":\"{FP}\",\"url\":\"/keys/{FP}.pub\",\"status\":\"active\"}}]}}}},\"indexes\":{{\"active\":{{\"url\":\"/index/active.json\",\"signature_url\":\"/index/active.json.sig\"}},\"archive\":{{\"url\":\"/index/archive.json\",\"signature_url\":\"/index/archive.json.sig\"}}}}}}\n"
        );
        assert_eq!(String::from_utf8(got).unwrap(), want);
        assert_eq!(want.len(), 466);
    }

    #[test]
    fn decoding_is_lenient_and_reencoding_drops_the_extras() {
        let text = format!(
            "{{\"schema_version\":1,\"extra\":[1,2],\"repo\":{{\"name\":\"r\",\"description\":null,\"signing\":{{\"algorithm\":\"ed25519\",\"keys\":[{{\"fingerprint\":\"{FP}\",\"url\":\"/k\",\"status\":\"active\",\"valid_until\":\"\"}}]}}}}}}"
        );
        let d = Descriptor::decode(text.as_bytes()).unwrap();
        assert_eq!(d.repo.description, "");
        assert_eq!(d.indexes, IndexPointers::default());
        let again = String::from_utf8(d.to_bytes()).unwrap();
        assert!(!again.contains("extra"));
        assert!(!again.contains("valid_until"));
    }

    #[test]
    fn decoding_keeps_types_strict() {
        for bad in [
            "{\"schema_version\":\"1\"}",
            "{\"schema_version\":1.5}",
            "{\"schema_version\":1e3}",
            "{\"schema_version\":1} x",
            "{\"repo\":{\"name\":1}}",
            "{\"schema_version\":1,\"schema_version\":1}",
        ] {
            assert!(Descriptor::decode(bad.as_bytes()).is_err(), "{bad}");
        }
    }

    #[test]
    fn validate_reports_every_broken_rule() {
        let mut d = Descriptor::new("", "", FP);
        d.schema_version = 2;
        d.repo.signing.algorithm = "rsa".into();
        d.repo.signing.keys[0].status = "transitioning".into();
        d.repo.signing.keys.push(KeyEntry {
            fingerprint: "00".repeat(32),
            url: String::new(),
            status: "retired".into(),
            valid_until: "tomorrow".into(),
        });
        let problems = d.validate().join("\n");
        for needle in [
            "schema_version is 2",
            "repo.name is empty",
            "\"rsa\"",
            "no key with status \"active\"",
            "without valid_until",
            "keys[1].url is empty",
            "\"retired\"",
            "\"tomorrow\"",
            "not sorted by fingerprint",
        ] {
            assert!(
                problems.contains(needle),
                "missing {needle:?} in\n{problems}"
            );
        }
        assert!(Descriptor::new("ok", "", FP).validate().is_empty());
    }
}
