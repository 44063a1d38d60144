//! The signature envelope (PSD-009 §5.1.3), used both as the package's
//! `.peipkg/signature` entry and as the detached `.sig` file next to
//! repository documents (DESIGN.md §2: the client reads one format for both).
//!
//! Decoding is strict on purpose: the spec makes the envelope the one
//! document where an unknown member must reject rather than be ignored.

use base64::engine::general_purpose::STANDARD_NO_PAD;
use base64::Engine;
use serde::{Deserialize, Serialize};

/// Largest envelope a consumer accepts (PSD-009 §3.2.8).
pub const MAX_ENVELOPE_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureEnvelope {
    pub schema_version: u32,
    pub algorithm: String,
    pub key_fingerprint: String,
    pub signature: String,
}

/// Why an envelope was refused. Each variant is one §5.3.3 condition or a
/// malformed field, so a caller can report exactly which.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EnvelopeError {
    #[error("signature envelope is {0} bytes, over the {MAX_ENVELOPE_BYTES}-byte limit (PSD-009 §3.2.8)")]
    TooLarge(usize),
    #[error("signature envelope does not parse (PSD-009 §5.3.3 condition 3): {0}")]
    Malformed(String),
    #[error("signature envelope schema_version is {0}, expected 1 (PSD-009 §5.3.3 condition 4)")]
    SchemaVersion(u32),
    #[error("signature envelope algorithm {0:?} is not supported, expected \"ed25519\" (PSD-009 §5.3.3 condition 5)")]
    Algorithm(String),
    #[error("signature envelope key_fingerprint {0:?} is not 64 lowercase hex characters (PSD-009 §5.2.3)")]
    Fingerprint(String),
    #[error("signature envelope signature is not base64 without padding of 64 bytes (PSD-009 §5.1.3): {0:?}")]
    SignatureEncoding(String),
}

impl SignatureEnvelope {
    pub fn new(key_fingerprint: String, signature: &[u8; 64]) -> Self {
        SignatureEnvelope {
            schema_version: 1,
            algorithm: "ed25519".to_string(),
            key_fingerprint,
            signature: STANDARD_NO_PAD.encode(signature),
        }
    }

    /// Canonical bytes, with the trailing newline.
    pub fn to_bytes(&self) -> Vec<u8> {
        crate::json::to_canonical_vec(self)
    }

    /// Strict decode: unknown members, a wrong schema version or algorithm,
    /// a malformed fingerprint or signature are all errors.
    pub fn decode(bytes: &[u8]) -> Result<(SignatureEnvelope, [u8; 64]), EnvelopeError> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(EnvelopeError::TooLarge(bytes.len()));
        }
        let env: SignatureEnvelope =
            serde_json::from_slice(bytes).map_err(|e| EnvelopeError::Malformed(e.to_string()))?;
        if env.schema_version != 1 {
            return Err(EnvelopeError::SchemaVersion(env.schema_version));
        }
        if env.algorithm != "ed25519" {
            return Err(EnvelopeError::Algorithm(env.algorithm));
        }
        if !is_sha256_hex(&env.key_fingerprint) {
            return Err(EnvelopeError::Fingerprint(env.key_fingerprint));
        }
        let raw = STANDARD_NO_PAD
            .decode(env.signature.as_bytes())
            .ok()
            .and_then(|v| <[u8; 64]>::try_from(v.as_slice()).ok())
            .ok_or_else(|| EnvelopeError::SignatureEncoding(env.signature.clone()))?;
        Ok((env, raw))
    }
}

/// A SHA-256 on the wire (fingerprints, file hashes): 64 lowercase hex digits.
pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FP: &str = "5a491c24f72d717f1f6c09620af2bbccc79513118c3919be7f86f64e825d0b68";

    #[test]
    fn round_trips_and_is_229_bytes() {
        let env = SignatureEnvelope::new(FP.into(), &[7u8; 64]);
        let bytes = env.to_bytes();
        assert_eq!(bytes.len(), 229);
        let (back, raw) = SignatureEnvelope::decode(&bytes).unwrap();
        assert_eq!(back, env);
        assert_eq!(raw, [7u8; 64]);
    }

    #[test]
    fn rejects_unknown_member() {
        let text = format!(
            "{{\"schema_version\":1,\"algorithm\":\"ed25519\",\"key_fingerprint\":\"{FP}\",\"signature\":\"x\",\"extra\":1}}"
        );
        assert!(matches!(
            SignatureEnvelope::decode(text.as_bytes()),
            Err(EnvelopeError::Malformed(m)) if m.contains("extra")
        ));
    }

    #[test]
    fn rejects_wrong_version_algorithm_and_encodings() {
        let mk = |v: u32, alg: &str, fp: &str, sig: &str| {
            format!("{{\"schema_version\":{v},\"algorithm\":\"{alg}\",\"key_fingerprint\":\"{fp}\",\"signature\":\"{sig}\"}}")
        };
        let good_sig = STANDARD_NO_PAD.encode([1u8; 64]);
        assert_eq!(
            SignatureEnvelope::decode(mk(2, "ed25519", FP, &good_sig).as_bytes()).unwrap_err(),
            EnvelopeError::SchemaVersion(2)
        );
        assert!(matches!(
            SignatureEnvelope::decode(mk(1, "rsa", FP, &good_sig).as_bytes()),
            Err(EnvelopeError::Algorithm(_))
        ));
        assert!(matches!(
            SignatureEnvelope::decode(mk(1, "ed25519", &FP.to_uppercase(), &good_sig).as_bytes()),
            Err(EnvelopeError::Fingerprint(_))
        ));
        let padded = base64::engine::general_purpose::STANDARD.encode([1u8; 64]);
        assert!(matches!(
            SignatureEnvelope::decode(mk(1, "ed25519", FP, &padded).as_bytes()),
            Err(EnvelopeError::SignatureEncoding(_))
        ));
        let short = STANDARD_NO_PAD.encode([1u8; 63]);
        assert!(matches!(
            SignatureEnvelope::decode(mk(1, "ed25519", FP, &short).as_bytes()),
            Err(EnvelopeError::SignatureEncoding(_))
        ));
    }
}
