//! What starting a child costs a parent of a given size, with and without a
//! `pre_exec` hook (issue #15).
//!
//! A `pre_exec` hook makes the standard library `fork()` the parent, which
//! copies its page tables and makes every later write to its memory fault;
//! without one it uses `posix_spawn` (`clone(CLONE_VM|CLONE_VFORK)`), whose
//! cost does not depend on the parent's size. The manager used a hook
//! (`PR_SET_PDEATHSIG`) for every child until the guardian replaced it.
//!
//! ```sh
//! cargo build --release -p peipkg-bench
//! target/release/bench-spawn [--sizes 10,30,60,200] [--spawns 300]
//! ```
//! For each heap size (MiB, touched in 4 KiB allocations) and each mode, it
//! runs `/bin/true` `--spawns` times (own process group, stdio to
//! /dev/null, a working directory: as the manager does) and prints wall
//! time and the parent's own system and user CPU per spawn.

use anyhow::{Context, Result};
use peipkg_bench::cli;
use peipkg_cli::FlagSet;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Instant;

fn cpu() -> (f64, f64) {
    // SAFETY: rusage is plain data; all-zero is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: one valid rusage for the duration of the call.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

fn main() -> Result<()> {
    let mut f = FlagSet::new("bench-spawn", "[flags]");
    f.about("Spawn cost against the parent's heap size, with and without a pre-exec hook.");
    cli::list_flag(
        &mut f,
        "sizes",
        "parent heap sizes in MiB, comma-separated",
        "10,30,60,200",
    );
    cli::number_flag(&mut f, "spawns", "spawns per measurement", "300");
    let m = cli::parse_args(&f);
    let sizes: Vec<usize> = cli::list(&f, &m, "sizes");
    let spawns: usize = cli::value(&f, &m, "spawns");
    let mut heap: Vec<Vec<u8>> = Vec::new();
    for mib in sizes {
        heap.resize_with(mib * 256, || vec![1u8; 4096]);
        for hook in [true, false] {
            let (u0, s0) = cpu();
            let start = Instant::now();
            for _ in 0..spawns {
                let mut c = Command::new("/bin/true");
                c.stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .process_group(0)
                    .current_dir("/");
                if hook {
                    // SAFETY: prctl is async-signal-safe and allocates nothing.
                    unsafe {
                        c.pre_exec(|| {
                            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                            Ok(())
                        });
                    }
                }
                let status = c.status().context("spawn /bin/true")?;
                anyhow::ensure!(status.success(), "/bin/true: {status}");
            }
            let (u1, s1) = cpu();
            let per = |x: f64| x * 1e3 / spawns as f64;
            println!(
                "heap {mib:>4} MiB, {:<22} {:.3} ms wall, parent sys {:.3} ms, user {:.3} ms per spawn",
                if hook { "pre_exec (fork):" } else { "no hook (posix_spawn):" },
                per(start.elapsed().as_secs_f64()),
                per(s1 - s0),
                per(u1 - u0)
            );
        }
    }
    std::hint::black_box(&heap);
    Ok(())
}
