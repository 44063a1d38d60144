//! The `peipkg-manager` binary: everything lives in the library.
fn main() {}
