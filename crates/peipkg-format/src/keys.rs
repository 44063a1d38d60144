//! Ed25519 keys, fingerprints and detached signatures (PSD-009 §5.2,
//! DESIGN.md §2).
//!
//! Key files are whatever operators already have: a 32-byte raw seed or a
//! PEM PKCS#8 `PRIVATE KEY`; public keys as 32 raw bytes or PEM SPKI. Every
//! other form (OpenSSH, RSA, a 64-byte expanded key, hex text, an empty file)
//! is refused with an error that names the file and the accepted forms,
//! because "invalid key" alone sends people searching.
//!
//! Signatures are always Ed25519 over a SHA-256 digest: the package
//! signature over the tar bytes before `.peipkg/signature`, a detached `.sig`
//! over the exact bytes of the signed file.

use crate::documents::signature::{EnvelopeError, SignatureEnvelope};
use base64::Engine;
use ed25519_dalek::pkcs8::{self, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signer, Verifier};
use sha2::{Digest, Sha256};
use std::fmt;
use std::path::{Path, PathBuf};

const ACCEPTED_PRIVATE: &str =
    "expected a 32-byte raw Ed25519 seed or a PEM \"PRIVATE KEY\" (PKCS#8) block; \
     create one with `peipkg-build keygen --out FILE`";
const ACCEPTED_PUBLIC: &str =
    "expected 32 raw Ed25519 public-key bytes or a PEM \"PUBLIC KEY\" (SubjectPublicKeyInfo) block";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("read key {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("key {path}: {reason}; {accepted}")]
    Format {
        path: PathBuf,
        reason: String,
        accepted: &'static str,
    },
    #[error("write key {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("write key {path}: file already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
}

/// Reads a key file and parses it with `parse`; both kinds of key fail
/// the same way, naming the file and the forms `accepted`.
fn load_key<K>(
    path: &Path,
    parse: fn(&[u8]) -> Result<K, String>,
    accepted: &'static str,
) -> Result<K, KeyError> {
    let bytes = std::fs::read(path).map_err(|source| KeyError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse(&bytes).map_err(|reason| KeyError::Format {
        path: path.to_path_buf(),
        reason,
        accepted,
    })
}

/// Why a signature did not verify.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignatureError {
    #[error(transparent)]
    Envelope(#[from] EnvelopeError),
    #[error("signed by key {0}, which is not among the trusted keys (PSD-009 §5.3.3 condition 6)")]
    UnknownKey(String),
    #[error(
        "Ed25519 signature by key {0} does not match the signed bytes (PSD-009 §5.3.3 condition 7)"
    )]
    BadSignature(String),
}

/// A private signing key.
#[derive(Clone)]
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print secret material, even in debug output.
        write!(f, "SigningKey({})", self.public_key().fingerprint())
    }
}

impl SigningKey {
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        SigningKey {
            inner: ed25519_dalek::SigningKey::from_bytes(seed),
        }
    }

    /// A fresh key from the operating system's random source.
    pub fn generate() -> Self {
        SigningKey {
            inner: ed25519_dalek::SigningKey::generate(&mut rand_core::OsRng),
        }
    }

    pub fn load(path: &Path) -> Result<Self, KeyError> {
        load_key(path, Self::parse, ACCEPTED_PRIVATE)
    }

    /// Parse key file contents; the error is the reason without the path.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if let Ok(seed) = <[u8; 32]>::try_from(bytes) {
            return Ok(Self::from_seed(&seed));
        }
        if bytes.is_empty() {
            return Err("the file is empty".into());
        }
        let (label, der) = required_pem_block(bytes, "a raw seed")?;
        if label != "PRIVATE KEY" {
            let hint = match label.as_str() {
                "OPENSSH PRIVATE KEY" => " (an OpenSSH key: convert it with `ssh-keygen -p -m PKCS8 -f FILE`, or make a new one with keygen)",
                "RSA PRIVATE KEY" | "EC PRIVATE KEY" => " (not an Ed25519 key)",
                _ => "",
            };
            return Err(format!("PEM block type is {label:?}{hint}"));
        }
        let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice())
            .map_err(|e| format!("PKCS#8 PRIVATE KEY does not parse: {e}"))?;
        if info.algorithm.oid != pkcs8::ALGORITHM_OID {
            return Err(format!(
                "PKCS#8 key algorithm is {} (not Ed25519, 1.3.101.112)",
                info.algorithm.oid
            ));
        }
        let pair = pkcs8::KeypairBytes::try_from(info)
            .map_err(|e| format!("PKCS#8 Ed25519 key is malformed: {e}"))?;
        let inner = ed25519_dalek::SigningKey::try_from(&pair)
            .map_err(|e| format!("PKCS#8 Ed25519 key is inconsistent: {e}"))?;
        Ok(SigningKey { inner })
    }

    /// PEM PKCS#8 (version 1, seed only), the form OpenSSL and Go read.
    pub fn to_pkcs8_pem(&self) -> String {
        let pair = pkcs8::KeypairBytes {
            secret_key: self.inner.to_bytes(),
            public_key: None,
        };
        // Encoding 32 bytes into a fixed ASN.1 structure cannot fail.
        pair.to_pkcs8_pem(pkcs8::spki::der::pem::LineEnding::LF)
            .expect("PKCS#8 encoding of an Ed25519 seed")
            .to_string()
    }

    /// Write a new key file with mode 0600, refusing to replace one.
    pub fn write_new(&self, path: &Path) -> Result<(), KeyError> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    KeyError::Exists {
                        path: path.to_path_buf(),
                    }
                } else {
                    KeyError::Write {
                        path: path.to_path_buf(),
                        source,
                    }
                }
            })?;
        f.write_all(self.to_pkcs8_pem().as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(|source| KeyError::Write {
                path: path.to_path_buf(),
                source,
            })
    }

    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// Ed25519 over a 32-byte SHA-256 digest (the digest is the message).
    pub fn sign_digest(&self, digest: &[u8; 32]) -> [u8; 64] {
        self.inner.sign(digest).to_bytes()
    }

    /// The signature envelope for `digest`.
    pub fn envelope_for_digest(&self, digest: &[u8; 32]) -> SignatureEnvelope {
        SignatureEnvelope::new(self.public_key().fingerprint(), &self.sign_digest(digest))
    }
}

/// A public verifying key.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({})", self.fingerprint())
    }
}

impl PublicKey {
    pub fn load(path: &Path) -> Result<Self, KeyError> {
        load_key(path, Self::parse, ACCEPTED_PUBLIC)
    }

    /// 32 raw bytes, or a PEM `PUBLIC KEY` block.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if let Ok(raw) = <[u8; 32]>::try_from(bytes) {
            return Self::from_raw(&raw);
        }
        let (label, der) = required_pem_block(bytes, "a raw public key")?;
        if label != "PUBLIC KEY" {
            return Err(format!("PEM block type is {label:?}"));
        }
        let inner = ed25519_dalek::VerifyingKey::from_public_key_der(&der)
            .map_err(|e| format!("PUBLIC KEY is not an Ed25519 SubjectPublicKeyInfo: {e}"))?;
        Ok(PublicKey { inner })
    }

    pub fn from_raw(raw: &[u8; 32]) -> Result<Self, String> {
        ed25519_dalek::VerifyingKey::from_bytes(raw)
            .map(|inner| PublicKey { inner })
            .map_err(|_| "the 32 bytes are not a valid Ed25519 point".to_string())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.inner.as_bytes()
    }

    /// Lowercase hex SHA-256 of the raw key (PSD-009 §5.2.3).
    pub fn fingerprint(&self) -> String {
        hex::encode(Sha256::digest(self.inner.as_bytes()))
    }

    /// The PEM SPKI text a repository publishes as `keys/<fingerprint>.pub`.
    pub fn to_pem(&self) -> String {
        self.inner
            .to_public_key_pem(pkcs8::spki::der::pem::LineEnding::LF)
            .expect("SPKI encoding of an Ed25519 key")
    }

    pub fn verify_digest(&self, digest: &[u8; 32], signature: &[u8; 64]) -> bool {
        let sig = ed25519_dalek::Signature::from_bytes(signature);
        self.inner.verify(digest, &sig).is_ok()
    }
}

/// A fingerprint grouped in fours for people comparing it by eye (§5.2.3).
pub fn group_fingerprint(fp: &str) -> String {
    fp.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

/// The detached `.sig` envelope bytes for `signed_bytes`.
pub fn sign_detached(key: &SigningKey, signed_bytes: &[u8]) -> Vec<u8> {
    let digest: [u8; 32] = Sha256::digest(signed_bytes).into();
    key.envelope_for_digest(&digest).to_bytes()
}

/// Check a detached `.sig` against the exact bytes it signs; returns the
/// fingerprint of the key that signed.
pub fn verify_detached(
    sig_file: &[u8],
    signed_bytes: &[u8],
    keys: &[PublicKey],
) -> Result<String, SignatureError> {
    let digest: [u8; 32] = Sha256::digest(signed_bytes).into();
    verify_envelope(sig_file, &digest, keys)
}

/// Check envelope bytes against a digest and a set of trusted keys.
pub fn verify_envelope(
    envelope: &[u8],
    digest: &[u8; 32],
    keys: &[PublicKey],
) -> Result<String, SignatureError> {
    let (env, raw) = SignatureEnvelope::decode(envelope)?;
    let key = keys
        .iter()
        .find(|k| k.fingerprint() == env.key_fingerprint)
        .ok_or_else(|| SignatureError::UnknownKey(env.key_fingerprint.clone()))?;
    if key.verify_digest(digest, &raw) {
        Ok(env.key_fingerprint)
    } else {
        Err(SignatureError::BadSignature(env.key_fingerprint))
    }
}

/// The PEM block of a key file that is not the raw form; without one, the
/// error says how long the `raw` form would have been.
fn required_pem_block(bytes: &[u8], raw: &str) -> Result<(String, Vec<u8>), String> {
    pem_block(bytes).unwrap_or_else(|| {
        Err(format!(
            "{} bytes with no PEM block ({raw} is exactly 32 bytes)",
            bytes.len()
        ))
    })
}

/// The first PEM block in `bytes`: its label and decoded body. Text around
/// the block is ignored, as the reference tools do.
fn pem_block(bytes: &[u8]) -> Option<Result<(String, Vec<u8>), String>> {
    let text = String::from_utf8_lossy(bytes);
    let begin = text.find("-----BEGIN ")?;
    let after = &text[begin + "-----BEGIN ".len()..];
    let Some(label_end) = after.find("-----") else {
        return Some(Err("PEM BEGIN line is not terminated".into()));
    };
    let label = after[..label_end].to_string();
    let body_start = &after[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let Some(end) = body_start.find(&end_marker) else {
        return Some(Err(format!("PEM block {label:?} has no END line")));
    };
    let body: String = body_start[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    Some(
        base64::engine::general_purpose::STANDARD
            .decode(body.as_bytes())
            .map(|der| (label.clone(), der))
            .map_err(|e| format!("PEM block {label:?} body is not base64: {e}")),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_and_pem_give_the_same_key() {
        let k = SigningKey::from_seed(&[9u8; 32]);
        let pem = k.to_pkcs8_pem();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let back = SigningKey::parse(pem.as_bytes()).unwrap();
        assert_eq!(back.public_key(), k.public_key());
        let junk = format!("leading text\n{pem}trailing");
        assert_eq!(
            SigningKey::parse(junk.as_bytes()).unwrap().public_key(),
            k.public_key()
        );
    }

    #[test]
    fn wrong_forms_are_refused_with_reasons() {
        assert!(SigningKey::parse(b"").unwrap_err().contains("empty"));
        assert!(SigningKey::parse(&[1u8; 64])
            .unwrap_err()
            .contains("64 bytes"));
        let ssh = b"-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n";
        assert!(SigningKey::parse(ssh).unwrap_err().contains("OpenSSH"));
        let pubpem = SigningKey::from_seed(&[1; 32]).public_key().to_pem();
        assert!(SigningKey::parse(pubpem.as_bytes())
            .unwrap_err()
            .contains("PUBLIC KEY"));
    }

    #[test]
    fn detached_signatures_verify_and_detect_changes() {
        let k = SigningKey::from_seed(&[3u8; 32]);
        let sig = sign_detached(&k, b"hello");
        let keys = [k.public_key()];
        assert_eq!(
            verify_detached(&sig, b"hello", &keys).unwrap(),
            k.public_key().fingerprint()
        );
        assert!(matches!(
            verify_detached(&sig, b"hellO", &keys),
            Err(SignatureError::BadSignature(_))
        ));
        let other = [SigningKey::from_seed(&[4u8; 32]).public_key()];
        assert!(matches!(
            verify_detached(&sig, b"hello", &other),
            Err(SignatureError::UnknownKey(_))
        ));
    }

    #[test]
    fn public_key_pem_round_trip_and_grouping() {
        let p = SigningKey::from_seed(&[5u8; 32]).public_key();
        assert_eq!(PublicKey::parse(p.to_pem().as_bytes()).unwrap(), p);
        assert_eq!(PublicKey::parse(p.as_bytes()).unwrap(), p);
        let g = group_fingerprint(&p.fingerprint());
        assert_eq!(g.len(), 64 + 15);
    }
}
