use super::*;

const FULL: &str = r#"
[manager]
id = "peios-build-1"
recipes_dir = "/etc/peipkg-manager/recipes"
state_dir = "/var/lib/peipkg-manager"

[repo]
name = "my-peios-repo"
description = "My Peios package repository"

[signing]
key_file = "/etc/peipkg-manager/farm.ed25519"

[upload]
backend = "rclone"
remote = "r2:pkgs.example.org"

[http]
addr = ":8080"
webhook_secret_file = "/etc/peipkg-manager/webhook-secret"

[poll]
default_interval = "1h"
"#;

fn parse(text: &str) -> Result<Config, Problems> {
    Config::parse(Path::new("/c/config.toml"), text.to_string())
}

fn messages(p: &Problems) -> Vec<String> {
    p.0.iter().map(|p| p.to_string()).collect()
}

#[test]
fn documented_example_loads_with_defaults_for_our_tables() {
    let c = parse(FULL).unwrap();
    assert_eq!(c.farm_id, "peios-build-1");
    assert_eq!(c.recipes_dir, PathBuf::from("/etc/peipkg-manager/recipes"));
    assert_eq!(c.default_interval, Duration::from_secs(3600));
    assert_eq!(
        c.upload.backend,
        UploadBackend::Rclone {
            remote: "r2:pkgs.example.org".into()
        }
    );
    assert_eq!(c.http.addr.as_deref(), Some("0.0.0.0:8080"));
    assert_eq!(c.build.workers, super::default_workers());
    assert!((1..=super::DEFAULT_WORKERS_MAX).contains(&c.build.workers));
    assert!(c.build.verify);
    assert_eq!(c.git.poll_concurrency, 4);
}

#[test]
fn every_missing_required_field_is_reported_at_once() {
    let e = parse("[poll]\ndefault_interval = \"1h\"\n").unwrap_err();
    let m = messages(&e).join("\n");
    for want in [
        "[manager].id is required",
        "[manager].recipes_dir is required",
        "[manager].state_dir is required",
        "[repo].name is required",
        "[signing].key_file is required",
    ] {
        assert!(m.contains(want), "missing {want:?} in\n{m}");
    }
}

#[test]
fn unknown_keys_anywhere_name_the_key_and_line() {
    let text = FULL.replace("id = \"peios-build-1\"", "idd = \"x\"\nid = \"y\"")
        + "\n[bogus]\nfield = 1\n\n[[signing_key]]\nname = \"tcb\"\nprivate = \"/k\"\nextra = 1\n";
    let e = parse(&text).unwrap_err();
    let m = messages(&e);
    assert!(
        m.iter()
            .any(|l| l.contains("unknown key \"idd\" in [manager]")
                && l.starts_with("/c/config.toml:3:")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|l| l.contains("unknown key \"bogus\" at the top level")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|l| l.contains("unknown key \"extra\" in [[signing_key]] #1")),
        "{m:?}"
    );
    assert_eq!(m.len(), 3, "{m:?}");
}

#[test]
fn poll_interval_minimum_and_format() {
    for (v, want) in [
        ("\"10s\"", "less than the 1m0s minimum"),
        ("60", "expected a string"),
        ("\"1d\"", "unknown unit"),
        ("\"\"", "empty duration"),
    ] {
        let text = FULL.replace(
            "default_interval = \"1h\"",
            &format!("default_interval = {v}"),
        );
        let e = parse(&text).unwrap_err();
        assert!(e.to_string().contains(want), "{v}: {e}");
    }
    let text = FULL.replace("default_interval = \"1h\"", "default_interval = \"90m\"");
    assert_eq!(
        parse(&text).unwrap().default_interval,
        Duration::from_secs(5400)
    );
    let no_poll = FULL.replace("[poll]\ndefault_interval = \"1h\"\n", "");
    assert!(parse(&no_poll)
        .unwrap_err()
        .to_string()
        .contains("[poll].default_interval is required"));
}

#[test]
fn upload_backend_rules() {
    let bad = FULL.replace("backend = \"rclone\"", "backend = \"s3\"");
    assert!(parse(&bad)
        .unwrap_err()
        .to_string()
        .contains("not recognised"));
    let no_remote = FULL.replace("remote = \"r2:pkgs.example.org\"", "");
    assert!(parse(&no_remote)
        .unwrap_err()
        .to_string()
        .contains("remote is required"));
    let none = FULL.replace("backend = \"rclone\"", "backend = \"none\"");
    assert_eq!(parse(&none).unwrap().upload.backend, UploadBackend::None);
    let dash = FULL.replace("r2:pkgs.example.org", "-oops");
    assert!(parse(&dash)
        .unwrap_err()
        .to_string()
        .contains("must not begin with '-'"));
}

#[test]
fn signing_keys_and_grants_are_cross_checked() {
    let text = FULL.to_string()
        + r#"
[[signing_key]]
name = "tcb"
private = "/etc/peipkg-manager/tcb.ed25519"
pubkey_env = "PKM_KACS_TCB_PUBKEY_HEX"

[[signing_key]]
name = "plain"
private = "/k2"

[[grant]]
recipe = "kernel"
inject_pubkey = ["tcb"]

[[grant]]
recipe = "loregd"
sign = ["tcb"]
"#;
    let c = parse(&text).unwrap();
    assert_eq!(c.signing_keys.len(), 2);
    assert_eq!(c.grant_for("loregd").unwrap().sign, vec!["tcb".to_string()]);
    assert!(c.grant_for("nginx").is_none());

    let bad = FULL.to_string()
        + r#"
[[signing_key]]
name = "plain"
private = "/k2"

[[signing_key]]
name = "plain"

[[grant]]
recipe = "a"
inject_pubkey = ["plain", "ghost"]
sign = ["nope"]

[[grant]]
recipe = "a"
"#;
    let m = parse(&bad).unwrap_err().to_string();
    for want in [
        "duplicate name",
        "private is required",
        "inject_pubkey key \"plain\" has no pubkey_env",
        "unknown signing key \"ghost\"",
        "sign references unknown signing key \"nope\"",
        "duplicate recipe",
    ] {
        assert!(m.contains(want), "missing {want:?} in\n{m}");
    }
}

#[test]
fn our_tables_are_strict_and_range_checked() {
    let text = FULL.to_string()
        + "[build]\nworkers = 0\ntimeout = \"1h\"\nbatch_max = 5\n[git]\njitter_percent = 80\nls_remote_timeout = \"30s\"\n";
    let m = parse(&text).unwrap_err().to_string();
    assert!(m.contains("[build].workers 0 is out of range"), "{m}");
    assert!(m.contains("[git].jitter_percent 80 is out of range"), "{m}");

    let ok = FULL.to_string()
        + "[build]\nworkers = 3\ntimeout = \"45m\"\npeipkg_build = \"/opt/bin/peipkg-build\"\n[git]\nls_remote_timeout = \"30s\"\nallow_file_submodules = true\n[upload]\n";
    // A second [upload] table is a TOML error, located on its line.
    let e = parse(&ok).unwrap_err();
    assert!(e.0[0].line.is_some(), "{e}");

    let ok = FULL.replace(
        "remote = \"r2:pkgs.example.org\"",
        "remote = \"r2:x\"\nretry_min = \"5s\"\nonce_attempts = 2",
    )
        + "[build]\nworkers = 3\ntimeout = \"45m\"\npeipkg_build = \"/opt/bin/peipkg-build\"\n";
    let c = parse(&ok).unwrap();
    assert_eq!(c.build.workers, 3);
    assert_eq!(c.build.timeout, Duration::from_secs(45 * 60));
    assert_eq!(c.build.peipkg_build, "/opt/bin/peipkg-build");
    assert_eq!(c.upload.retry_min, Duration::from_secs(5));
    assert_eq!(c.upload.once_attempts, 2);
    assert!(c.upload.cache_control);
    assert_eq!(c.log_level, None);
    assert_eq!(c.build.log_retention, Duration::from_secs(30 * 24 * 3600));

    let c = parse(
        &(FULL.replace(
            "remote = \"r2:pkgs.example.org\"",
            "remote = \"r2:x\"\ncache_control = false",
        ) + "[build]\nlog_retention = \"48h\"\n[log]\nlevel = \"debug\"\n"),
    )
    .unwrap();
    assert!(!c.upload.cache_control);
    assert_eq!(c.log_level, Some(crate::log::Level::Debug));
    assert_eq!(c.build.log_retention, Duration::from_secs(48 * 3600));
    let m = parse(&(FULL.to_string() + "[log]\nlevel = \"verbose\"\nformat = \"json\"\n"))
        .unwrap_err()
        .to_string();
    assert!(
        m.contains("[log].level: unknown log level \"verbose\""),
        "{m}"
    );
    assert!(m.contains("unknown key \"format\" in [log]"), "{m}");
    let m = parse(&(FULL.to_string() + "[build]\nlog_retention = \"10m\"\n"))
        .unwrap_err()
        .to_string();
    assert!(m.contains("less than the 1h0m0s minimum"), "{m}");
}

#[test]
fn listen_addresses() {
    assert_eq!(normalise_addr(":8080").unwrap(), "0.0.0.0:8080");
    assert_eq!(normalise_addr("127.0.0.1:9").unwrap(), "127.0.0.1:9");
    assert!(normalise_addr("8080").is_err());
    assert!(normalise_addr(":http").is_err());
    let bad = FULL.replace("addr = \":8080\"", "addr = \"localhost\"");
    assert!(parse(&bad).unwrap_err().to_string().contains("[http].addr"));
}

#[test]
fn unreadable_config_is_one_clear_problem() {
    let e = Config::load(Path::new("/nonexistent/peipkg/config.toml")).unwrap_err();
    assert_eq!(e.0.len(), 1);
    assert!(e.to_string().contains("cannot read config"), "{e}");
}

#[test]
fn sandbox_policy_limits_and_network_grants() {
    let c = parse(FULL).unwrap();
    assert_eq!(c.build.sandbox, SandboxPolicy::Required);
    assert_eq!(c.build.limit_processes, None);
    let c = parse(&format!(
        "{FULL}\n[build]\nsandbox = \"none\"\nlimit_processes = 512\nlimit_file_size = \"2G\"\nlimit_address_space = \"0\"\n\n[[grant]]\nrecipe = \"npm-thing\"\nnetwork = true\n"
    ))
    .unwrap();
    assert_eq!(c.build.sandbox, SandboxPolicy::None);
    assert_eq!(c.build.limit_processes, Some(512));
    assert_eq!(c.build.limit_file_size.as_deref(), Some("2G"));
    assert_eq!(c.build.limit_address_space.as_deref(), Some("0"));
    assert!(c.grants[0].network);
    assert_eq!(
        crate::sandbox::build_env(&c),
        [("PEIPKG_BUILD_SANDBOX".to_string(), "none".to_string())]
    );
    // sandbox = "none": no sandbox flags, so the reference binary works.
    assert_eq!(
        crate::sandbox::build_args(&c, "npm-thing"),
        [
            "--limit-processes",
            "512",
            "--limit-file-size",
            "2G",
            "--limit-address-space",
            "0"
        ]
    );

    let c = parse(&format!(
        "{FULL}\n[[grant]]\nrecipe = \"npm-thing\"\nnetwork = true\n"
    ))
    .unwrap();
    let args = crate::sandbox::build_args(&c, "npm-thing").join(" ");
    assert_eq!(
        args,
        "--sandbox bwrap --sandbox-network --sandbox-hide /c --sandbox-hide /var/lib/peipkg-manager \
         --sandbox-hide /etc/peipkg-manager/farm.ed25519 --sandbox-hide /etc/peipkg-manager/webhook-secret"
    );
    assert!(!crate::sandbox::build_args(&c, "other").contains(&"--sandbox-network".to_string()));
    assert!(crate::sandbox::build_env(&c).is_empty());

    let e = parse(&format!(
        "{FULL}\n[build]\nsandbox = \"off\"\nlimit_processes = -1\nlimit_file_size = \"lots\"\n"
    ))
    .unwrap_err();
    let m = messages(&e).join("\n");
    for want in [
        "[build].sandbox \"off\": expected \"required\" or \"none\"",
        "[build].limit_processes -1 must not be negative",
        "[build].limit_file_size \"lots\"",
    ] {
        assert!(m.contains(want), "{want:?} not in\n{m}");
    }
}

#[test]
fn executor_defaults_to_local_and_slurm_needs_its_table() {
    let c = parse(FULL).unwrap();
    assert_eq!(c.build.executor, ExecutorKind::Local);
    assert_eq!(c.slurm, None);

    let c = parse(&format!(
        "{FULL}\n[build]\nexecutor = \"slurm\"\n\n[slurm]\nwork_dir = \"/shared/peipkg\"\npartition = \"build\"\nsbatch_args = [\"--mem=8G\"]\npoll_interval = \"2s\"\n"
    ))
    .unwrap();
    assert_eq!(c.build.executor, ExecutorKind::Slurm);
    let s = c.slurm.unwrap();
    assert_eq!(s.work_dir, PathBuf::from("/shared/peipkg"));
    assert_eq!(s.partition.as_deref(), Some("build"));
    assert_eq!(s.sbatch_args, vec!["--mem=8G".to_string()]);
    assert_eq!(s.poll_interval, Duration::from_secs(2));
    assert_eq!(s.node_program, "peipkg-node");

    let e = messages(&parse(&format!("{FULL}\n[build]\nexecutor = \"k8s\"\n")).unwrap_err());
    assert!(
        e.iter()
            .any(|m| m.contains("[build].executor \"k8s\" is not one of")),
        "{e:?}"
    );
    let e = messages(&parse(&format!("{FULL}\n[build]\nexecutor = \"slurm\"\n")).unwrap_err());
    assert!(
        e.iter().any(|m| m.contains("needs a [slurm] table")),
        "{e:?}"
    );
    let e = messages(
        &parse(&format!(
            "{FULL}\n[build]\nexecutor = \"slurm\"\n\n[slurm]\nwork_dir = \"shared\"\nqueue = \"x\"\n"
        ))
        .unwrap_err(),
    );
    assert!(
        e.iter().any(|m| m.contains("must be an absolute path")),
        "{e:?}"
    );
    assert!(e.iter().any(|m| m.contains("queue")), "{e:?}");
}
