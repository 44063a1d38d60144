//! A JSON document decoder (and, for what decodes, validation and the
//! canonical re-encoding) on arbitrary bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = peipkg_format::repository::descriptor::Descriptor::decode(data).map(|d| d.to_bytes());
});
