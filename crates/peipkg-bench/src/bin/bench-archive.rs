//! Write and verify benchmark for the archive layer (issue: foundation).
//!
//! `cargo run --release -p peipkg-bench --bin bench-archive -- [--size-mib N]
//! [--files N] [--levels 1,3,9] [--workdir DIR]` generates the synthetic
//! tree once, then for each zstd level writes a signed package and verifies
//! it, each in its own child process, and prints a Markdown table.

use anyhow::{bail, Result};
use peipkg_bench::cli;
use peipkg_bench::measure::run_measured;
use peipkg_bench::synthetic::{write_tree, TreeSpec};
use peipkg_bench::walk::walk;
use peipkg_cli::FlagSet;
use peipkg_format::archive::{verify_package, write_package, PackOptions, VerifyOptions};
use peipkg_format::documents::Manifest;
use peipkg_format::keys::SigningKey;
use std::path::Path;
use std::process::Command;

const SEED: [u8; 32] = [0x5a; 32];

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("worker") {
        return worker(&args[1..]);
    }
    let mut f = FlagSet::new("bench-archive", "[flags]");
    f.about("Write and verify a signed package of the synthetic tree at each zstd level.");
    cli::number_flag(&mut f, "size-mib", "payload size in MiB", "256");
    cli::number_flag(&mut f, "files", "number of payload files", "3000");
    cli::list_flag(
        &mut f,
        "levels",
        "zstd levels, comma-separated",
        "1,3,6,9,12,15,19",
    );
    cli::workdir_flag(&mut f, "scratch directory");
    let m = cli::parse(&f, &args);
    let size_mib: u64 = cli::value(&f, &m, "size-mib");
    let files: u64 = cli::value(&f, &m, "files");
    let levels: Vec<i32> = cli::list(&f, &m, "levels");
    let workdir = cli::path(&m, "workdir");
    let tmp = tempfile::tempdir_in(workdir.unwrap_or_else(std::env::temp_dir))?;
    let tree = tmp.path().join("tree");
    std::fs::create_dir(&tree)?;
    let stats = write_tree(
        &tree,
        &TreeSpec {
            total_bytes: size_mib << 20,
            files,
            symlinks: 16,
            seed: 1,
        },
    )?;
    let payload_mb = stats.bytes as f64 / 1e6;
    println!(
        "payload: {} files, {} symlinks, {:.1} MB; machine: {} cores",
        stats.files,
        stats.symlinks,
        payload_mb,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!();
    println!("| zstd level | write wall s | write CPU s | write MB/s (wall) | write peak RSS MiB | package bytes | verify wall s | verify CPU s | verify MB/s (CPU) | verify peak RSS MiB |");
    println!("|---|---|---|---|---|---|---|---|---|---|");
    let exe = std::env::current_exe()?;
    for level in levels {
        let pkg = tmp.path().join(format!("synth-{level}.peipkg"));
        let w = run_measured(
            Command::new(&exe)
                .args(["worker", "write", &level.to_string()])
                .arg(&tree)
                .arg(&pkg),
        )?;
        let size = std::fs::metadata(&pkg)?.len();
        let v = run_measured(Command::new(&exe).args(["worker", "verify"]).arg(&pkg))?;
        println!(
            "| {level} | {:.2} | {:.2} | {:.0} | {:.1} | {size} | {:.2} | {:.2} | {:.0} | {:.1} |",
            w.wall_s,
            w.cpu_s,
            payload_mb / w.wall_s,
            w.max_rss_mib,
            v.wall_s,
            v.cpu_s,
            payload_mb / v.cpu_s,
            v.max_rss_mib
        );
        std::fs::remove_file(&pkg)?;
    }
    Ok(())
}

fn worker(args: &[String]) -> Result<()> {
    let key = SigningKey::from_seed(&SEED);
    match args {
        [op, level, tree, out] if op == "write" => {
            let entries = walk(Path::new(tree))?;
            let manifest = Manifest::decode(
                br#"{"schema_version":1,"name":"synth","version":"1.0-1","architecture":"x86_64","dependencies":[],"conflicts":[],"size_installed":0,"build":{"timestamp":"2026-05-06T12:00:00Z","farm_id":"bench","source_ref":"bench://synthetic"}}"#,
            )?;
            let opts = PackOptions {
                zstd_level: level.parse()?,
                signing_key: Some(key),
            };
            write_package(&manifest, entries, Path::new(tree), &opts, Path::new(out))?;
        }
        [op, pkg] if op == "verify" => {
            let opts = VerifyOptions {
                trusted_keys: vec![key.public_key()],
                require_signature: true,
                ..Default::default()
            };
            verify_package(Path::new(pkg), &opts)?;
        }
        _ => bail!("bad worker arguments {args:?}"),
    }
    Ok(())
}
