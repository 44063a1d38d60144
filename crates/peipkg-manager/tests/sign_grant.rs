//! Trusted-binary signing through the farm: a `loregd`-style recipe (a C
//! program from a local git upstream, `[[sign]]` on the installed binary)
//! is built with its `[[grant]]` and published with a valid `.peios.sig`;
//! the same recipe without a grant fails closed before its source is
//! fetched, publishes nothing, backs off, and says why in the log,
//! `explain`, `/status`, the dashboard and `check`.

mod common;

#[path = "../../peipkg-build/tests/common/elf_check.rs"]
mod elf_check;

use std::path::{Path, PathBuf};

use common::{free_port, Daemon, FarmDir, Upstream};
use elf_check::{package_entries, public_of_seed, verify_signature};

const SEED: [u8; 32] = [11u8; 32];

const PROGRAM: &str =
    "#include <stdio.h>\nint main(void) { puts(\"trusted daemon\"); return 0; }\n";

fn recipe(id: &str, git: &str) -> String {
    format!(
        r#"[meta]
license = "MIT"
build_script = "build.sh"

[[package]]
name = "{id}"
architecture = "{arch}"
description = "a trusted daemon"
files = ["usr/bin/**"]

[[sign]]
path = "usr/bin/{id}"
key = "tcb"

[upstream]
git = "{git}"
tag_pattern = '^v(\d+\.\d+\.\d+)$'
peios_revision = 1

[watch]
poll_interval = "1h"
"#,
        arch = std::env::consts::ARCH
    )
}

fn build_script(id: &str) -> String {
    format!(
        "#!/bin/sh\nset -e\nmkdir -p \"$DESTDIR/usr/bin\"\ncc -O1 -o \"$DESTDIR/usr/bin/{id}\" \"$SOURCE_DIR/main.c\"\n"
    )
}

fn packages_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(packages_under(&p));
        } else if p.extension().is_some_and(|x| x == "peipkg") {
            out.push(p);
        }
    }
    out
}

#[test]
fn granted_recipes_publish_signed_binaries_and_ungranted_ones_fail_closed() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    let tcb_key = t.path().join("tcb.key");
    std::fs::write(&tcb_key, SEED).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&tcb_key, std::fs::Permissions::from_mode(0o600)).unwrap();
    for id in ["loregd", "tcbtool"] {
        let up = Upstream::new(t.path(), id);
        up.release("v1.0.0", "main.c", PROGRAM, false);
        farm.recipe(id, &recipe(id, &up.url()), &build_script(id));
    }
    let port = free_port();
    let extra = format!(
        "\n[http]\naddr = \"127.0.0.1:{port}\"\n\n[[signing_key]]\nname = \"tcb\"\nprivate = \"{}\"\n\n[[grant]]\nrecipe = \"loregd\"\nsign = [\"tcb\"]\n\n[[grant]]\nrecipe = \"gone\"\nsign = [\"tcb\"]\n",
        tcb_key.display()
    );
    farm.write_config(&extra);

    // check: the ungranted stanza and the grant for an unknown recipe.
    let c = farm.subcommand(&["check"]);
    let all = format!("{}{}", c.stdout, c.stderr);
    assert!(
        all.contains("binary signing not granted: recipe \"tcbtool\" must sign usr/bin/tcbtool (key \"tcb\")")
            && all.contains("no [[grant]] has recipe = \"tcbtool\""),
        "{all}"
    );
    assert!(
        all.contains("[[grant]] gone: no recipe with that directory name"),
        "{all}"
    );
    assert!(!all.contains("recipe \"loregd\" must sign"), "{all}");

    let r = farm.once();
    assert_eq!(r.code, 1, "the refused build fails --once:\n{}", r.stderr);
    // The refused recipe was never fetched nor handed to peipkg-build.
    let started = r.events("starting build");
    assert_eq!(started.len(), 1, "{}", r.stderr);
    assert!(started[0].contains("recipe=loregd"), "{}", started[0]);
    let failed = r.events("build failed");
    assert_eq!(failed.len(), 1, "{}", r.stderr);
    assert!(
        failed[0].contains("recipe=tcbtool")
            && failed[0].contains("binary signing not granted")
            && failed[0].contains("next_retry_after=1m0s"),
        "{}",
        failed[0]
    );
    // The key material never reaches a log.
    let hex_seed: String = SEED.iter().map(|b| format!("{b:02x}")).collect();
    assert!(!r.stderr.contains(&hex_seed));

    // Only the granted recipe is published, and its binary verifies.
    let names: Vec<String> = farm.archive().into_iter().map(|(n, _, _)| n).collect();
    assert_eq!(names, vec!["loregd".to_string()]);
    let pkgs = packages_under(&farm.repo());
    assert_eq!(pkgs.len(), 1, "{pkgs:?}");
    let (files, _) = package_entries(&pkgs[0]);
    let (_, exe) = files
        .iter()
        .find(|(p, _)| p == "usr/bin/loregd")
        .expect("usr/bin/loregd in the package");
    verify_signature(exe, &public_of_seed(&SEED)).unwrap();
    let v = farm.verify();
    assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stderr));

    // explain shows the refusal and the backoff.
    let e = farm.subcommand(&["explain", "tcbtool"]);
    assert!(
        e.stdout.contains("backoff") && e.stdout.contains("binary signing not granted"),
        "{}{}",
        e.stdout,
        e.stderr
    );

    // So do /status and the dashboard of a daemon on the same state.
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("the HTTP server", |l| {
        l.contains("listening") || l.contains("http")
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "{}", d.text());
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let status = d.status().to_string();
    assert!(
        status.contains("tcbtool") && status.contains("binary signing not granted"),
        "{status}"
    );
    let (code, page) = d.get("/");
    assert_eq!(code, 200);
    assert!(page.contains("binary signing not granted"), "{page}");
    let (_, log) = d.stop();
    // The daemon respects the backoff: tcbtool is not retried yet.
    assert!(
        !log.lines()
            .any(|l| l.contains("starting build") && l.contains("recipe=tcbtool")),
        "{log}"
    );
}
