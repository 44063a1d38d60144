//! `peipkg-manager demo`: a whole farm in a temporary directory, to see the
//! system work in one command. It creates local upstream git repositories
//! with release tags, a signing key, recipes (a two-package recipe with a
//! `same_build` dependency, and a busybox-style recipe with named groups and
//! a `min_version` floor) and a config; runs one `--once` sweep; then shows
//! the published repository, what `explain` says about the tags, and the
//! result of `peipkg-repo verify`. The farm directory is kept (a new
//! temporary one unless `--dir` names one), with its rclone remote defined
//! in a file inside it, so it runs again as it is; the closing lines say
//! how.

use std::path::{Path, PathBuf};
use std::process::Command;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, EXIT_FAILURE, EXIT_OK};

use crate::log::{Level, Logger};

fn sibling_or_path(name: &str) -> Option<PathBuf> {
    if let Ok(exe) = std::env::current_exe() {
        if let Some(dir) = exe.parent() {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
    }
    crate::process::find_program(name)
}

fn git(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Demo Upstream",
            "-c",
            "user.email=upstream@example.org",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "advice.detachedHead=false",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_COMMITTER_DATE", "2024-03-15T10:30:00Z")
        .env("GIT_AUTHOR_DATE", "2024-03-15T10:30:00Z")
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(|e| format!("create {}: {e}", p.display()))?;
    }
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))
}

fn upstream(root: &Path, name: &str, releases: &[(&str, &str, &str)]) -> Result<PathBuf, String> {
    let dir = root.join("upstreams").join(name);
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    git(&dir, &["init", "-q"])?;
    for (tag, file, content) in releases {
        write(&dir.join(file), content)?;
        git(&dir, &["add", "-A"])?;
        git(&dir, &["commit", "-q", "-m", &format!("release {tag}")])?;
        git(&dir, &["tag", "-a", "-m", tag, tag])?;
    }
    Ok(dir)
}

fn script(path: &Path, text: &str) -> Result<(), String> {
    write(path, text)?;
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| e.to_string())
}

fn tree(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
        if p.is_dir() {
            if rel == "assets" {
                out.push("assets/ (browse site)".into());
                continue;
            }
            tree(root, &p, out);
        } else {
            let size = e.metadata().map(|m| m.len()).unwrap_or(0);
            out.push(format!("{rel}  ({size} bytes)"));
        }
    }
}

pub fn flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-manager demo", "[flags]");
    f.about("Builds a self-contained farm in a temporary directory, runs one --once sweep and shows the result.");
    f.flag(
        "dir",
        FlagKind::String,
        "use this (new or empty) directory and keep it",
    )
    .value_name("DIR");
    f.flag("log-level", FlagKind::String, "log level of the sweep")
        .default("info");
    f
}

pub fn cmd_demo(m: &Matches) -> Result<i32, CliError> {
    let level = m
        .string("log-level")
        .unwrap_or("info")
        .parse::<Level>()
        .unwrap_or(Level::Info);
    let kept_by_request = m.string("dir").is_some();
    let root = match m.string("dir") {
        Some(d) => {
            let p = PathBuf::from(d);
            std::fs::create_dir_all(&p)
                .map_err(|e| CliError::Failure(format!("demo: create {}: {e}", p.display())))?;
            p
        }
        None => tempfile::Builder::new()
            .prefix("peipkg-farm-demo.")
            .tempdir()
            // Kept, so every path printed below stays valid and the farm
            // can be run again; the closing lines say how to remove it.
            .map(|t| t.keep())
            .map_err(|e| CliError::Failure(format!("demo: create a temporary directory: {e}")))?,
    };
    match demo(&root, level, kept_by_request) {
        Ok(true) => Ok(EXIT_OK),
        Ok(false) => Err(CliError::Exit(EXIT_FAILURE)),
        Err(e) => Err(CliError::Failure(format!("demo: {e}"))),
    }
}

fn demo(root: &Path, level: Level, kept_by_request: bool) -> Result<bool, String> {
    let build = sibling_or_path("peipkg-build").ok_or(
        "peipkg-build not found next to peipkg-manager or on PATH (cargo build --workspace)",
    )?;
    let repo_tool = sibling_or_path("peipkg-repo").ok_or(
        "peipkg-repo not found next to peipkg-manager or on PATH (cargo build --workspace)",
    )?;
    println!("== demo farm in {}", root.display());
    println!("   (local upstream git repositories, a signing key, two recipes, a config)");

    let zlib = upstream(
        root,
        "zlib",
        &[
            ("v1.3.0", "zlib.c", "/* zlib 1.3.0 */\n"),
            ("v1.3.1", "zlib.c", "/* zlib 1.3.1 */\n"),
            (
                "v1.4.0-rc1",
                "zlib.c",
                "/* zlib 1.4.0 release candidate */\n",
            ),
        ],
    )?;
    let busybox = upstream(
        root,
        "busybox",
        &[
            ("1_36_1", "VERSION", "1.36.1\n"),
            ("1_37_0", "VERSION", "1.37.0\n"),
        ],
    )?;
    println!("upstreams: zlib tags v1.3.0 v1.3.1 v1.4.0-rc1; busybox tags 1_36_1 1_37_0");

    let key = root.join("farm.ed25519");
    if !key.exists() {
        let out = Command::new(&build)
            .args(["keygen", "--out"])
            .arg(&key)
            .output()
            .map_err(|e| format!("peipkg-build keygen: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "peipkg-build keygen: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
    }

    let recipes = root.join("recipes");
    write(
        &recipes.join("zlib/peipkg.toml"),
        &format!(
            r#"[meta]
license = "Zlib"
homepage = "https://zlib.net"
build_script = "build.sh"

[[package]]
name = "libz"
architecture = "x86_64"
description = "zlib compression library (runtime)"
side_effects = ["ldconfig"]
files = ["usr/lib/x86_64-linux-peios/**"]

[[package]]
name = "libz-dev"
architecture = "x86_64"
description = "zlib compression library (headers)"
dependencies = [{{ name = "libz", same_build = true }}]
files = ["usr/include/**"]

[upstream]
git = "{}"
tag_pattern = "^v(\\d+\\.\\d+\\.\\d+)$"
peios_revision = 1

[watch]
poll_interval = "1h"
"#,
            zlib.display()
        ),
    )?;
    script(
        &recipes.join("zlib/build.sh"),
        "#!/bin/sh\nset -e\nmkdir -p \"$DESTDIR/usr/lib/x86_64-linux-peios\" \"$DESTDIR/usr/include\"\ncp \"$SOURCE_DIR/zlib.c\" \"$DESTDIR/usr/lib/x86_64-linux-peios/libz.so.1\"\necho '/* zlib.h */' > \"$DESTDIR/usr/include/zlib.h\"\n",
    )?;
    write(
        &recipes.join("busybox/peipkg.toml"),
        &format!(
            r#"[meta]
license = "GPL-2.0-only"
build_script = "build.sh"

[[package]]
name = "busybox"
architecture = "noarch"
description = "busybox version file"
files = ["usr/share/busybox/**"]

[upstream]
git = "{}"
tag_pattern = "^(?P<major>[0-9]+)_(?P<minor>[0-9]+)_(?P<patch>[0-9]+)$"
peios_revision = 1
min_version = "1.37.0"
"#,
            busybox.display()
        ),
    )?;
    script(
        &recipes.join("busybox/build.sh"),
        "#!/bin/sh\nset -e\nmkdir -p \"$DESTDIR/usr/share/busybox\"\ncp \"$SOURCE_DIR/VERSION\" \"$DESTDIR/usr/share/busybox/VERSION\"\n",
    )?;

    let remote = root.join("published-remote");
    let rclone_conf = root.join("rclone.conf");
    let has_rclone = crate::process::find_program("rclone").is_some();
    let upload = if has_rclone {
        // A local-filesystem rclone remote in a config file the farm's
        // config names, as an operator would define an R2 or S3 remote:
        // the kept farm runs again as it is.
        write(&rclone_conf, "[demoremote]\ntype = local\n")?;
        format!(
            "[upload]\nbackend = \"rclone\"\nremote = \"demoremote:{}\"\nrclone_config = \"{}\"\n",
            remote.display(),
            rclone_conf.display()
        )
    } else {
        eprintln!("{}", NO_RCLONE);
        "[upload]\nbackend = \"none\"\n".to_string()
    };
    // The farm requires the build sandbox by default; a machine without
    // a usable bubblewrap still gets a demo, with the switch written out
    // and said loudly (as for rclone).
    let sandbox_ok = std::process::Command::new(&build)
        .arg("sandbox-check")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let sandbox = if sandbox_ok {
        ""
    } else {
        eprintln!("{}", NO_SANDBOX);
        "sandbox = \"none\"\n"
    };
    let config = root.join("config.toml");
    write(
        &config,
        &format!(
            r#"[manager]
id = "demo-farm"
recipes_dir = "{recipes}"
state_dir = "{state}"

[repo]
name = "demo-repo"
description = "A repository built by the peipkg-manager demo"

[signing]
key_file = "{key}"

{upload}
[poll]
default_interval = "1h"

[build]
peipkg_build = "{build}"
peipkg_repo = "{repo}"
{sandbox}"#,
            recipes = recipes.display(),
            state = root.join("state").display(),
            key = key.display(),
            build = build.display(),
            repo = repo_tool.display(),
        ),
    )?;
    println!("config: {}", config.display());
    if has_rclone {
        println!(
            "uploads: rclone remote demoremote (type local, defined in {}) -> {}",
            rclone_conf.display(),
            remote.display()
        );
    }
    println!();
    // busybox has no [watch]: PSD-009 A.2 builds such a recipe only when an
    // operator asks, which is what `peipkg-manager poll` does.
    std::fs::create_dir_all(root.join("state"))
        .map_err(|e| format!("create {}: {e}", root.join("state").display()))?;
    println!(
        "== peipkg-manager poll busybox --config {}   (no [watch]: built on request only)",
        config.display()
    );
    println!(
        "{}",
        crate::control::control("poll", &config, "busybox", "")?
    );
    println!("\n== peipkg-manager --once --config {}", config.display());
    let code = crate::cli::run(&config, true, Logger::stderr(level), true);

    let repo = root.join("state/repo");
    println!("\n== published repository {}", repo.display());
    let mut lines = Vec::new();
    tree(&repo, &repo, &mut lines);
    for l in lines {
        println!("  {l}");
    }
    if remote.exists() {
        let mut lines = Vec::new();
        tree(&remote, &remote, &mut lines);
        println!(
            "\n== uploaded with rclone to {} ({} files)",
            remote.display(),
            lines.len()
        );
    }

    println!("\n== peipkg-manager explain zlib");
    if let Ok(me) = std::env::current_exe() {
        let _ = Command::new(me)
            .args(["explain", "zlib", "--config"])
            .arg(&config)
            .status();
    }

    // Audit like a consumer: signatures and indexes, then every package
    // file's hash against the signed index, found in the state itself.
    println!(
        "\n== peipkg-repo verify --repo {} --mode both",
        repo.display()
    );
    let verified = Command::new(&repo_tool)
        .args(["verify", "--repo"])
        .arg(&repo)
        .args(["--mode", "both"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let ok = code == 0 && verified;
    println!(
        "\n== demo {}: sweep exit {code}, verify {}",
        if ok { "succeeded" } else { "FAILED" },
        if verified { "ok" } else { "FAILED" }
    );
    if !has_rclone {
        eprintln!("{}", NO_RCLONE);
    }
    if !sandbox_ok {
        eprintln!("{}", NO_SANDBOX);
    }
    print!("{}", next_steps(root, kept_by_request));
    Ok(ok)
}

/// Said before the sweep and again at the end, so it is not scrolled away.
const NO_RCLONE: &str = "\
************************************************************************
WARNING: rclone is not installed, so this demo does NOT upload.
The config uses [upload] backend = \"none\": the repository stays in
<state_dir>/repo/ and nothing is copied to a remote.
Install rclone to see the upload step:  apt-get install -y rclone
************************************************************************";

/// Said like [`NO_RCLONE`] when `peipkg-build sandbox-check` fails.
const NO_SANDBOX: &str = "\
************************************************************************
WARNING: bubblewrap is not installed or cannot sandbox builds here, so
this demo's config says [build] sandbox = \"none\": build scripts run
unsandboxed. A real farm refuses to start like that unless told so.
Install it to see sandboxed builds:  apt-get install -y bubblewrap
************************************************************************";

/// The closing lines: how to continue with the kept farm.
fn next_steps(root: &Path, kept_by_request: bool) -> String {
    let r = root.display();
    let mut out = String::new();
    out.push_str(&format!(
        "\n== the farm is kept in {r}{}\n",
        if kept_by_request {
            ""
        } else {
            " (a temporary directory; pass DIR to choose where)"
        }
    ));
    out.push_str(&format!(
        "To continue (with the programs on PATH, e.g. export PATH=\"$PWD/target/release:$PATH\"):\n\
         \x20 # release a new upstream version, then build and publish it:\n\
         \x20 git -C {r}/upstreams/zlib -c user.name=Demo -c user.email=demo@example.org commit -q --allow-empty -m 1.3.2\n\
         \x20 git -C {r}/upstreams/zlib -c user.name=Demo -c user.email=demo@example.org tag -a -m v1.3.2 v1.3.2\n\
         \x20 peipkg-manager --once --config {r}/config.toml\n\
         \x20 peipkg-manager check --config {r}/config.toml\n\
         \x20 peipkg-manager explain zlib --config {r}/config.toml\n\
         \x20 peipkg-repo verify --repo {r}/state/repo --mode both\n\
         \x20 peipkg-manager help                  # every subcommand\n\
         Remove it with: rm -rf {r}\n"
    ));
    out
}
