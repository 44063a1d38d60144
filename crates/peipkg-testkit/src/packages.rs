//! Package manifests and payload bytes for tests and benchmarks that need
//! real packages but do not care what they describe.

use std::path::Path;

use peipkg_format::archive::{write_package, PackOptions, PayloadEntry};
use peipkg_format::documents::{BuildInfo, Manifest};
use peipkg_format::keys::SigningKey;

/// A valid manifest with no relations: only the identity and the build
/// time vary between test packages, so everything else is fixed here once.
pub fn manifest(name: &str, version: &str, arch: &str, built_at: &str) -> Manifest {
    Manifest {
        schema_version: 1,
        name: name.into(),
        version: version.into(),
        architecture: arch.into(),
        description: format!("{name} test package"),
        license: "MIT".into(),
        homepage: "https://example.org".into(),
        dependencies: vec![],
        optional_dependencies: vec![],
        conflicts: vec![],
        provides: vec![],
        replaces: vec![],
        side_effects: vec![],
        size_installed: 0,
        sd_overrides: vec![],
        build: BuildInfo {
            timestamp: built_at.into(),
            farm_id: "test-farm".into(),
            source_ref: format!("test://{name}"),
        },
    }
}

/// Pseudo-random bytes: incompressible, so sizes on disk are honest, and
/// reproducible from `seed`, so runs compare.
pub fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// Writes the package of `m` to `out`: the payload is `entries`, their
/// contents read from `root`; signed by `key` when there is one. The level
/// is the farm's default, so test packages look like real ones.
pub fn write(
    m: &Manifest,
    entries: Vec<PayloadEntry>,
    root: &Path,
    key: Option<&SigningKey>,
    out: &Path,
) {
    let opts = PackOptions {
        zstd_level: 3,
        signing_key: key.cloned(),
    };
    write_package(m, entries, root, &opts, out)
        .unwrap_or_else(|e| panic!("write test package {}: {e}", out.display()));
}
