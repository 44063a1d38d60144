//! What the build sandbox costs per build (issue #13): the real
//! `peipkg-build build` of the same recipe with `--sandbox none` and with
//! `--sandbox bwrap`, alternated run by run so machine noise hits both.
//!
//! ```text
//! cargo build --release -p peipkg-build -p peipkg-bench
//! target/release/bench-sandbox [--peipkg-build PATH] [--runs 7] [--workloads tiny,small,large]
//!     [--zstd-level 11] [--workdir DIR]
//! ```
//!
//! `tiny` (4 files, 4 KiB) shows the fixed cost per build; `small` is
//! bench-build's small tree (8 MiB, 200 files), `large` its
//! W2-sized one (256 MiB, 3,000 files, W2-calibrated content); the recipe
//! copies the source into `DESTDIR`, as bench-build's does. Both modes
//! must produce the same bytes (checked). Medians of wall and CPU seconds
//! (CPU includes the build script and bubblewrap, which are waited for).

use anyhow::{bail, ensure, Context, Result};
use peipkg_bench::cli;
use peipkg_bench::measure::{run_measured, Usage};
use peipkg_bench::synthetic::{write_tree_with, Content, TreeSpec};
use peipkg_cli::{FlagKind, FlagSet};
use sha2::{Digest, Sha256};
use std::fs;
use std::process::{Command, Stdio};

const RECIPE: &str = "[meta]\nlicense = \"MIT\"\nhomepage = \"https://example.org/synth\"\nbuild_script = \"build.sh\"\n\n[[package]]\nname = \"synth\"\narchitecture = \"x86_64\"\ndescription = \"synthetic benchmark payload\"\nfiles = [\"usr/**\"]\n";
const BUILD_SH: &str = "#!/bin/sh\nset -e\ncp -a \"$SOURCE_DIR\"/. \"$DESTDIR\"/\n";

fn spec(name: &str) -> Result<TreeSpec> {
    Ok(match name {
        "tiny" => TreeSpec {
            total_bytes: 4 << 10,
            files: 4,
            symlinks: 0,
            seed: 1,
        },
        "small" => TreeSpec {
            total_bytes: 8 << 20,
            files: 200,
            symlinks: 4,
            seed: 1,
        },
        "large" => TreeSpec {
            total_bytes: 256 << 20,
            files: 3000,
            symlinks: 16,
            seed: 1,
        },
        other => bail!("unknown workload {other:?} (tiny, small, large)"),
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() -> Result<()> {
    let mut f = FlagSet::new("bench-sandbox", "[flags]");
    f.about("peipkg-build build with --sandbox none and --sandbox bwrap, alternated run by run.");
    f.flag(
        "peipkg-build",
        FlagKind::String,
        "the binary to measure (default: next to this one)",
    )
    .value_name("PATH");
    cli::number_flag(&mut f, "runs", "runs per mode", "7");
    cli::list_flag(
        &mut f,
        "workloads",
        "tiny, small, large, comma-separated",
        "tiny,small,large",
    );
    cli::number_flag(&mut f, "zstd-level", "passed to peipkg-build", "11");
    cli::workdir_flag(&mut f, "scratch directory");
    let m = cli::parse_args(&f);
    let bin = cli::path(&m, "peipkg-build");
    let runs: usize = cli::value(&f, &m, "runs");
    let workloads: Vec<String> = cli::list(&f, &m, "workloads");
    let level = m.string("zstd-level").unwrap_or("11").to_string();
    let workdir = cli::path(&m, "workdir");
    ensure!(runs > 0, "--runs must be at least 1");
    let bin = match bin {
        Some(b) => b,
        None => std::env::current_exe()?
            .parent()
            .context("no directory for the current executable")?
            .join("peipkg-build"),
    };
    let scratch = match &workdir {
        Some(d) => tempfile::tempdir_in(d)?,
        None => tempfile::tempdir()?,
    };
    println!("| workload | runs | none: wall s | bwrap: wall s | wall overhead | none: CPU s | bwrap: CPU s | same bytes |");
    println!("|---|---|---|---|---|---|---|---|");
    for name in &workloads {
        let root = scratch.path().join(name);
        fs::create_dir_all(root.join("recipe"))?;
        fs::write(root.join("recipe/peipkg.toml"), RECIPE)?;
        fs::write(root.join("recipe/build.sh"), BUILD_SH)?;
        write_tree_with(&root.join("source"), &spec(name)?, Content::W2)?;
        let tmp = root.join("tmp");
        fs::create_dir_all(&tmp)?;
        let mut usage: [Vec<Usage>; 2] = [Vec::new(), Vec::new()];
        let mut digests: Vec<Vec<u8>> = Vec::new();
        for run in 0..runs {
            for (i, mode) in ["none", "bwrap"].into_iter().enumerate() {
                let out = root.join(format!("out-{mode}-{run}"));
                let u = run_measured(
                    Command::new(&bin)
                        .arg("build")
                        .arg("--recipe")
                        .arg(root.join("recipe/peipkg.toml"))
                        .arg("--source")
                        .arg(root.join("source"))
                        .args(["--version", "1.0-1", "--source-ref", "bench://synthetic"])
                        .args(["--farm-id", "bench", "--timestamp", "2026-05-06T12:00:00Z"])
                        .arg("--out")
                        .arg(&out)
                        .args(["--zstd-level", &level, "--sandbox", mode])
                        .env("TMPDIR", &tmp)
                        .stdout(Stdio::null())
                        .stderr(Stdio::null()),
                )?;
                usage[i].push(u);
                let pkg = fs::read_dir(&out)?
                    .next()
                    .context("no package written")??
                    .path();
                digests.push(Sha256::digest(fs::read(&pkg)?).to_vec());
                fs::remove_dir_all(&out)?;
            }
        }
        let same = digests.windows(2).all(|w| w[0] == w[1]);
        let wall = |i: usize| median(usage[i].iter().map(|u| u.wall_s).collect());
        let cpu = |i: usize| median(usage[i].iter().map(|u| u.cpu_s).collect());
        println!(
            "| {name} | {runs} | {:.3} | {:.3} | {:+.3} s ({:+.1}%) | {:.3} | {:.3} | {} |",
            wall(0),
            wall(1),
            wall(1) - wall(0),
            (wall(1) / wall(0) - 1.0) * 100.0,
            cpu(0),
            cpu(1),
            if same { "yes" } else { "NO" }
        );
        ensure!(same, "{name}: sandboxed and unsandboxed packages differ");
        let _ = fs::remove_dir_all(&root);
    }
    Ok(())
}
