//! End-to-end benchmark of the real `peipkg-build build` (issue #3 item 7),
//! and the data behind the default zstd level (item 5).
//!
//! ```text
//! cargo build --release -p peipkg-build -p peipkg-bench
//! target/release/bench-build [--peipkg-build PATH] [--workloads small,large,many]
//!     [--levels 1,3,6,9,10,11,12,13,14,15,19] [--runs 3] [--workdir DIR]
//!     [--breakdown-levels 1,9,10,11] [--memory-levels 10,11,12,13]
//!     [--memory-variants writer,writer1,nocap,hlog21,defaultjobs,single,wlog21]
//! target/release/bench-build --tar FILE.tar [--memory-levels ...] [--memory-variants ...]
//! ```
//!
//! With `--tar`, only the memory table runs, on that tar (a check that a
//! zstd parameter change holds on real files, not only on synthetic ones).
//!
//! For each workload the synthetic tree (W2-calibrated content) becomes a
//! real recipe input: a recipe directory (`peipkg.toml` claiming `usr/**`,
//! and a `build.sh` that copies `$SOURCE_DIR` into `$DESTDIR`) and a source
//! directory holding the tree. The real binary then builds a signed package
//! once per level, in a child process, `--runs` times; tables show medians.
//! Whole-process figures include the build script, as the reference's did.
//!
//! The breakdown splits the build into its serial stages (the script's copy;
//! walking, hashing and writing the payload tar; zstd alone on the exact tar
//! the build compresses, with the writer's zstd parameters, which is checked
//! by comparing bytes with the built package) to show which stage bounds
//! wall time. The memory table runs zstd alone with other worker counts and
//! parameter caps, to show where peak RSS comes from and what lowers it.
//!
//! Hidden `worker ...` subcommands are the measured children; the
//! reproducibility test drives `worker tree` and `worker pack` too.

use anyhow::{bail, ensure, Context, Result};
use peipkg_bench::cli;
use peipkg_bench::measure::{run_measured, Usage};
use peipkg_bench::synthetic::{write_tree_with, Content, TreeSpec, TreeStats};
use peipkg_bench::walk::walk;
use peipkg_cli::{FlagKind, FlagSet};
use peipkg_format::archive::writer::{cmp_wire, spool_payload};
use peipkg_format::archive::{write_package, zstd_encoder, PackOptions};
use peipkg_format::documents::FilesManifestWriter;
use peipkg_format::documents::Manifest;
use peipkg_format::keys::SigningKey;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The reference's W2 figures (shared/reference/baseline.md).
const REF_WALL_S: f64 = 8.44;
const REF_CPU_S: f64 = 9.17;
const REF_RSS_MIB: f64 = 109.0;
const REF_BYTES: u64 = 90_866_907;
/// Peak RSS the build must stay under at any tree size (issue #3).
const RSS_TARGET_MIB: f64 = 64.0;

const TIMESTAMP: &str = "2026-05-06T12:00:00Z";
/// The benchmark's signing key, as a raw Ed25519 seed.
const BENCH_KEY_SEED: [u8; 32] = [0x5a; 32];
const MTIME: u64 = 1_778_068_800; // TIMESTAMP as Unix seconds

struct Workload {
    name: &'static str,
    spec: TreeSpec,
}

/// `small` and `large` are issue #3's workloads (`large` mirrors W2);
/// `many` (opt-in) shows how memory grows with the number of files.
const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "small",
        spec: TreeSpec {
            total_bytes: 8 << 20,
            files: 200,
            symlinks: 4,
            seed: 1,
        },
    },
    Workload {
        name: "large",
        spec: TreeSpec {
            total_bytes: 256 << 20,
            files: 3000,
            symlinks: 16,
            seed: 1,
        },
    },
    Workload {
        name: "many",
        spec: TreeSpec {
            total_bytes: 100 << 20,
            files: 99_900,
            symlinks: 16,
            seed: 1,
        },
    },
];

const RECIPE: &str = "[meta]\n\
license = \"MIT\"\n\
homepage = \"https://example.org/synth\"\n\
build_script = \"build.sh\"\n\
\n\
[[package]]\n\
name = \"synth\"\n\
architecture = \"x86_64\"\n\
description = \"synthetic benchmark payload\"\n\
files = [\"usr/**\"]\n";

const BUILD_SH: &str = "#!/bin/sh\nset -e\ncp -a \"$SOURCE_DIR\"/. \"$DESTDIR\"/\n";

struct Opts {
    peipkg_build: Option<PathBuf>,
    workloads: Vec<String>,
    levels: Vec<i32>,
    runs: usize,
    workdir: Option<PathBuf>,
    breakdown_levels: Vec<i32>,
    memory_levels: Vec<i32>,
    memory_variants: Vec<String>,
    /// Run only the memory table, on this tar (real files, say).
    tar: Option<PathBuf>,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        return worker(&args[1..]);
    }
    let opts = parse_opts(&args)?;
    if let Some(tar) = &opts.tar {
        print_machine();
        println!(
            "runs per figure: {} (medians); input: {}",
            opts.runs,
            tar.display()
        );
        let out = tempfile::Builder::new()
            .prefix("bench-build-")
            .tempdir_in(opts.workdir.clone().unwrap_or_else(std::env::temp_dir))?;
        let exe = std::env::current_exe()?;
        return memory_table(&opts, &exe, tar, &out.path().join("z.out"));
    }
    let bin = match &opts.peipkg_build {
        Some(p) => p.clone(),
        None => sibling_binary()?,
    };
    ensure!(
        bin.is_file(),
        "peipkg-build binary {} not found",
        bin.display()
    );
    let tmp = tempfile::Builder::new()
        .prefix("bench-build-")
        .tempdir_in(opts.workdir.clone().unwrap_or_else(std::env::temp_dir))?;
    // A fixed key (a raw 32-byte seed file, which peipkg-build accepts), so
    // package bytes are the same from one benchmark run to the next; a
    // fresh key per run changed the signature and so a few compressed bytes.
    let key = tmp.path().join("sign.key");
    {
        use std::os::unix::fs::OpenOptionsExt;
        fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&key)?
            .write_all(&BENCH_KEY_SEED)?;
    }

    print_machine();
    println!("peipkg-build: {}", bin.display());
    println!("runs per figure: {} (medians)", opts.runs);
    for w in WORKLOADS.iter() {
        if opts.workloads.iter().any(|n| n == w.name) {
            bench_workload(&opts, &bin, &key, tmp.path(), w)?;
        }
    }
    Ok(())
}

fn parse_opts(args: &[String]) -> Result<Opts> {
    let mut f = FlagSet::new("bench-build", "[flags]");
    f.about(
        "peipkg-build build of synthetic workloads at each zstd level; Markdown tables of medians.",
    );
    f.flag(
        "peipkg-build",
        FlagKind::String,
        "the binary to measure (default: next to this one)",
    )
    .value_name("PATH");
    cli::list_flag(
        &mut f,
        "workloads",
        "small, large, many, comma-separated",
        "small,large",
    );
    cli::list_flag(
        &mut f,
        "levels",
        "zstd levels, comma-separated",
        "1,3,6,9,10,11,12,13,14,15,19",
    );
    cli::number_flag(&mut f, "runs", "runs per figure", "3");
    cli::workdir_flag(&mut f, "scratch directory");
    f.flag(
        "tar",
        FlagKind::String,
        "run only the memory table, on this tar",
    )
    .value_name("FILE");
    cli::list_flag(
        &mut f,
        "breakdown-levels",
        "levels of the time breakdown",
        "1,9,10,11",
    );
    cli::list_flag(
        &mut f,
        "memory-levels",
        "levels of the memory table",
        "10,11,12,13",
    );
    cli::list_flag(
        &mut f,
        "memory-variants",
        "writer, writer1, nocap, hlog21, defaultjobs, single, wlog21",
        "writer,writer1,nocap,hlog21,single",
    );
    let m = cli::parse(&f, args);
    let o = Opts {
        peipkg_build: cli::path(&m, "peipkg-build"),
        workloads: cli::list(&f, &m, "workloads"),
        levels: cli::list(&f, &m, "levels"),
        runs: cli::value(&f, &m, "runs"),
        workdir: cli::path(&m, "workdir"),
        breakdown_levels: cli::list(&f, &m, "breakdown-levels"),
        memory_levels: cli::list(&f, &m, "memory-levels"),
        memory_variants: cli::list(&f, &m, "memory-variants"),
        tar: cli::path(&m, "tar"),
    };
    for k in &o.memory_variants {
        ensure!(
            MEMORY_VARIANTS.iter().any(|m| m.0 == k),
            "unknown memory variant {k:?} (writer, writer1, nocap, hlog21, defaultjobs, single, wlog21)"
        );
    }
    ensure!(o.runs >= 1, "--runs must be at least 1");
    for n in &o.workloads {
        ensure!(
            WORKLOADS.iter().any(|w| w.name == n),
            "unknown workload {n:?} (small, large, many)"
        );
    }
    let all = o
        .levels
        .iter()
        .chain(&o.breakdown_levels)
        .chain(&o.memory_levels);
    for &l in all {
        ensure!((1..=19).contains(&l), "level {l} outside 1..=19");
    }
    Ok(o)
}

/// `peipkg-build` built into the same target directory as this binary.
fn sibling_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let dir = exe.parent().context("bench binary has no directory")?;
    let p = dir.join("peipkg-build");
    ensure!(
        p.is_file(),
        "{} not found: run `cargo build --release -p peipkg-build` with the same \
         CARGO_TARGET_DIR, or pass --peipkg-build PATH",
        p.display()
    );
    Ok(p)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn print_machine() {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let load = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "machine: {} cores, {cpu}; load average at start: {}",
        cores(),
        load.trim()
    );
}

/// One level's build: medians, and the package's bytes and hash.
struct Built {
    usage: Usage,
    bytes: u64,
    sha256: String,
}

fn bench_workload(opts: &Opts, bin: &Path, key: &Path, tmp: &Path, w: &Workload) -> Result<()> {
    let root = tmp.join(w.name);
    let recipe = root.join("recipe");
    let source = root.join("source");
    fs::create_dir_all(&recipe)?;
    fs::create_dir_all(&source)?;
    fs::write(recipe.join("peipkg.toml"), RECIPE)?;
    fs::write(recipe.join("build.sh"), BUILD_SH)?;
    let stats = write_tree_with(&source, &w.spec, Content::W2)?;
    let payload_mb = stats.bytes as f64 / 1e6;
    println!();
    println!("## workload {}: {}", w.name, describe(&stats));
    println!();
    println!("`peipkg-build build`, signed, whole process (build script included):");
    println!();
    println!("| zstd level | wall s | CPU s | peak RSS MiB | package bytes | vs reference bytes | MB/s (wall) |");
    println!("|---|---|---|---|---|---|---|");
    let mut built = Vec::new();
    let mut first_pkg = None;
    for &level in &opts.levels {
        let b = build_level(opts, bin, key, tmp, &root, level, &mut first_pkg)
            .with_context(|| format!("workload {} level {level}", w.name))?;
        // Only the large workload mirrors W2, the reference's measurement.
        let vs_ref = if w.name == "large" {
            format!("{:+.1}%", 100.0 * (b.bytes as f64 / REF_BYTES as f64 - 1.0))
        } else {
            "n/a".to_string()
        };
        println!(
            "| {level} | {:.2} | {:.2} | {:.1} | {} | {vs_ref} | {:.0} |",
            b.usage.wall_s,
            b.usage.cpu_s,
            b.usage.max_rss_mib,
            b.bytes,
            payload_mb / b.usage.wall_s
        );
        built.push((level, b));
    }
    println!();
    println!(
        "reference (W2, 256 MiB): {REF_WALL_S} s wall, {REF_CPU_S} s CPU, {REF_RSS_MIB} MiB RSS, \
         {REF_BYTES} bytes; RSS target < {RSS_TARGET_MIB} MiB"
    );
    let wanted = !opts.breakdown_levels.is_empty() || !opts.memory_levels.is_empty();
    if let (Some(pkg), true) = (first_pkg, wanted) {
        breakdown(opts, &root, &source, &pkg, &built)?;
    }
    fs::remove_dir_all(&root)?;
    Ok(())
}

fn build_level(
    opts: &Opts,
    bin: &Path,
    key: &Path,
    tmp: &Path,
    root: &Path,
    level: i32,
    keep_first: &mut Option<PathBuf>,
) -> Result<Built> {
    let recipe = root.join("recipe/peipkg.toml");
    let source = root.join("source");
    let mut runs = Vec::new();
    let mut seen: Option<(u64, String)> = None;
    for run in 0..opts.runs {
        let out = root.join(format!("out-{level}-{run}"));
        let u = run_measured(
            Command::new(bin)
                .arg("build")
                .arg("--recipe")
                .arg(&recipe)
                .arg("--source")
                .arg(&source)
                .args(["--version", "1.0-1", "--source-ref", "bench://synthetic"])
                .args(["--farm-id", "bench", "--timestamp", TIMESTAMP])
                .arg("--out")
                .arg(&out)
                .arg("--sign-key")
                .arg(key)
                .args(["--zstd-level", &level.to_string()])
                .env("TMPDIR", tmp)
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
        )?;
        let pkg = only_package(&out)?;
        let now = (fs::metadata(&pkg)?.len(), sha256_file(&pkg)?);
        // Same inputs, same bytes: anything else is a reproducibility bug.
        if let Some(before) = &seen {
            ensure!(
                *before == now,
                "level {level}: package changed between runs ({before:?} then {now:?})"
            );
        }
        seen = Some(now);
        if keep_first.is_none() {
            let keep = root.join("first.peipkg");
            fs::rename(&pkg, &keep)?;
            *keep_first = Some(keep);
        }
        fs::remove_dir_all(&out)?;
        runs.push(u);
    }
    let (bytes, sha256) = seen.context("no runs")?;
    Ok(Built {
        usage: median(&runs),
        bytes,
        sha256,
    })
}

fn describe(s: &TreeStats) -> String {
    format!(
        "{} files, {} symlinks, {} directories, {:.1} MB ({:.0}% text, {:.0}% records, {:.0}% random)",
        s.files,
        s.symlinks,
        s.dirs,
        s.bytes as f64 / 1e6,
        pct(s.text_bytes, s.bytes),
        pct(s.record_bytes, s.bytes),
        pct(s.random_bytes, s.bytes)
    )
}

fn pct(part: u64, whole: u64) -> f64 {
    100.0 * part as f64 / whole.max(1) as f64
}

fn only_package(out: &Path) -> Result<PathBuf> {
    let mut found = Vec::new();
    for e in fs::read_dir(out).with_context(|| format!("read {}", out.display()))? {
        let p = e?.path();
        if p.extension().is_some_and(|x| x == "peipkg") {
            found.push(p);
        }
    }
    ensure!(
        found.len() == 1,
        "expected one package in {}, found {}",
        out.display(),
        found.len()
    );
    Ok(found.remove(0))
}

fn sha256_file(p: &Path) -> Result<String> {
    let mut f = fs::File::open(p).with_context(|| format!("open {}", p.display()))?;
    let mut sha = Sha256::new();
    io::copy(&mut f, &mut sha)?;
    Ok(hex_lower(&sha.finalize()))
}

fn hex_lower(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Median of each figure on its own.
fn median(runs: &[Usage]) -> Usage {
    let pick = |f: fn(&Usage) -> f64| {
        let mut v: Vec<f64> = runs.iter().map(f).collect();
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Usage {
        wall_s: pick(|u| u.wall_s),
        cpu_s: pick(|u| u.cpu_s),
        max_rss_mib: pick(|u| u.max_rss_mib),
    }
}

fn measured_median(runs: usize, mut make: impl FnMut() -> Command) -> Result<Usage> {
    let mut v = Vec::with_capacity(runs);
    for _ in 0..runs {
        v.push(run_measured(&mut make())?);
    }
    Ok(median(&v))
}

/// Stage-by-stage costs, each in its own child process.
fn breakdown(
    opts: &Opts,
    root: &Path,
    source: &Path,
    pkg: &Path,
    built: &[(i32, Built)],
) -> Result<()> {
    let exe = std::env::current_exe()?;
    // The exact uncompressed stream the build compresses. It is the same at
    // every level: nothing in it (the signature included) names the level.
    let tar = root.join("payload.tar");
    {
        let mut dec = zstd::stream::read::Decoder::new(fs::File::open(pkg)?)?;
        let mut out = BufWriter::new(fs::File::create(&tar)?);
        io::copy(&mut dec, &mut out)?;
        out.flush()?;
    }
    let tar_mb = fs::metadata(&tar)?.len() as f64 / 1e6;
    println!();
    println!(
        "Stages run alone (the build runs them one after another); the tar is {tar_mb:.1} MB; \
         zstd with the writer's own encoder (`zstd_encoder`, no overrides):"
    );
    println!();
    println!("| stage | wall s | CPU s | peak RSS MiB | output bytes |");
    println!("|---|---|---|---|---|");
    let copy_dst = root.join("copy");
    let u = measured_median(opts.runs, || {
        let _ = fs::remove_dir_all(&copy_dst);
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg("mkdir \"$2\" && cp -a \"$1\"/. \"$2\"/")
            .arg("sh")
            .arg(source)
            .arg(&copy_dst);
        c
    })?;
    let _ = fs::remove_dir_all(&copy_dst);
    println!(
        "| build script: `cp -a` of the tree | {:.2} | {:.2} | {:.1} | |",
        u.wall_s, u.cpu_s, u.max_rss_mib
    );
    let spool = root.join("spool.tar");
    let u = measured_median(opts.runs, || {
        let mut c = Command::new(&exe);
        c.args(["worker", "tar"]).arg(source).arg(&spool);
        c
    })?;
    println!(
        "| walk + SHA-256 + tar spool, no zstd | {:.2} | {:.2} | {:.1} | {} |",
        u.wall_s,
        u.cpu_s,
        u.max_rss_mib,
        fs::metadata(&spool)?.len()
    );
    fs::remove_file(&spool)?;
    let zout = root.join("z.out");
    for &level in &opts.breakdown_levels {
        // No overrides: the writer's own encoder; the byte comparison with
        // the built package below still guards against drift.
        let u = zstd_alone(opts.runs, &exe, level, "", &tar, &zout)?;
        let bytes = fs::metadata(&zout)?.len();
        // The package is the compressed tar, nothing else: equal bytes show
        // this stage did exactly the build's compression work.
        let same = match built.iter().find(|(l, _)| *l == level) {
            Some((_, b)) => {
                if b.bytes == bytes && b.sha256 == sha256_file(&zout)? {
                    "identical to the package"
                } else {
                    "DIFFERS from the package: writer parameters drifted"
                }
            }
            None => "",
        };
        println!(
            "| zstd level {level} alone | {:.2} | {:.2} | {:.1} | {bytes} {same} |",
            u.wall_s, u.cpu_s, u.max_rss_mib
        );
    }
    if !opts.memory_levels.is_empty() {
        memory_table(opts, &exe, &tar, &zout)?;
    }
    let _ = fs::remove_file(&zout);
    fs::remove_file(&tar)?;
    Ok(())
}

fn zstd_alone(
    runs: usize,
    exe: &Path,
    level: i32,
    params: &str,
    tar: &Path,
    out: &Path,
) -> Result<Usage> {
    measured_median(runs, || {
        let mut c = Command::new(exe);
        c.args(["worker", "zstd", &level.to_string(), params])
            .arg(tar)
            .arg(out);
        c
    })
    .with_context(|| format!("zstd level {level} {params}"))
}

/// `--memory-variants` keys, what they are, and the zstd parameters.
const MEMORY_VARIANTS: [(&str, &str, &str); 7] = [
    (
        "writer",
        "writer: 2 workers, 2 MiB jobs, table caps",
        "workers=2",
    ),
    (
        "writer1",
        "writer on 1 core: 1 worker, 2 MiB jobs, table caps",
        "workers=1",
    ),
    (
        "nocap",
        "2 workers, 2 MiB jobs, zstd's own tables",
        "workers=2,hlog=0,clog=0,wlog=0",
    ),
    (
        "hlog21",
        "2 workers, 2 MiB jobs, hash log 21",
        "workers=2,hlog=21",
    ),
    (
        "defaultjobs",
        "2 workers, zstd's jobs and tables",
        "workers=2,jobsize=0,hlog=0,clog=0,wlog=0",
    ),
    (
        "single",
        "single-threaded, zstd's tables",
        "workers=0,hlog=0,clog=0,wlog=0",
    ),
    (
        "wlog21",
        "2 workers, 2 MiB jobs, window 21, hash 20, chain 21",
        "workers=2,wlog=21,clog=21",
    ),
];

/// zstd alone with other worker counts and caps on its tables, to show
/// where memory goes and what each cap costs in bytes and time.
fn memory_table(opts: &Opts, exe: &Path, tar: &Path, zout: &Path) -> Result<()> {
    println!();
    println!("zstd alone on the same tar, memory variants (`wlog`/`hlog`/`clog` = window/hash/chain log caps):");
    println!();
    println!("| level | variant | wall s | CPU s | peak RSS MiB | output bytes |");
    println!("|---|---|---|---|---|---|");
    let variants = MEMORY_VARIANTS
        .iter()
        .filter(|(key, _, _)| opts.memory_variants.iter().any(|k| k == key));
    for &level in &opts.memory_levels {
        for (_, name, params) in variants.clone() {
            let u = zstd_alone(opts.runs, exe, level, params, tar, zout)?;
            println!(
                "| {level} | {name} | {:.2} | {:.2} | {:.1} | {} |",
                u.wall_s,
                u.cpu_s,
                u.max_rss_mib,
                fs::metadata(zout)?.len()
            );
        }
    }
    Ok(())
}

fn worker(args: &[String]) -> Result<()> {
    match args {
        [op, tree, out] if op == "tar" => tar_worker(Path::new(tree), Path::new(out)),
        [op, level, params, input, out] if op == "zstd" => zstd_worker(
            level
                .parse()
                .with_context(|| format!("bad level {level:?}"))?,
            params,
            Path::new(input),
            Path::new(out),
        ),
        [op, profile, bytes, files, symlinks, dir] if op == "tree" => {
            let spec = TreeSpec {
                total_bytes: bytes.parse().context("bad byte count")?,
                files: files.parse().context("bad file count")?,
                symlinks: symlinks.parse().context("bad symlink count")?,
                seed: 1,
            };
            let content = match profile.as_str() {
                "w2" => Content::W2,
                "original" => Content::Original,
                _ => bail!("unknown content {profile:?} (w2, original)"),
            };
            let stats = write_tree_with(Path::new(dir), &spec, content)?;
            println!("{}", describe(&stats));
            Ok(())
        }
        [op, level, tree, out] if op == "pack" => {
            let level = match level.as_str() {
                "default" => peipkg_format::archive::DEFAULT_ZSTD_LEVEL,
                n => n.parse().with_context(|| format!("bad level {n:?}"))?,
            };
            pack_worker(level, Path::new(tree), Path::new(out))
        }
        _ => bail!("bad worker arguments {args:?}"),
    }
}

/// Pass 1 of the writer, without zstd: walk, then the writer's own
/// `spool_payload` (hash every file, write the payload tar section and
/// files.json to spools with the writer's buffer sizes).
fn tar_worker(tree: &Path, out: &Path) -> Result<()> {
    let mut entries = walk(tree)?;
    entries.sort_unstable_by(cmp_wire);
    let mut spool = BufWriter::with_capacity(256 * 1024, fs::File::create(out)?);
    // The writer streams files.json entries to a second spool.
    let mut files = FilesManifestWriter::new(BufWriter::with_capacity(
        64 * 1024,
        fs::File::create(out.with_extension("files"))?,
    ))?;
    spool_payload(
        entries.into_iter().map(Ok::<_, std::io::Error>),
        tree,
        MTIME,
        &mut spool,
        &mut files,
        out,
    )?;
    spool.flush()?;
    files.finish()?.0.flush()?;
    Ok(())
}

/// Compress `input` with the writer's own encoder (level, checksum,
/// workers, job size, hash-log cap: `zstd_encoder`; 0 restores zstd's own
/// value of a parameter), with optional overrides: `workers`, `jobsize`, `wlog` (window), `hlog`
/// (hash table), `clog` (chain table), `slog` (search depth), `tlen` (target
/// length), `mml` (minimum match), `ovlog` (job overlap), `chunk` (write size), e.g.
/// `workers=2,jobsize=2097152,wlog=21`.
fn zstd_worker(level: i32, params: &str, input: &Path, out: &Path) -> Result<()> {
    use zstd::stream::raw::CParameter;
    let mut enc = zstd_encoder(
        BufWriter::with_capacity(256 * 1024, fs::File::create(out)?),
        level,
    )?;
    let mut chunk = 256 * 1024;
    for kv in params.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = kv
            .split_once('=')
            .with_context(|| format!("bad zstd parameter {kv:?}"))?;
        let n: u32 = v.parse().with_context(|| format!("bad value in {kv:?}"))?;
        match k {
            "workers" => enc.multithread(n)?,
            "wlog" => enc.set_parameter(CParameter::WindowLog(n))?,
            "clog" => enc.set_parameter(CParameter::ChainLog(n))?,
            "hlog" => enc.set_parameter(CParameter::HashLog(n))?,
            "jobsize" => enc.set_parameter(CParameter::JobSize(n))?,
            "ovlog" => enc.set_parameter(CParameter::OverlapSizeLog(n))?,
            "slog" => enc.set_parameter(CParameter::SearchLog(n))?,
            "tlen" => enc.set_parameter(CParameter::TargetLength(n))?,
            "mml" => enc.set_parameter(CParameter::MinMatch(n))?,
            "chunk" => chunk = n as usize,
            _ => bail!("unknown zstd parameter {k:?}"),
        }
    }
    let mut r = fs::File::open(input)?;
    let mut buf = vec![0u8; chunk.max(1)];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        enc.write_all(&buf[..n])?;
    }
    enc.finish()?.flush()?;
    Ok(())
}

/// Write a signed package with the library writer `peipkg-build` uses, and
/// say how many cores this process may run on (the writer's worker count
/// follows it), so a caller can tell that a CPU-affinity limit took effect.
fn pack_worker(level: i32, tree: &Path, out: &Path) -> Result<()> {
    println!("cores={}", cores());
    let manifest = Manifest::decode(
        br#"{"schema_version":1,"name":"synth","version":"1.0-1","architecture":"x86_64","dependencies":[],"conflicts":[],"size_installed":0,"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"bench","source_ref":"bench://synthetic"}}"#,
    )?;
    let opts = PackOptions {
        zstd_level: level,
        signing_key: Some(SigningKey::from_seed(&BENCH_KEY_SEED)),
    };
    write_package(&manifest, walk(tree)?, tree, &opts, out)?;
    Ok(())
}
