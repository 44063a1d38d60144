//! `binary-sign` on arbitrary bytes: never a panic; what signs must pass
//! the kernel's rule, keep the original bytes after the header, and refuse
//! a second signature; through a real file, an error leaves the file
//! byte-identical and nothing else in its directory.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peipkg_build::binary_sign::{sign_bytes, sign_file, verify::verify, BinSignError};
use peipkg_format::keys::SigningKey;

fuzz_target!(|data: &[u8]| {
    let key = SigningKey::from_seed(&[1u8; 32]);
    let in_memory = sign_bytes(data, &key);
    if let Ok(signed) = &in_memory {
        assert!(verify(signed.as_slice(), &key.public_key()).is_ok());
        assert_eq!(&signed[64..data.len()], &data[64..]);
        assert!(matches!(sign_bytes(signed, &key), Err(BinSignError::AlreadySigned)));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("input");
    std::fs::write(&path, data).expect("write input");
    let on_disk = sign_file(&path, &key);
    let after = std::fs::read(&path).expect("read back");
    let names = std::fs::read_dir(dir.path()).expect("list").count();
    assert_eq!(names, 1, "a temporary file was left behind");
    match (on_disk, in_memory) {
        (Ok(_), Ok(signed)) => assert!(after == signed, "file and memory signing differ"),
        (Err(_), Err(_)) => assert!(after == data, "input changed on error"),
        (a, b) => panic!("file and memory disagree: {:?} vs {:?}", a.err(), b.err()),
    }
});
