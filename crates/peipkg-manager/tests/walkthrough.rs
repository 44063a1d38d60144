//! `docs/WALKTHROUGH.md` is kept true by running it: every ```` ```sh ````
//! block (not those marked `sh no-test`), in order, as one
//! `bash -euo pipefail` script, with the page's directories pointed into a
//! temporary directory and the workspace's freshly built programs first
//! on `PATH`. Then the results the page promises are checked.

mod common;

use std::path::Path;
use std::process::Command;

/// The runnable shell blocks of a Markdown page, in order.
fn shell_blocks(markdown: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in markdown.lines() {
        match &mut current {
            None => {
                if let Some(info) = line.strip_prefix("```") {
                    let words: Vec<&str> = info.split_whitespace().collect();
                    if words.first() == Some(&"sh") && !words.contains(&"no-test") {
                        current = Some(String::new());
                    } else if !info.trim().is_empty() {
                        // Another fenced block: skip to its end.
                        current = None;
                    }
                }
            }
            Some(text) => {
                if line.trim_end() == "```" {
                    blocks.push(std::mem::take(text));
                    current = None;
                } else {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
    }
    blocks
}

#[test]
fn shell_blocks_are_found_and_no_test_blocks_skipped() {
    let md = "x\n```sh\necho a\n```\n```sh no-test\nrm -rf /\n```\n```toml\n[a]\n```\n```sh\necho b\n```\n";
    assert_eq!(shell_blocks(md), vec!["echo a\n", "echo b\n"]);
}

#[test]
fn the_walkthrough_runs_as_written() {
    // The programs the page puts on PATH: this workspace's, just built.
    common::sibling("peipkg-build");
    let bin = common::manager().parent().unwrap().to_path_buf();
    let doc = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/WALKTHROUGH.md");
    let markdown = std::fs::read_to_string(&doc).unwrap();
    let blocks = shell_blocks(&markdown);
    assert!(blocks.len() >= 10, "{} blocks", blocks.len());
    let script = blocks.join("\n");

    let t = tempfile::tempdir().unwrap();
    let root = t.path();
    let port = common::free_port();
    // If a step fails, the background daemon must not outlive the test.
    let guarded = format!(
        "trap 'if [ -n \"${{DAEMON:-}}\" ]; then kill \"$DAEMON\" 2>/dev/null || true; fi' EXIT\n{script}"
    );
    let started = std::time::Instant::now();
    let out = Command::new("bash")
        .args(["-euo", "pipefail", "-c", &guarded])
        .env(
            "PATH",
            format!(
                "{}:{}",
                bin.display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("ETC", root.join("etc"))
        .env("STATE", root.join("state"))
        .env("WWW", root.join("www"))
        .env("UPSTREAMS", root.join("upstreams"))
        .env("SYSTEMD_DIR", root.join("systemd"))
        .env("PORT", port.to_string())
        // rclone reads it for S3 remotes; the local remote needs nothing.
        .env_remove("AWS_CA_BUNDLE")
        .current_dir(root)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let daemon_log = std::fs::read_to_string(root.join("state/daemon.log")).unwrap_or_default();
    assert!(
        out.status.success(),
        "the walkthrough failed:\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- daemon log\n{daemon_log}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(60),
        "the walkthrough took {:?}",
        started.elapsed()
    );

    // What the page promises.
    assert!(stdout.contains("[upload].remote pkgs:"), "{stdout}");
    assert!(stdout.contains(": reachable"), "{stdout}");
    for v in ["1.3.1-1", "1.3.2-1"] {
        for base in [root.join("state/repo"), root.join("www")] {
            let f = base.join(format!("p/libz/{v}/libz_{v}_x86_64.peipkg"));
            assert!(f.is_file(), "{} missing", f.display());
        }
    }
    assert_eq!(
        stdout.lines().filter(|l| *l == "OK").count(),
        5,
        "check and the four audits say OK:\n{stdout}"
    );
    // The webhook, not a poll, found v1.3.2.
    assert!(
        daemon_log.contains("msg=\"webhook accepted, triggering immediate poll\""),
        "{daemon_log}"
    );
    assert!(
        daemon_log
            .lines()
            .any(|l| l.contains("msg=\"build queued\"")
                && l.contains("version=1.3.2-1")
                && l.contains("source=webhook")),
        "{daemon_log}"
    );
    // The recipe's `—` is a warning of its own, not part of any error.
    assert!(daemon_log.contains("msg=\"build warning\""), "{daemon_log}");
    assert!(!daemon_log.contains("level=ERROR"), "{daemon_log}");
    // /status answered, as JSON naming the farm.
    assert!(
        stdout.contains("\"farm_id\":\"peios-build-1\"")
            || stdout.contains("\"farm_id\": \"peios-build-1\""),
        "{stdout}"
    );
    // The unit starts this manager with this config.
    let unit = std::fs::read_to_string(root.join("systemd/peipkg-manager.service")).unwrap();
    let exec = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart");
    let words: Vec<&str> = exec.split_whitespace().collect();
    assert!(Path::new(words[0]).is_file(), "{exec}");
    assert_eq!(
        &words[1..],
        ["--config", root.join("etc/config.toml").to_str().unwrap()]
    );
    // No git noise in the build logs (the upstream is a plain path).
    for e in std::fs::read_dir(root.join("state/logs"))
        .unwrap()
        .flatten()
    {
        let text = std::fs::read_to_string(e.path()).unwrap_or_default();
        assert!(!text.contains("--depth is ignored"), "{text}");
    }
}
