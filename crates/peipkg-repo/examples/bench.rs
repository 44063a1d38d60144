//! Benchmark harness for `peipkg-repo` (results in docs/BENCHMARKS.md).
//!
//! Build and run (release):
//!
//! ```text
//! cargo build --release -p peipkg-repo --bins --examples
//! target/release/examples/bench [--sizes 1000,20000,100000] [--hash-mib 1024] [--big-mib 90] [--dir DIR]
//! ```
//!
//! For each size it generates a signed state whose archive holds that many
//! entries (one fifth as many names, five versions each, entries shaped
//! like real ones), then times the real binary: a first publish (which
//! also renders the whole browse site once), the steady-state publish of
//! one package, and `verify --mode metadata`. Wall time and peak RSS come
//! from `wait4` on each child. The hash stage is measured separately on
//! real packages totalling `--hash-mib` MiB, and on one `--big-mib` MiB
//! package, with one worker and with all, in the default file-hash mode
//! and with `--deep`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use peipkg_format::archive::{write_package, EntryKind, PackOptions, PayloadEntry};
use peipkg_format::documents::{BuildInfo, Manifest};
use peipkg_format::keys::SigningKey;
use peipkg_format::repository::{
    self, BuildSubset, Dependency, Descriptor, Hash, Index, IndexKind, PackageEntry, Provides,
};
use peipkg_repo::state::Rendered;
use peipkg_testkit::packages::{manifest, noise};

fn bin() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    exe.parent()
        .and_then(Path::parent)
        .map(|d| d.join("peipkg-repo"))
        .expect("target dir")
}

struct Measured {
    secs: f64,
    /// User + system CPU time: steadier than wall time on a shared machine.
    cpu: f64,
    max_rss_mib: f64,
    ok: bool,
}

/// Run the binary and measure it with wait4 (wall time, peak RSS).
// The child is reaped by wait4, which std's Child cannot do while also
// returning the child's own resource usage.
#[allow(clippy::zombie_processes)]
fn measure(args: &[&str]) -> Measured {
    let start = Instant::now();
    let child = Command::new(bin())
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .spawn()
        .expect("spawn peipkg-repo");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: an all-zero rusage is a valid value for wait4 to fill.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our child; the pointers are valid for the call.
    let rc = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(rc, pid, "wait4");
    let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    if !ok {
        eprintln!("peipkg-repo {args:?} failed (its error is above)");
    }
    drop(child);
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Measured {
        secs,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        max_rss_mib: ru.ru_maxrss as f64 / 1024.0,
        ok,
    }
}

fn key_file(dir: &Path) -> (PathBuf, SigningKey) {
    let seed = [0x5au8; 32];
    let path = dir.join("bench.key");
    fs::write(&path, seed).unwrap();
    (path, SigningKey::from_seed(&seed))
}

fn entry(name: &str, version: &str, i: usize) -> PackageEntry {
    PackageEntry {
        name: name.to_string(),
        version: version.to_string(),
        architecture: "x86_64".into(),
        description: format!("synthetic package {name} for the publish benchmark"),
        license: "MIT OR Apache-2.0".into(),
        homepage: format!("https://example.org/{name}"),
        dependencies: vec![
            Dependency {
                name: "libc".into(),
                constraint: ">= 2.36-1".into(),
                arch: String::new(),
            },
            Dependency {
                name: "zlib".into(),
                constraint: String::new(),
                arch: String::new(),
            },
        ],
        provides: vec![Provides {
            name: format!("{name}-abi"),
            version: "1.0-1".into(),
        }],
        side_effects: vec!["ldconfig".into()],
        size_compressed: 100_000 + i as u64,
        size_installed: 400_000 + i as u64,
        hash: Hash::sha256(&format!("{:064x}", i as u128 * 0x9e37_79b9_7f4a_7c15)),
        url: format!("/p/{name}/{version}/{name}_{version}_x86_64.peipkg"),
        build: BuildSubset {
            timestamp: "2026-01-01T00:00:00Z".into(),
            farm_id: "bench-farm".into(),
        },
        ..Default::default()
    }
}

/// A signed state with `n` archive entries.
fn generate(dir: &Path, key: &SigningKey, n: usize) {
    let names = n.div_ceil(5);
    let mut archive = Vec::with_capacity(n);
    let mut active = Vec::with_capacity(names);
    for k in 0..names {
        let name = format!("pkg{k:06}");
        for v in (0..5).rev() {
            if archive.len() == n {
                break;
            }
            let e = entry(&name, &format!("1.{v}-1"), archive.len());
            if v == 4 {
                active.push(e.clone());
            }
            archive.push(e);
        }
    }
    let fp = key.public_key().fingerprint();
    let d = Descriptor::new("bench", "benchmark repository", &fp);
    let ts = "2026-05-07T00:00:00Z";
    let a = Index::new(IndexKind::Active, "bench", 1, ts, active);
    let r = Index::new(IndexKind::Archive, "bench", 1, ts, archive);
    let rendered = Rendered::new(&d, key, &a, &r, key);
    for (rel, bytes) in &rendered.files {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, bytes).unwrap();
    }
    let kp = dir.join(repository::key_path(&fp));
    fs::create_dir_all(kp.parent().unwrap()).unwrap();
    fs::write(kp, key.public_key().to_pem()).unwrap();
    // The publish records a farm's own publishes leave (signer and file
    // list per package, and the signer ledger), which verify reads and the
    // site renders.
    let mut ledger = String::new();
    for e in &r.packages {
        ledger.push_str(&peipkg_repo::site::ledger_line(
            &e.label(),
            &e.hash.value,
            "verified",
            &fp,
        ));
        let rec = peipkg_repo::site::Record {
            name: e.name.clone(),
            version: e.version.clone(),
            architecture: e.architecture.clone(),
            sha256: e.hash.value.clone(),
            signature: "verified".into(),
            key_fingerprint: fp.clone(),
            checked_at: "2026-01-01T00:00:00Z".into(),
            files: (0..10)
                .map(|i| peipkg_repo::site::RecordFile {
                    path: format!("usr/lib/{}/file{i}.so", e.name),
                    kind: "file".into(),
                    size: 4096 * i,
                    target: String::new(),
                })
                .collect(),
        };
        let rp = dir.join(peipkg_repo::site::record_path(e));
        fs::create_dir_all(rp.parent().unwrap()).unwrap();
        fs::write(rp, peipkg_format::json::to_canonical_vec(&rec)).unwrap();
    }
    fs::write(dir.join(peipkg_repo::site::LEDGER), ledger).unwrap();
}

fn package(dir: &Path, key: &SigningKey, name: &str, version: &str, content: &[u8]) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let root = dir.join(format!(".src-{name}-{version}"));
    fs::create_dir_all(&root).unwrap();
    // Each package installs its own file (a batch, `--batch`, holds several),
    // under a destination the layout rules permit.
    let file = format!("usr/share/{name}.bin");
    fs::create_dir_all(root.join("usr/share")).unwrap();
    fs::write(root.join(&file), content).unwrap();
    let m = Manifest {
        description: "benchmark package".into(),
        homepage: String::new(),
        build: BuildInfo {
            timestamp: "2026-05-06T00:00:00Z".into(),
            farm_id: "bench-farm".into(),
            source_ref: "bench".into(),
        },
        ..manifest(name, version, "x86_64", "2026-05-06T00:00:00Z")
    };
    let out = dir.join(format!("{name}_{version}_x86_64.peipkg"));
    write_package(
        &m,
        vec![PayloadEntry {
            path: file,
            kind: EntryKind::File {
                size: content.len() as u64,
            },
        }],
        &root,
        &PackOptions {
            zstd_level: 1,
            signing_key: Some(key.clone()),
        },
        &out,
    )
    .unwrap();
    fs::remove_dir_all(root).unwrap();
    out
}

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn main() {
    let sizes: Vec<usize> = arg("--sizes")
        .unwrap_or_else(|| "1000,20000,100000".into())
        .split(',')
        .map(|s| s.parse().expect("size"))
        .collect();
    let keep = std::env::args().any(|a| a == "--keep");
    // Packages per publish (a farm's batch; default 1, as before).
    let batch: usize = arg("--batch").map_or(1, |s| s.parse().expect("batch"));
    let hash_mib: usize = arg("--hash-mib").map_or(1024, |s| s.parse().expect("MiB"));
    let base = arg("--dir")
        .map(PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join("peipkg-repo-bench"));
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(&base).unwrap();
    let (key_path, key) = key_file(&base);
    let kp = key_path.to_str().unwrap().to_string();
    println!("binary: {}", bin().display());
    println!("| archive entries | archive.json | first publish (renders site) | publish {batch} package(s): wall / CPU | peak RSS | verify --mode metadata: wall / CPU | peak RSS |");
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        let repo = base.join(format!("state-{n}"));
        generate(&repo, &key, n);
        let archive_mib =
            fs::metadata(repo.join("index/archive.json")).unwrap().len() as f64 / (1 << 20) as f64;
        let r = repo.to_str().unwrap().to_string();
        let publish_one = |i: usize, ts: &str| {
            let new = base.join(format!("new-{n}-{i}"));
            for k in 0..batch {
                let name = if batch == 1 {
                    "zzz-bench".to_string()
                } else {
                    format!("zzz-bench-{k}")
                };
                package(&new, &key, &name, &format!("{i}.0-1"), b"one small file\n");
            }
            let m = measure(&[
                "publish",
                "--in",
                &r,
                "--new",
                new.to_str().unwrap(),
                "--sign-key",
                &kp,
                "--timestamp",
                ts,
                "--out",
                &r,
            ]);
            assert!(m.ok);
            m
        };
        let first = publish_one(1, "2026-05-07T01:00:00Z");
        // Median of five steady-state publishes.
        let mut runs: Vec<Measured> = (2..7)
            .map(|i| publish_one(i, &format!("2026-05-07T0{i}:00:00Z")))
            .collect();
        runs.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
        let steady = &runs[2];
        let mut vruns: Vec<Measured> = (0..5)
            .map(|_| measure(&["verify", "--repo", &r, "--mode", "metadata"]))
            .collect();
        assert!(vruns.iter().all(|m| m.ok));
        vruns.sort_by(|a, b| a.cpu.total_cmp(&b.cpu));
        let v = &vruns[2];
        println!(
            "| {n} | {archive_mib:.1} MiB | {:.2} s | {:.3} s / {:.3} s | {:.0} MiB | {:.3} s / {:.3} s | {:.0} MiB |",
            first.secs, steady.secs, steady.cpu, steady.max_rss_mib, v.secs, v.cpu, v.max_rss_mib
        );
        if !keep {
            fs::remove_dir_all(&repo).unwrap();
        }
    }

    println!();
    println!("| verify --mode hashes | packages | data | wall | CPU | throughput |");
    println!("|---|---:|---:|---:|---:|---:|");
    // Many 16 MiB packages, and one big package (`--big-mib`, default 90).
    let big_mib: usize = arg("--big-mib").map_or(90, |s| s.parse().expect("MiB"));
    let workloads = [
        ("hash", 16usize, hash_mib.div_ceil(16)),
        ("big", big_mib, usize::from(big_mib > 0)),
    ];
    for (label, per, count) in workloads {
        if hash_mib == 0 && label == "hash" || count == 0 {
            continue;
        }
        let repo = base.join(format!("{label}-state"));
        ok_init(&repo, &kp);
        let new = base.join(format!("{label}-new"));
        for i in 0..count {
            package(
                &new,
                &key,
                &format!("{label}{i:04}"),
                "1.0-1",
                &noise(per << 20, i as u64 + 7),
            );
        }
        let r = repo.to_str().unwrap();
        assert!(
            measure(&[
                "publish",
                "--in",
                r,
                "--new",
                new.to_str().unwrap(),
                "--sign-key",
                &kp,
                "--timestamp",
                "2026-05-07T01:00:00Z",
                "--out",
                r,
            ])
            .ok
        );
        let total: u64 = fs::read_dir(&new)
            .unwrap()
            .flatten()
            .map(|e| e.metadata().unwrap().len())
            .sum();
        for deep in [false, true] {
            for jobs in ["1", "0"] {
                let mut args = vec!["verify", "--repo", r, "--mode", "hashes", "--jobs", jobs];
                if deep {
                    args.push("--deep");
                }
                // Warm the page cache first so the disk is not what is
                // measured; then the median of three runs.
                let _ = measure(&args);
                let mut runs: Vec<Measured> = (0..3).map(|_| measure(&args)).collect();
                runs.sort_by(|a, b| a.secs.total_cmp(&b.secs));
                let m = &runs[1];
                assert!(m.ok);
                let workers = if jobs == "1" {
                    "1 worker".to_string()
                } else {
                    format!("{} workers", peipkg_repo::parallel::workers(0))
                };
                let mode = if deep {
                    "--deep"
                } else {
                    "file hash (default)"
                };
                println!(
                    "| {mode}, {workers} | {count} | {:.0} MiB | {:.3} s | {:.3} s | {:.0} MiB/s |",
                    total as f64 / (1 << 20) as f64,
                    m.secs,
                    m.cpu,
                    total as f64 / (1 << 20) as f64 / m.secs
                );
            }
        }
    }
    if !keep {
        let _ = fs::remove_dir_all(&base);
    }
}

fn ok_init(repo: &Path, key: &str) {
    let m = measure(&[
        "init",
        "--name",
        "bench",
        "--sign-key",
        key,
        "--timestamp",
        "2026-05-07T00:00:00Z",
        "--out",
        repo.to_str().unwrap(),
    ]);
    assert!(m.ok);
}
