//! The deterministic synthetic staged tree.

use std::io::{self, Write};
use std::path::Path;

/// xorshift64*: tiny, fast, and identical everywhere.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
}

#[derive(Debug, Clone, Copy)]
pub struct TreeSpec {
    pub total_bytes: u64,
    pub files: u64,
    pub symlinks: u64,
    pub seed: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct TreeStats {
    pub files: u64,
    pub dirs: u64,
    pub symlinks: u64,
    pub bytes: u64,
}

const WORDS: &[&str] = &[
    "the",
    "package",
    "build",
    "farm",
    "version",
    "signature",
    "index",
    "repository",
    "manifest",
    "payload",
    "archive",
    "compress",
    "directory",
    "symlink",
    "library",
    "static",
    "shared",
    "config",
    "install",
    "upgrade",
    "kernel",
    "driver",
    "function",
    "return",
    "struct",
    "const",
    "while",
    "error",
    "result",
    "option",
    "buffer",
    "stream",
    "header",
    "checksum",
    "timestamp",
];

/// Write the tree under `root` (which must exist). File sizes vary around
/// the mean; kinds rotate 2:2:1 text, records, random.
pub fn write_tree(root: &Path, spec: &TreeSpec) -> io::Result<TreeStats> {
    let mut rng = Rng::new(spec.seed);
    let mut stats = TreeStats::default();
    let mean = spec.total_bytes / spec.files.max(1);
    let mut remaining = spec.total_bytes;
    let mut dirs = Vec::new();
    let tops = [
        "usr/bin",
        "usr/share/synth",
        "usr/lib/x86_64-linux-peios/synth",
        "usr/include/synth",
    ];
    for (i, top) in tops.iter().enumerate() {
        for d in 0..8u64 {
            let depth = 1 + (d % 3);
            let mut p = top.to_string();
            if i > 0 {
                for k in 0..depth {
                    p.push_str(&format!("/d{d}-{k}"));
                }
            }
            std::fs::create_dir_all(root.join(&p))?;
            dirs.push(p);
        }
    }
    let mut buf = Vec::with_capacity(1 << 20);
    let mut file_paths = Vec::new();
    for i in 0..spec.files {
        let left_files = spec.files - i;
        let size = if left_files == 1 {
            remaining
        } else {
            // Between half and one and a half of the mean, bounded by what is left.
            (mean / 2 + rng.below(mean.max(1))).min(remaining)
        };
        remaining -= size;
        let dir = &dirs[(rng.below(dirs.len() as u64)) as usize];
        let rel = format!("{dir}/f{i:05}.dat");
        let mut f = io::BufWriter::with_capacity(1 << 20, std::fs::File::create(root.join(&rel))?);
        let kind = i % 5;
        let mut left = size;
        while left > 0 {
            buf.clear();
            let chunk = left.min(1 << 20) as usize;
            match kind {
                0 | 1 => text(&mut rng, &mut buf, chunk),
                2 | 3 => records(&mut rng, &mut buf, chunk),
                _ => random(&mut rng, &mut buf, chunk),
            }
            f.write_all(&buf)?;
            left -= chunk as u64;
        }
        f.flush()?;
        stats.files += 1;
        stats.bytes += size;
        file_paths.push(rel);
    }
    for s in 0..spec.symlinks.min(file_paths.len() as u64) {
        let target = &file_paths[(s * 7 % file_paths.len() as u64) as usize];
        let (tdir, tname) = target.rsplit_once('/').unwrap_or(("", target));
        let link = root.join(format!("{tdir}/link-{s}"));
        std::os::unix::fs::symlink(tname, link)?;
        stats.symlinks += 1;
    }
    stats.dirs = dirs.len() as u64;
    Ok(stats)
}

fn text(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    while out.len() < n {
        let w = WORDS[rng.below(WORDS.len() as u64) as usize];
        out.extend_from_slice(w.as_bytes());
        out.push(if rng.below(12) == 0 { b'\n' } else { b' ' });
    }
    out.truncate(n);
}

fn records(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    let mut id = rng.below(1000) as u32;
    while out.len() < n {
        id = id.wrapping_add(1 + rng.below(3) as u32);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&(rng.below(1 << 16) as u32).to_le_bytes());
        out.extend_from_slice(&[0u8; 4]);
        out.extend_from_slice(&(0x4000_0000u32 | rng.below(256) as u32).to_le_bytes());
    }
    out.truncate(n);
}

fn random(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    while out.len() < n {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(n);
}
