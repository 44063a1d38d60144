//! Farm throughput on many small recipes (issue #15 item 4): the real
//! `peipkg-manager --once` with the real `peipkg-build`, `peipkg-repo` and
//! git, over N tiny recipes, each with its own local upstream and one tag.
//!
//! ```text
//! cargo build --release -p peipkg-manager -p peipkg-build -p peipkg-repo -p peipkg-bench
//! target/release/bench-farm [--bin-dir target/release] [--workdir DIR]
//!     [--sizes 300,1000] [--incremental 5000] [--poll 5000] [--workers N]
//! ```
//!
//! - cold pass: a new state directory, every recipe built and published;
//!   wall, user and system CPU of the manager and all its descendants
//!   (`wait4`), and the manager's own stage totals (its `stage timings`
//!   debug lines, summed).
//! - incremental: after a cold pass at that size, one upstream gets a new
//!   tag; a second `--once` polls every recipe and publishes the one new
//!   version. Reported: the time from the poll that saw the tag (its
//!   `build queued` line) to `build + publish complete`, and the whole pass.
//! - poll-only: a third `--once` that finds nothing new (time, CPU, peak
//!   RSS), then the daemon on the same state with `[http]`: `/status`
//!   size and latency, and the daemon's peak RSS (`VmHWM`) after its first
//!   poll pass.
//!
//! The recipes: `p<i>` packages one 6-byte file; every upstream is a copy
//! of one template repository (copying is much faster than 5,000 `git
//! init`s and gives the manager the same work).

use anyhow::{ensure, Result};
use peipkg_bench::cli;
use peipkg_bench::farm::{generate, git, tail, Farm, FarmOpts, FarmSpec, Usage};
use peipkg_cli::{FlagKind, FlagSet};
use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Opts {
    farm: FarmOpts,
    sizes: Vec<usize>,
    incremental: Option<usize>,
    poll: Option<usize>,
    workers: Option<usize>,
}

impl Opts {
    fn spec(&self) -> FarmSpec {
        self.farm.spec(self.workers)
    }
}

fn parse_opts() -> Result<Opts> {
    let mut f = FlagSet::new("bench-farm", "[flags]");
    f.about("peipkg-manager --once with the real peipkg-build, peipkg-repo: cold, incremental and poll-only passes.");
    FarmOpts::flags(&mut f);
    cli::list_flag(
        &mut f,
        "sizes",
        "recipe counts of the cold pass, comma-separated",
        "300,1000",
    );
    f.flag(
        "incremental",
        FlagKind::String,
        "recipe count of the incremental pass",
    )
    .value_name("N");
    f.flag(
        "poll",
        FlagKind::String,
        "recipe count of the poll-only pass",
    )
    .value_name("N");
    f.flag("workers", FlagKind::String, "the farm's build workers")
        .value_name("N");
    let m = cli::parse_args(&f);
    let farm = FarmOpts::from_matches(&m);
    let sizes = cli::list(&f, &m, "sizes");
    let incremental = cli::optional(&f, &m, "incremental");
    let poll = cli::optional(&f, &m, "poll");
    let workers = cli::optional(&f, &m, "workers");
    Ok(Opts {
        farm,
        sizes,
        incremental,
        poll,
        workers,
    })
}

/// Sums the manager's `stage timings` lines: `key=<ms>` pairs by key.
fn stage_totals(log: &str) -> BTreeMap<String, (f64, usize)> {
    let mut out: BTreeMap<String, (f64, usize)> = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("msg=\"stage timings\"")) {
        let kind = field(line, "what").unwrap_or("?").to_string();
        for part in line.split(' ') {
            if let Some((k, v)) = part.split_once('=') {
                if let Some(k) = k.strip_suffix("_ms") {
                    if let Ok(ms) = v.parse::<f64>() {
                        let e = out.entry(format!("{kind}.{k}")).or_default();
                        e.0 += ms;
                        e.1 += 1;
                    }
                }
            }
        }
    }
    out
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    let needle = format!(" {key}=");
    let at = line.find(&needle)? + needle.len();
    let rest = &line[at..];
    let end = rest.find(' ').unwrap_or(rest.len());
    Some(rest[..end].trim_matches('"'))
}

/// Milliseconds since midnight of a `time=...T12:34:56.789Z` field.
fn log_ms(line: &str) -> Option<f64> {
    let t = line.strip_prefix("time=")?.split(' ').next()?;
    let clock = t.split('T').nth(1)?.trim_end_matches('Z');
    let mut parts = clock.split(':');
    let h: f64 = parts.next()?.parse().ok()?;
    let m: f64 = parts.next()?.parse().ok()?;
    let s: f64 = parts.next()?.parse().ok()?;
    Some(((h * 60.0 + m) * 60.0 + s) * 1000.0)
}

fn print_usage(label: &str, u: &Usage) {
    println!(
        "{label}: wall {:.2} s, user {:.2} s, sys {:.2} s, peak RSS (largest process) {:.1} MiB",
        u.wall, u.user, u.sys, u.max_rss_mib
    );
}

fn print_stages(log: &str) {
    for (k, (ms, count)) in stage_totals(log) {
        println!(
            "    {k:<24} total {:>9.1} ms  over {count:>5}  mean {:>7.2} ms",
            ms,
            ms / count as f64
        );
    }
}

fn cold(o: &Opts, n: usize) -> Result<Farm> {
    let farm = generate(
        &o.spec(),
        &o.farm.workdir.join(format!("bench-farm-{n}")),
        n,
        None,
    )?;
    let (u, log) = farm.once()?;
    let published = farm.archive_len()?;
    ensure!(
        published == n,
        "cold pass published {published} packages, not {n}; log tail:\n{}",
        tail(&log, 10)
    );
    print_usage(&format!("cold pass N={n}"), &u);
    print_stages(&log);
    Ok(farm)
}

fn incremental(o: &Opts, n: usize) -> Result<Farm> {
    let farm = cold(o, n)?;
    let up = farm.root.join("up/p0");
    fs::write(up.join("data.txt"), "hello again\n")?;
    git(&up, &["commit", "-q", "-am", "again"])?;
    git(&up, &["tag", "v1.0.1"])?;
    let (u, log) = farm.once()?;
    ensure!(
        farm.archive_len()? == n + 1,
        "the new tag was not published"
    );
    let queued = log
        .lines()
        .find(|l| l.contains("msg=\"build queued\"") && l.contains(" recipe=p0 "))
        .and_then(log_ms);
    let done = log
        .lines()
        .find(|l| l.contains("msg=\"build + publish complete\"") && l.contains(" recipe=p0 "))
        .and_then(log_ms);
    print_usage(&format!("incremental pass N={n} (one new tag)"), &u);
    if let (Some(q), Some(d)) = (queued, done) {
        println!("    poll saw the tag -> published: {:.0} ms", d - q);
    }
    print_stages(&log);
    Ok(farm)
}

fn http_get(port: u16, path: &str) -> Result<(Duration, usize)> {
    let start = Instant::now();
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let took = start.elapsed();
    let body = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| buf.len() - p - 4)
        .unwrap_or(0);
    ensure!(
        buf.starts_with(b"HTTP/1.1 200"),
        "GET {path} did not answer 200"
    );
    Ok((took, body))
}

fn vm_field(pid: u32, key: &str) -> Option<f64> {
    let s = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `farm` has been built and published (a cold pass ran).
fn poll_only(farm: &Farm, n: usize) -> Result<()> {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    farm.append_config(&format!("[http]\naddr = \"127.0.0.1:{port}\"\n"))?;
    let (u, log) = farm.once()?;
    print_usage(&format!("poll-only pass N={n} (--once, nothing new)"), &u);
    print_stages(&log);
    let errlog = farm.root.join("daemon.log");
    let mut child = Command::new(&farm.manager)
        .arg("--config")
        .arg(&farm.config)
        .stdout(Stdio::null())
        .stderr(fs::File::create(&errlog)?)
        .spawn()?;
    let pid = child.id();
    let started = Instant::now();
    let result = (|| -> Result<()> {
        // The daemon polls every recipe at start; wait for all of them.
        loop {
            let log = fs::read_to_string(&errlog).unwrap_or_default();
            let polled = log.matches("msg=\"poll complete\"").count();
            if polled >= n {
                break;
            }
            ensure!(
                started.elapsed() < Duration::from_secs(600),
                "daemon polled {polled} of {n} in 600 s"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        println!(
            "daemon first poll pass N={n}: {:.2} s after start",
            started.elapsed().as_secs_f64()
        );
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..20 {
            let (t, b) = http_get(port, "/status")?;
            times.push(t.as_secs_f64() * 1000.0);
            size = b;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "    /status: {size} bytes, latency median {:.1} ms, max {:.1} ms (20 requests)",
            times[times.len() / 2],
            times[times.len() - 1]
        );
        println!(
            "    daemon RSS now {:.1} MiB, peak (VmHWM) {:.1} MiB",
            vm_field(pid, "VmRSS:").unwrap_or(f64::NAN),
            vm_field(pid, "VmHWM:").unwrap_or(f64::NAN)
        );
        Ok(())
    })();
    // SAFETY: signalling our own child.
    unsafe {
        libc::kill(pid as libc::pid_t, libc::SIGTERM);
    }
    let _ = child.wait();
    result
}

fn main() -> Result<()> {
    let o = parse_opts()?;
    for b in ["peipkg-manager", "peipkg-build", "peipkg-repo"] {
        ensure!(
            o.farm.bin_dir.join(b).exists(),
            "{} missing (cargo build --release -p {b})",
            o.farm.bin_dir.join(b).display()
        );
    }
    for &n in &o.sizes {
        cold(&o, n)?;
    }
    let mut built = None;
    if let Some(n) = o.incremental {
        built = Some((n, incremental(&o, n)?));
    }
    if let Some(n) = o.poll {
        let farm = match built {
            Some((m, farm)) if m == n => farm,
            _ => cold(&o, n)?,
        };
        poll_only(&farm, n)?;
    }
    Ok(())
}
