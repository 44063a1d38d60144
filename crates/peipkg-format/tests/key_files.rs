//! Key files as operators have them: what loads, and what fails with an
//! error that names the file and the accepted forms.

mod common;

use peipkg_format::keys::{KeyError, PublicKey, SigningKey};
use std::path::{Path, PathBuf};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name)
}

fn refused(path: &Path) -> String {
    let err = SigningKey::load(path).expect_err("must be refused");
    let text = err.to_string();
    assert!(
        text.contains(&path.display().to_string()),
        "error does not name the file: {text}"
    );
    text
}

#[test]
fn conformance_and_openssl_keys_load() {
    let k = common::test_key();
    assert_eq!(
        k.public_key().fingerprint(),
        "5a491c24f72d717f1f6c09620af2bbccc79513118c3919be7f86f64e825d0b68"
    );
    let public = PublicKey::load(&common::conformance_dir().join("keys/test-signing.pub")).unwrap();
    assert_eq!(public, k.public_key());
    SigningKey::load(&data("openssl-ed25519.pem")).unwrap();
}

#[test]
fn raw_seed_loads_and_other_sizes_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let seed = dir.path().join("seed");
    std::fs::write(&seed, [7u8; 32]).unwrap();
    assert_eq!(
        SigningKey::load(&seed).unwrap().public_key(),
        SigningKey::from_seed(&[7u8; 32]).public_key()
    );
    let blob = dir.path().join("blob");
    std::fs::write(&blob, [7u8; 64]).unwrap();
    let text = refused(&blob);
    assert!(
        text.contains("64 bytes") && text.contains("32-byte raw Ed25519 seed"),
        "{text}"
    );
    let newline = dir.path().join("seed-nl");
    std::fs::write(&newline, [[7u8; 32].as_slice(), b"\n"].concat()).unwrap();
    assert!(refused(&newline).contains("33 bytes"));
}

#[test]
fn wrong_key_kinds_are_named() {
    let text = refused(&data("rsa-pkcs8.pem"));
    assert!(
        text.contains("not Ed25519") && text.contains("1.2.840.113549.1.1.1"),
        "{text}"
    );
    let text = refused(&data("openssh-ed25519"));
    assert!(
        text.contains("OpenSSH") && text.contains("PRIVATE KEY"),
        "{text}"
    );
    let text = refused(&common::conformance_dir().join("keys/test-signing.pub"));
    assert!(text.contains("\"PUBLIC KEY\""), "{text}");
}

#[test]
fn empty_missing_and_unreadable_files_are_named() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, b"").unwrap();
    assert!(refused(&empty).contains("empty"));
    let missing = dir.path().join("missing");
    assert!(matches!(
        SigningKey::load(&missing),
        Err(KeyError::Read { .. })
    ));
    refused(&missing);
    // A directory cannot be read as a file, even by root.
    assert!(matches!(
        SigningKey::load(dir.path()),
        Err(KeyError::Read { .. })
    ));
}

#[test]
fn keygen_writes_a_private_file_and_never_overwrites() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.key");
    let k = SigningKey::generate();
    k.write_new(&path).unwrap();
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        SigningKey::load(&path).unwrap().public_key(),
        k.public_key()
    );
    let again = SigningKey::generate().write_new(&path);
    assert!(matches!(again, Err(KeyError::Exists { .. })));
    assert_eq!(
        SigningKey::load(&path).unwrap().public_key(),
        k.public_key()
    );
}
