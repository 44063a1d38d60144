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
    /// How `bytes` splits between the three kinds of content, so a
    /// benchmark can show its mix.
    pub text_bytes: u64,
    pub record_bytes: u64,
    pub random_bytes: u64,
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

/// What the text and record files hold. Both profiles have the same tree
/// shape, file sizes and 2:2:1 mix; they differ in how compressible the
/// text and records are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Content {
    /// The original content (what [`write_tree`] writes; earlier benchmark
    /// tables were made with it). Its records carry about 26 random bits
    /// per 16 bytes, so a tree compresses to about 0.45 of its size at zstd
    /// level 3, much worse than the reference's W2 (0.36).
    Original,
    /// Content calibrated so that whole trees compress like the reference's
    /// W2 (shared/reference/baseline.md) at every zstd level it lists:
    /// records come from a small set of field values, as real tables do.
    W2,
}

/// Write the tree under `root` (which must exist). File sizes vary around
/// the mean; kinds rotate 2:2:1 text, records, random.
pub fn write_tree(root: &Path, spec: &TreeSpec) -> io::Result<TreeStats> {
    write_tree_with(root, spec, Content::Original)
}

/// [`write_tree`] with a choice of content.
pub fn write_tree_with(root: &Path, spec: &TreeSpec, content: Content) -> io::Result<TreeStats> {
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
                2 | 3 if content == Content::W2 => records_w2(&mut rng, &mut buf, chunk),
                2 | 3 => records(&mut rng, &mut buf, chunk),
                _ => random(&mut rng, &mut buf, chunk),
            }
            f.write_all(&buf)?;
            left -= chunk as u64;
        }
        f.flush()?;
        match kind {
            0 | 1 => stats.text_bytes += size,
            2 | 3 => stats.record_bytes += size,
            _ => stats.random_bytes += size,
        }
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

/// Records whose fields mostly repeat a few values (ids counting up, a type
/// from a short table, offsets that are usually tiny), as real tables do.
/// The three knobs below were tuned until whole W2 trees compressed like
/// the reference's W2 at zstd levels 3 to 15 (docs/BENCHMARKS.md); changing
/// them (or the draws, even `below(1)`) changes every W2 tree.
fn records_w2(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    const TYPES: [u32; 8] = [
        0x11,
        0x12,
        0x22,
        0x30,
        0x7f01,
        0x7f02,
        0x1_0000,
        0x4000_0001,
    ];
    let mut id = rng.below(1000) as u32;
    while out.len() < n {
        id = id.wrapping_add(1 + rng.below(2) as u32);
        out.extend_from_slice(&id.to_le_bytes());
        out.extend_from_slice(&TYPES[rng.below(TYPES.len() as u64) as usize].to_le_bytes());
        let off = if rng.below(W2_WIDE_OFFSET_ONE_IN) == 0 {
            rng.below(1 << 16)
        } else {
            rng.below(W2_NARROW_OFFSETS)
        } as u32;
        out.extend_from_slice(&off.to_le_bytes());
        let flags = 0x4000_0000u32 | rng.below(W2_FLAG_VALUES) as u32;
        out.extend_from_slice(&flags.to_le_bytes());
    }
    out.truncate(n);
}
/// One record in this many has a wide (16-bit) offset.
const W2_WIDE_OFFSET_ONE_IN: u64 = 64;
/// How many distinct values the other offsets take.
const W2_NARROW_OFFSETS: u64 = 2;
/// How many distinct flag words records carry.
const W2_FLAG_VALUES: u64 = 1;

fn random(rng: &mut Rng, out: &mut Vec<u8>, n: usize) {
    while out.len() < n {
        out.extend_from_slice(&rng.next_u64().to_le_bytes());
    }
    out.truncate(n);
}
