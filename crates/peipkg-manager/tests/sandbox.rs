//! The build sandbox through the farm (`--once` and the daemon): a hostile
//! recipe cannot read the farm's key or config, write into its state,
//! reach the host's loopback or leave a process behind, while a recipe
//! granted `network = true` can connect; `[build].sandbox = "required"`
//! refuses to start without a working bubblewrap, and `"none"` is shown as
//! a warning.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use peipkg_manager::store::DB_FILE;

use common::{free_port, manager, simple_recipe, Daemon, FarmDir, Upstream};

/// The probes print `NAME=escaped|blocked` into the payload. The paths are
/// baked into the script: a hostile upstream may well know them.
fn hostile_build(
    name: &str,
    key: &Path,
    config: &Path,
    state: &Path,
    port: u16,
    mark: &str,
) -> String {
    format!(
        r#"#!/bin/sh
set -u
P="$DESTDIR/usr/share/{name}"
mkdir -p "$P"
cp -R "$SOURCE_DIR/." "$P/"
R=""
rec() {{ R="$R$1=$2
"; }}
if [ -s '{key}' ]; then rec key escaped; else rec key blocked; fi
if [ -s "$(dirname "$0")/signing.key" ]; then rec key-beside-script escaped; else rec key-beside-script blocked; fi
if [ -s '{config}' ]; then rec config escaped; else rec config blocked; fi
if [ -e '{state}/{db}' ] || [ -e '{state}/repo' ] || [ -e '{state}/manager.lock' ]; then rec state-read escaped; else rec state-read blocked; fi
# A write "succeeds" into the sandbox's private tmpfs; the test checks the host.
echo x > '{state}/evil' 2>/dev/null
if [ -n "$(ls -A /root 2>/dev/null)" ]; then rec root escaped; else rec root blocked; fi
if timeout 5 bash -c "echo hi > /dev/tcp/127.0.0.1/{port}" 2>/dev/null; then rec network escaped; else rec network blocked; fi
setsid sleep {mark} </dev/null >/dev/null 2>&1 &
printf '%s' "$R" > "$P/results"
"#,
        key = key.display(),
        config = config.display(),
        state = state.display(),
        db = DB_FILE,
    )
}

/// The contents of `usr/share/<name>/results` in the published package.
fn published_results(farm: &FarmDir, name: &str) -> String {
    let mut found = Vec::new();
    let mut stack = vec![farm.repo()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(&format!("{name}_")))
                && p.extension().is_some_and(|x| x == "peipkg")
            {
                found.push(p);
            }
        }
    }
    assert_eq!(found.len(), 1, "{name}: {found:?}");
    let tar = zstd::decode_all(std::fs::File::open(&found[0]).unwrap()).unwrap();
    let want = format!("usr/share/{name}/results");
    let mut at = 0;
    while at + 512 <= tar.len() && tar[at] != 0 {
        let h = &tar[at..at + 512];
        let end = h[..100].iter().position(|&b| b == 0).unwrap_or(100);
        let entry = String::from_utf8_lossy(&h[..end]).into_owned();
        let size_end = h[124..136]
            .iter()
            .position(|&b| b == 0 || b == b' ')
            .unwrap_or(12);
        let size = usize::from_str_radix(std::str::from_utf8(&h[124..124 + size_end]).unwrap(), 8)
            .unwrap_or(0);
        if entry.ends_with(&want) {
            return String::from_utf8_lossy(&tar[at + 512..at + 512 + size]).into_owned();
        }
        at += 512 + size.div_ceil(512) * 512;
    }
    panic!("{want} not in {}", found[0].display());
}

fn sleepers(mark: &str) -> Vec<String> {
    let wanted = format!("sleep\0{mark}\0");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| {
            std::fs::read(e.path().join("cmdline")).is_ok_and(|c| c.ends_with(wanted.as_bytes()))
        })
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn accept_all(listener: &TcpListener) -> usize {
    let mut n = 0;
    while let Ok((mut s, _)) = listener.accept() {
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = Vec::new();
        let _ = s.read_to_end(&mut buf);
        n += 1;
    }
    n
}

/// A farm with two hostile recipes, `evil` and `net` (granted network);
/// the farm's signing key sits beside `evil`'s build script.
fn hostile_farm(root: &Path, extra: &str) -> (FarmDir, TcpListener, String, Vec<Upstream>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let mark = format!("{}{}", 200_000 + std::process::id() % 700_000, extra.len());
    let mut farm = FarmDir::new(root);
    let mut ups = Vec::new();
    for id in ["evil", "net"] {
        let up = Upstream::new(root, id);
        up.release("v1.0.0", "a.txt", id, false);
        // The farm's signing key sits beside evil's build script.
        let key_here = farm.recipes.join("evil/signing.key");
        let build = hostile_build(id, &key_here, &farm.config, &farm.state, port, &mark);
        farm.recipe(
            id,
            &simple_recipe(id, &up.url(), r"^v(\d+\.\d+\.\d+)$", ""),
            &build,
        );
        ups.push(up);
    }
    let key_here = farm.recipes.join("evil/signing.key");
    std::fs::copy(&farm.key, &key_here).unwrap();
    farm.key = key_here;
    farm.write_config(extra);
    (farm, listener, mark, ups)
}

#[test]
fn hostile_recipes_through_the_farm() {
    let t = tempfile::tempdir().unwrap();
    let (farm, listener, mark, _ups) =
        hostile_farm(t.path(), "[[grant]]\nrecipe = \"net\"\nnetwork = true\n");
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.count("build + publish complete"), 2, "{}", r.stderr);
    assert_eq!(
        farm.archive(),
        vec![
            ("evil".into(), "1.0.0-1".into(), "noarch".into()),
            ("net".into(), "1.0.0-1".into(), "noarch".into()),
        ]
    );
    let evil = published_results(&farm, "evil");
    assert_eq!(evil.lines().count(), 6, "{evil}");
    for line in evil.lines() {
        assert!(line.ends_with("=blocked"), "evil escaped: {line}\n{evil}");
    }
    let net = published_results(&farm, "net");
    assert!(net.contains("network=escaped\n"), "{net}");
    for probe in ["key", "key-beside-script", "config", "state-read", "root"] {
        assert!(net.contains(&format!("{probe}=blocked\n")), "{net}");
    }
    // Exactly one connection: the granted recipe's.
    assert_eq!(accept_all(&listener), 1);
    assert!(!farm.state.join("evil").exists());
    assert!(
        sleepers(&mark).is_empty(),
        "a build left `sleep {mark}` running"
    );
}

/// The control: with `sandbox = "none"` the same recipes do reach the key,
/// the config and the network, so the probes above can see an escape.
#[test]
fn unsandboxed_farm_is_the_reference_hole() {
    let t = tempfile::tempdir().unwrap();
    let (farm, listener, mark, _ups) =
        hostile_farm(t.path(), "sandbox = \"none\"\nlimit_processes = 0\n");
    let r = farm.once();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let evil = published_results(&farm, "evil");
    for probe in [
        "key",
        "key-beside-script",
        "config",
        "state-read",
        "network",
    ] {
        assert!(evil.contains(&format!("{probe}=escaped\n")), "{evil}");
    }
    assert_eq!(accept_all(&listener), 2);
    for pid in sleepers(&mark) {
        let _ = Command::new("kill").arg("-9").arg(&pid).status();
    }
}

fn manager_with(farm: &FarmDir, args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(manager());
    cmd.args(args).arg("--config").arg(&farm.config);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let o = cmd.stdin(Stdio::null()).output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

#[test]
fn required_sandbox_refuses_to_start_without_bubblewrap() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = common::one_release_farm(t.path(), |s| s);
    let broken = [("PEIPKG_BWRAP", "/bin/false")];
    let r = farm.run_manager(&["--once"], &broken);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("[build].sandbox"), "{}", r.stderr);
    assert!(
        r.stderr.contains("cannot create the build sandbox"),
        "{}",
        r.stderr
    );
    assert!(!farm.repo().join("index/archive.json").exists());
    let (code, out, err) = manager_with(&farm, &["check"], &broken);
    assert_ne!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("sandbox = \"none\""),
        "{out}{err}"
    );
    // Working bubblewrap: check says so.
    let (code, out, err) = manager_with(&farm, &["check"], &[]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("builds run in bubblewrap"),
        "{out}{err}"
    );

    // The operator opts out: the farm builds (unsandboxed, with the
    // builder's warning in the log) and check warns.
    farm.write_config("sandbox = \"none\"\n");
    let (code, out, err) = manager_with(&farm, &["check"], &broken);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        format!("{out}{err}").contains("not required to run in the sandbox"),
        "{out}{err}"
    );
    let r = farm.run_manager(&["--once"], &broken);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(farm.archive().len(), 1);
}

#[test]
fn status_and_dashboard_show_the_sandbox() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = common::one_release_farm(t.path(), |s| s);
    let port = free_port();
    farm.write_config(&format!(
        "sandbox = \"none\"\n[[grant]]\nrecipe = \"pkg\"\nnetwork = true\n[http]\naddr = \"127.0.0.1:{port}\"\n"
    ));
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("http", |l| l.contains("listening"));
    let st = d.status();
    assert_eq!(st["sandbox"]["mode"], "none");
    assert!(st["sandbox"]["warning"]
        .as_str()
        .unwrap()
        .contains("not required to run in the sandbox"));
    assert_eq!(st["sandbox"]["network"], serde_json::json!(["pkg"]));
    let (code, page) = d.get("/");
    assert_eq!(code, 200);
    assert!(page.contains("Sandbox off:"), "{page}");
    assert!(
        page.contains("Network granted</strong> to the builds of: pkg"),
        "{page}"
    );
    d.stop();

    farm.write_config(&format!("[http]\naddr = \"127.0.0.1:{port}\"\n"));
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("http", |l| l.contains("listening"));
    let st = d.status();
    assert_eq!(st["sandbox"]["mode"], "required");
    assert!(st["sandbox"].get("warning").is_none(), "{st}");
    let (_, page) = d.get("/");
    assert!(!page.contains("Sandbox off"), "{page}");
    d.stop();
}

/// A reload to `sandbox = "required"` with a builder that cannot sandbox is
/// refused (the running config stays); with one that can, it applies.
#[test]
fn reload_checks_the_sandbox_too() {
    let t = tempfile::tempdir().unwrap();
    let (_up, farm) = common::one_release_farm(t.path(), |s| s);
    let port = free_port();
    let http = format!("[http]\naddr = \"127.0.0.1:{port}\"\n");
    farm.write_config(&format!("sandbox = \"none\"\n{http}"));
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("http", |l| l.contains("listening"));
    assert_eq!(d.status()["sandbox"]["mode"], "none");

    let real = common::sibling("peipkg-build");
    let wrapper = t.path().join("no-bwrap-build");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = sandbox-check ]; then PEIPKG_BWRAP=/bin/false exec '{}' \"$@\"; fi\nexec '{}' \"$@\"\n",
            real.display(),
            real.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let required = farm.config_text(&http);
    std::fs::write(
        &farm.config,
        required.replace(&real.display().to_string(), &wrapper.display().to_string()),
    )
    .unwrap();
    d.signal(libc::SIGHUP);
    let text = d.wait_for("the refused reload", |l| {
        l.contains("reload: config invalid; keeping the current config")
    });
    assert!(text.contains("cannot create the build sandbox"), "{text}");
    assert_eq!(d.status()["sandbox"]["mode"], "none");

    std::fs::write(&farm.config, &required).unwrap();
    d.signal(libc::SIGHUP);
    d.wait_for("the reload", |l| l.contains("msg=\"config reloaded\""));
    assert_eq!(d.status()["sandbox"]["mode"], "required");
    d.stop();
}
