//! Raw `.peipkg` bytes (zstd and all) through the full verifier.
#![no_main]
use libfuzzer_sys::fuzz_target;
use peipkg_format::archive::{verify_reader, VerifyOptions};
use peipkg_format::keys::SigningKey;

fuzz_target!(|data: &[u8]| {
    let opts = VerifyOptions {
        trusted_keys: vec![SigningKey::from_seed(&[42u8; 32]).public_key()],
        // Keep each run bounded: a bomb must be refused, not decompressed.
        decompressed_cap: 64 << 20,
        ..Default::default()
    };
    let _ = verify_reader(data, &opts);
});
