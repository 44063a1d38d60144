//! The command line: the reference's flags (`--config`, `--log-level`,
//! `--once`, in any Go spelling) plus our subcommands (`check`, `explain`,
//! the operator commands, `demo`, `help`), dispatched by `peipkg-cli`'s
//! `Program` like `peipkg-build` and `peipkg-repo`, so help, errors and
//! exit codes follow one convention in all three programs.
//!
//! Exit codes: 0 success; 1 a failure (config, startup, or an unsuccessful
//! `--once` sweep); 2 a command line that cannot be understood.

use std::path::PathBuf;
use std::sync::Arc;

use std::ffi::OsString;

use peipkg_cli::{CliError, FlagKind, FlagSet, Matches, Program, EXIT_FAILURE, EXIT_OK};

use crate::config::{Config, DEFAULT_CONFIG_PATH};
use crate::farm::{Farm, FarmOptions};
use crate::log::{s, Level, Logger};
use crate::redact::redact;

const PROGRAM: &str = "peipkg-manager";

/// The program: the daemon as the default mode, then the subcommands in
/// usage order.
pub fn program() -> Program {
    let mut p = Program::new(PROGRAM);
    p.about(
        "The peipkg build farm daemon: watches each recipe's upstream tags, builds new \
         versions with peipkg-build, publishes them with peipkg-repo and uploads the \
         repository with rclone.",
    );
    p.command(
        "check",
        "validate the config and every recipe, and test the upload remote",
        check_flags,
        cmd_check,
    )
    .command(
        "explain",
        "list RECIPE's upstream tags and why each was or was not built",
        explain_flags,
        cmd_explain,
    );
    for (cmd, summary) in [
        ("poll", "poll RECIPE's upstream now and build what is new"),
        (
            "pause",
            "stop polling and building RECIPE until it is resumed",
        ),
        ("resume", "undo pause; RECIPE is polled at once"),
        (
            "retry",
            "end a failed build's backoff: retry RECIPE@VERSION now",
        ),
        ("cancel", "cancel a queued build by its id"),
    ] {
        debug_assert!(crate::control::COMMANDS.contains(&cmd));
        p.command(
            cmd,
            summary,
            move || crate::control::flags(cmd),
            move |m| crate::control::cmd_control(cmd, m),
        );
    }
    p.command(
        "demo",
        "a self-contained farm in a directory, one sweep, the result",
        crate::demo::flags,
        crate::demo::cmd_demo,
    )
    // The guardian a farm starts next to itself (see
    // `process::record_groups_in`); not for operators.
    .raw(crate::process::GUARD_SUBCOMMAND, crate::process::guard_main)
    .default_mode(
        "[flags]                  run the daemon (or one sweep with -once)\n       peipkg-manager <subcommand> [flags]",
        main_flags,
        run_default,
    );
    p
}

fn main_flags(f: &mut FlagSet) {
    f.flag("config", FlagKind::String, "path to the config file")
        .value_name("PATH")
        .default(DEFAULT_CONFIG_PATH);
    f.flag(
        "log-level",
        FlagKind::String,
        "one of debug, info, warn, error",
    )
    .value_name("LEVEL")
    .default("info");
    f.flag(
        "once",
        FlagKind::Bool,
        "run a single poll/build/publish sweep and exit (cron/CI mode); default is the long-running daemon",
    );
}

/// Runs the program on the arguments as the OS gave them (program name
/// first); returns the exit status.
pub fn main_with<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    program().run(args)
}

fn run_default(m: &Matches) -> Result<i32, CliError> {
    let lvl = m
        .string("log-level")
        .unwrap_or("info")
        .parse::<Level>()
        .map_err(|e| CliError::Usage(e.to_string()))?;
    let log = Logger::stderr(lvl);
    let config = PathBuf::from(m.string("config").unwrap_or(DEFAULT_CONFIG_PATH));
    Ok(run(&config, m.flag("once"), log, m.is_set("log-level")))
}

/// Loads the config and runs the daemon or one sweep.
pub fn run(config: &std::path::Path, once: bool, log: Logger, level_from_flag: bool) -> i32 {
    // Before any thread: the farm's memory should follow what it holds,
    // not the largest page it ever served (see peipkg_os::memory).
    peipkg_os::memory::return_freed_memory_promptly();
    // First of all: a signal that arrives while the config loads or the
    // repository is initialised must not kill the process (the reference
    // died of an early SIGHUP). Signals are queued until the farm runs.
    let signals = match peipkg_os::signals::Signals::new([
        peipkg_os::signals::SIGTERM,
        peipkg_os::signals::SIGINT,
        peipkg_os::signals::SIGHUP,
        // Sent by the operator commands: look at the database now.
        peipkg_os::signals::SIGUSR1,
    ]) {
        Ok(s) => s,
        Err(e) => {
            log.error("install signal handlers", &[("err", s(e))]);
            return EXIT_FAILURE;
        }
    };
    let cfg = match Config::load(config) {
        Ok(c) => c,
        Err(p) => {
            log.error("load config", &[("err", s(&p))]);
            return EXIT_FAILURE;
        }
    };
    let farm_id = cfg.farm_id.clone();
    let opts = FarmOptions {
        level_from_flag,
        ..FarmOptions::default()
    };
    let farm = match Farm::new(cfg, log.clone(), opts) {
        Ok(f) => f,
        Err(e) => {
            log.error("construct manager", &[("err", s(format!("{e:#}")))]);
            return EXIT_FAILURE;
        }
    };
    log.info(
        "peipkg-manager starting",
        &[
            ("config", s(config.display())),
            ("farm_id", s(&farm_id)),
            ("mode", s(if once { "once" } else { "daemon" })),
        ],
    );
    if once {
        run_once_with_signals(&farm, &log, signals)
    } else {
        match crate::daemon::run_daemon(&farm, signals) {
            Ok(()) => {
                log.info("peipkg-manager stopped", &[]);
                EXIT_OK
            }
            Err(e) => {
                log.error("manager exited with error", &[("err", s(format!("{e:#}")))]);
                EXIT_FAILURE
            }
        }
    }
}

fn run_once_with_signals(
    farm: &Arc<Farm>,
    log: &Logger,
    mut sigs: peipkg_os::signals::Signals,
) -> i32 {
    // SIGTERM during a sweep: finish what runs, start nothing new.
    let handle = Some(sigs.handle());
    {
        let f = Arc::clone(farm.shutdown());
        let log = log.clone();
        std::thread::spawn(move || {
            for sig in sigs.forever() {
                if sig == peipkg_os::signals::SIGHUP {
                    log.info("SIGHUP ignored in --once mode", &[]);
                } else if sig == peipkg_os::signals::SIGUSR1 {
                    // An operator command; the sweep reads requests at start.
                } else if f.is_stopping() {
                    f.cancel_now();
                } else {
                    log.info("stop requested; finishing running builds", &[]);
                    f.stop();
                }
            }
        });
    }
    let report = crate::once::run_once(farm);
    if let Some(h) = handle {
        h.close();
    }
    for line in report.summary().lines() {
        eprintln!("{PROGRAM}: {}", redact(line));
    }
    if report.ok() {
        log.info("peipkg-manager stopped", &[]);
        EXIT_OK
    } else {
        log.error("sweep finished with failures", &[]);
        EXIT_FAILURE
    }
}

fn check_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-manager check", "[flags]");
    f.about("Validates the config file and every recipe, and lists every problem found.");
    f.flag("config", FlagKind::String, "path to the config file")
        .value_name("PATH")
        .default(DEFAULT_CONFIG_PATH);
    f
}

fn cmd_check(m: &Matches) -> Result<i32, CliError> {
    let path = PathBuf::from(m.string("config").unwrap_or(DEFAULT_CONFIG_PATH));
    let rep = crate::check::check(&path);
    for n in &rep.notes {
        println!("{}", redact(n));
    }
    for w in &rep.warnings {
        eprintln!("warning: {}", redact(w));
    }
    for p in &rep.problems {
        eprintln!("error: {}", redact(&p.to_string()));
    }
    if rep.problems.is_empty() {
        println!("OK");
        Ok(EXIT_OK)
    } else {
        Err(CliError::Failure(format!(
            "{} problem(s) found",
            rep.problems.len()
        )))
    }
}

fn explain_flags() -> FlagSet {
    let mut f = FlagSet::new("peipkg-manager explain", "RECIPE [flags]");
    f.about("Lists every upstream tag of RECIPE: whether it matches, the version it gives, and why it was or was not built.");
    f.args("RECIPE", 1, 1);
    f.flag("config", FlagKind::String, "path to the config file")
        .value_name("PATH")
        .default(DEFAULT_CONFIG_PATH);
    f.flag("json", FlagKind::Bool, "print JSON instead of a table");
    f
}

fn cmd_explain(m: &Matches) -> Result<i32, CliError> {
    let id = m.positionals()[0].clone();
    let path = PathBuf::from(m.string("config").unwrap_or(DEFAULT_CONFIG_PATH));
    let failed = |e: &dyn std::fmt::Display| CliError::Failure(redact(&e.to_string()).into_owned());
    let cfg = Config::load(&path).map_err(|p| failed(&p))?;
    let recipe =
        crate::roster::load_recipe(&id, &cfg.recipes_dir.join(&id)).map_err(|p| failed(&p))?;
    let Some(up) = &recipe.upstream else {
        println!("recipe {id} has no [upstream]; it is not watched");
        return Ok(EXIT_OK);
    };
    let tags = crate::watch::ls_remote::ls_remote(&cfg.git, &up.git).map_err(|e| failed(&e))?;
    let archive = match crate::pipeline::archive::Archive::load(&cfg.repo_dir()) {
        Ok(a) => a,
        Err(e) => {
            eprintln!(
                "{PROGRAM}: warning: {}; treating the repository as empty",
                redact(&e.to_string())
            );
            Default::default()
        }
    };
    let db = cfg.state_dir.join(crate::store::DB_FILE);
    let store = if db.exists() {
        crate::store::Store::open(&db).ok()
    } else {
        None
    };
    let rows = crate::explain::explain_tags(
        &recipe,
        &tags,
        &archive,
        store.as_ref(),
        crate::store::now(),
    );
    if m.flag("json") {
        let j = serde_json::to_string_pretty(&rows)?;
        println!("{}", redact(&j));
    } else {
        print!("{}", redact(&crate::explain::render(&recipe, &rows)));
    }
    Ok(EXIT_OK)
}
