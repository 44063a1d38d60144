//! Throughput of the primitives the archive layer is built from, on this
//! machine: SHA-256 (sha2), zstd decompression, and zstd compression at a
//! few levels, all single-threaded on the synthetic data mix.
//!
//! `cargo run --release -p peipkg-bench --bin bench-primitives`
#![forbid(unsafe_code)]

use peipkg_bench::synthetic::Rng;
use sha2::{Digest, Sha256};
use std::time::Instant;

fn main() {
    let n = 64 << 20;
    let mut rng = Rng::new(7);
    let mut data = Vec::with_capacity(n);
    while data.len() < n {
        // 2:2:1 text-like, record-like, random, in 64 KiB runs.
        let kind = rng.below(5);
        for _ in 0..8192 {
            let v = rng.next_u64();
            let word = match kind {
                0 | 1 => *b"payload ",
                2 | 3 => [(v & 0xff) as u8, 0, 0, 0, 0x40, 0, 1, 0],
                _ => v.to_le_bytes(),
            };
            data.extend_from_slice(&word);
        }
    }
    data.truncate(n);
    let mb = n as f64 / 1e6;
    let t = Instant::now();
    let h = Sha256::digest(&data);
    println!(
        "sha256: {:.0} MB/s ({:02x})",
        mb / t.elapsed().as_secs_f64(),
        h[0]
    );
    for level in [1, 3, 9, 12, 19] {
        let t = Instant::now();
        let z = zstd::bulk::compress(&data, level).expect("compress");
        let c = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut out = Vec::with_capacity(n);
        zstd::stream::copy_decode(z.as_slice(), &mut out).expect("decode");
        let d = t.elapsed().as_secs_f64();
        println!(
            "zstd level {level}: compress {:.0} MB/s, ratio {:.3}, decompress {:.0} MB/s",
            mb / c,
            z.len() as f64 / n as f64,
            mb / d
        );
    }
}
