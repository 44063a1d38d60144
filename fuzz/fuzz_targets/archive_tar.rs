//! The fuzzer mutates the tar stream; we compress it and verify, so the
//! mutations reach the tar walker instead of dying in zstd's frame checks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peipkg_format::archive::{verify_reader, VerifyOptions};
use peipkg_format::keys::SigningKey;

fuzz_target!(|data: &[u8]| {
    let Ok(pkg) = zstd::bulk::compress(data, 1) else { return };
    let opts = VerifyOptions {
        trusted_keys: vec![SigningKey::from_seed(&[42u8; 32]).public_key()],
        decompressed_cap: 64 << 20,
        ..Default::default()
    };
    let _ = verify_reader(pkg.as_slice(), &opts);
});
