//! A real single-node Slurm cluster for tests: its own `munged` and its
//! own `slurmctld` + `slurmd`, with every file (config, key, state, spool,
//! logs, sockets) in one directory and the daemons on free loopback ports.
//! Dropping the [`Cluster`] stops all three (by the pids they wrote).
//!
//! Clients reach it through `SLURM_CONF`, which [`Cluster::env`] gives.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// The opt-out: with `PEIPKG_SKIP_SLURM=1` a machine without Slurm skips
/// the cluster tests instead of failing them.
pub const SKIP_VAR: &str = "PEIPKG_SKIP_SLURM";

const DAEMONS: [&str; 3] = ["slurmctld", "slurmd", "munged"];
const CLIENTS: [&str; 5] = ["sbatch", "squeue", "scontrol", "scancel", "sinfo"];

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let found = path
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
        .map(|dir| Path::new(dir).join(name))
        .find(|c| c.is_file());
    found
}

/// The Slurm and munge programs that are missing here.
pub fn missing() -> Vec<&'static str> {
    DAEMONS
        .iter()
        .chain(CLIENTS.iter())
        .copied()
        .filter(|p| on_path(p).is_none())
        .collect()
}

/// `true` when the cluster can be started; `false` when it cannot and the
/// opt-out is set (the skip is recorded in `<target_tmp>/skipped-tests.txt`
/// like the Chromium tests'). Missing programs without the opt-out fail
/// the test.
pub fn require(test: &str, target_tmp: &Path) -> bool {
    match decide(test, &missing(), std::env::var_os(SKIP_VAR), target_tmp) {
        Ok(run) => run,
        Err(msg) => panic!("{msg}"),
    }
}

/// [`require`] with its inputs explicit, so the rule can be tested.
pub fn decide(
    test: &str,
    missing: &[&str],
    skip: Option<std::ffi::OsString>,
    target_tmp: &Path,
) -> Result<bool, String> {
    if missing.is_empty() {
        return Ok(true);
    }
    if skip.as_deref() != Some(std::ffi::OsStr::new("1")) {
        return Err(format!(
            "{test}: Slurm is not installed ({} missing; apt-get install -y slurm-wlm munge); \
             to skip the cluster tests instead, set {SKIP_VAR}=1",
            missing.join(", ")
        ));
    }
    let line = format!("{test}: skipped, slurm not found ({SKIP_VAR}=1)\n");
    eprint!("SKIPPED {line}");
    let _ = std::fs::create_dir_all(target_tmp);
    use std::io::Write;
    let _ = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target_tmp.join(crate::chromium::SKIPPED_FILE))
        .and_then(|mut f| f.write_all(line.as_bytes()));
    Ok(false)
}

/// A running single-node cluster.
pub struct Cluster {
    pub dir: PathBuf,
    pub conf: PathBuf,
    /// The partition every job goes to by default.
    pub partition: String,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn short_hostname() -> String {
    let out = Command::new("hostname")
        .arg("-s")
        .output()
        .expect("run hostname -s");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Cluster {
    /// Starts munged, slurmctld and slurmd with everything under `dir`
    /// (which must exist), and waits until the node takes jobs.
    pub fn start(dir: &Path) -> Cluster {
        let dir = dir.to_path_buf();
        for sub in ["state", "spool", "log"] {
            std::fs::create_dir_all(dir.join(sub)).expect("create cluster dirs");
        }
        // munge: its own key and socket.
        let key = dir.join("munge.key");
        let mut bytes = vec![0u8; 1024];
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(&mut bytes))
            .expect("read /dev/urandom");
        std::fs::write(&key, &bytes).expect("write munge key");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o400)).expect("chmod key");
        let sock = dir.join("munge.sock");
        let cluster = Cluster {
            conf: dir.join("slurm.conf"),
            partition: "farm".into(),
            dir: dir.clone(),
        };
        run(
            Command::new(on_path("munged").expect("munged"))
                .arg(format!("--socket={}", sock.display()))
                .arg(format!("--key-file={}", key.display()))
                .arg(format!("--pid-file={}", dir.join("munged.pid").display()))
                .arg(format!("--log-file={}", dir.join("munged.log").display()))
                .arg(format!("--seed-file={}", dir.join("munged.seed").display())),
            "start munged",
        );
        let host = short_hostname();
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let conf = format!(
            "ClusterName=peipkgtest\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             AuthType=auth/munge\n\
             AuthInfo=socket={sock}\n\
             CredType=cred/munge\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             SlurmctldLogFile={d}/log/slurmctld.log\n\
             SlurmdLogFile={d}/log/slurmd.log\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_CPU\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             MpiDefault=none\n\
             ReturnToService=2\n\
             MinJobAge=30\n\
             SchedulerParameters=sched_interval=1\n\
             SlurmctldTimeout=30\n\
             SlurmdTimeout=30\n\
             NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=512 State=UNKNOWN\n\
             PartitionName=farm Nodes=ALL Default=YES State=UP MaxTime=INFINITE\n",
            ctld = free_port(),
            slurmd = free_port(),
            sock = sock.display(),
            d = dir.display(),
        );
        std::fs::write(&cluster.conf, conf).expect("write slurm.conf");
        run(
            Command::new(on_path("slurmctld").expect("slurmctld"))
                .arg("-i")
                .env("SLURM_CONF", &cluster.conf),
            "start slurmctld",
        );
        run(
            Command::new(on_path("slurmd").expect("slurmd")).env("SLURM_CONF", &cluster.conf),
            "start slurmd",
        );
        cluster.wait_idle();
        cluster
    }

    /// `SLURM_CONF` for client programs.
    pub fn env(&self) -> (&'static str, String) {
        ("SLURM_CONF", self.conf.display().to_string())
    }

    /// A client command aimed at this cluster.
    pub fn client(&self, program: &str) -> Command {
        let mut c = Command::new(program);
        c.env("SLURM_CONF", &self.conf);
        c
    }

    fn wait_idle(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let out = self
                .client("sinfo")
                .args(["-h", "-o", "%t"])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
                .unwrap_or_default();
            if out == "idle" || out == "mix" {
                return;
            }
            if Instant::now() > deadline {
                let log = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
                panic!(
                    "the test cluster did not come up (sinfo says {out:?})\nslurmctld.log:\n{}\nslurmd.log:\n{}",
                    log("log/slurmctld.log"),
                    log("log/slurmd.log")
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn kill_pidfile(&self, name: &str) {
        let Ok(text) = std::fs::read_to_string(self.dir.join(name)) else {
            return;
        };
        let Ok(pid) = text.trim().parse::<i32>() else {
            return;
        };
        let _ = Command::new("kill").arg(pid.to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        if Path::new(&format!("/proc/{pid}")).exists() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        // Jobs first, so no job outlives the test; then the daemons.
        let _ = self
            .client("scancel")
            .args(["--full", "-u", "root"])
            .status();
        self.kill_pidfile("slurmd.pid");
        self.kill_pidfile("slurmctld.pid");
        self.kill_pidfile("munged.pid");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_slurm_fails_unless_opted_out_and_a_skip_is_recorded() {
        let t = std::env::temp_dir().join(format!("peipkg-testkit-slurm-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&t);
        assert_eq!(decide("x", &[], None, &t), Ok(true));
        let err = decide("x", &["sbatch"], None, &t).unwrap_err();
        assert!(err.contains("sbatch missing"), "{err}");
        assert!(err.contains("PEIPKG_SKIP_SLURM=1"), "{err}");
        assert_eq!(
            decide("x", &["sbatch"], Some("0".into()), &t).map_err(|_| ()),
            Err(())
        );
        assert_eq!(decide("page", &["munged"], Some("1".into()), &t), Ok(false));
        let recorded = std::fs::read_to_string(t.join(crate::chromium::SKIPPED_FILE)).unwrap();
        assert_eq!(
            recorded,
            "page: skipped, slurm not found (PEIPKG_SKIP_SLURM=1)\n"
        );
        let _ = std::fs::remove_dir_all(&t);
    }
}
