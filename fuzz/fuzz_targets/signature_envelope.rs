//! A JSON document decoder (and, for what decodes, validation and the
//! canonical re-encoding) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = peipkg_format::documents::SignatureEnvelope::decode(data).map(|(e, _)| e.to_bytes());
});
