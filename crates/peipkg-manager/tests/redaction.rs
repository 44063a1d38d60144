//! Credentials never leave the process: a recipe whose git URL carries a
//! token and an rclone connection-string remote carrying S3 keys, checked
//! on every surface (the `--once` log and summary, `check`, `explain`,
//! `/status`, the dashboard, `/metrics`, the daemon's log, and the error
//! text stored in SQLite, including rows an older version stored).

mod common;

use common::*;

const TOKEN: &str = "ghpTOKENsecret1234";
const KEY_ID: &str = "AKIDsecret5678";
const SECRET_KEY: &str = "SAKsecret9012";

fn remote() -> String {
    format!(
        ":s3,provider=Other,endpoint=http://127.0.0.1:9,access_key_id={KEY_ID},secret_access_key={SECRET_KEY}:bucket/repo"
    )
}

fn assert_clean(surface: &str, text: &str) {
    for secret in [TOKEN, KEY_ID, SECRET_KEY] {
        assert!(!text.contains(secret), "{surface} leaks {secret}:\n{text}");
    }
}

/// One published recipe (so an upload is attempted) and one whose
/// upstream URL carries a token (its poll fails).
fn farm(t: &std::path::Path, http: &str) -> FarmDir {
    let (_up, farm) = one_release_farm(t, |r| r);
    let git = format!("https://user:{TOKEN}@127.0.0.1:9/private.git");
    farm.recipe(
        "private",
        &simple_recipe("private", &git, r"^v(\d+\.\d+\.\d+)$", ""),
        &copy_build("private"),
    );
    farm.write_config(&format!(
        "[upload]\nbackend = \"rclone\"\nremote = \"{}\"\nretry_min = \"1s\"\nretry_max = \"1s\"\nonce_attempts = 1\ntimeout = \"20s\"\n{http}",
        remote()
    ));
    farm
}

#[test]
fn no_surface_leaks_a_token_or_an_rclone_key() {
    let t = tempfile::tempdir().unwrap();
    let farm = farm(t.path(), "");

    let once = farm.once();
    assert_clean("--once stderr", &once.stderr);
    assert_clean("--once stdout", &once.stdout);
    // Not vacuous: the values were there, masked.
    assert!(
        once.stderr.contains("user:***@127.0.0.1:9/private.git"),
        "{}",
        once.stderr
    );
    assert!(once.stderr.contains("upload failed"), "{}", once.stderr);

    let check = farm.subcommand(&["check"]);
    assert_clean("check", &format!("{}{}", check.stdout, check.stderr));
    let explain = farm.subcommand(&["explain", "private"]);
    assert_clean("explain", &format!("{}{}", explain.stdout, explain.stderr));
    let explain = farm.subcommand(&["explain", "pkg", "--json"]);
    assert_clean("explain --json", &explain.stdout);

    // Everything the database holds as text.
    let db = rusqlite::Connection::open(farm.state.join("manager.db")).unwrap();
    let mut dump = String::new();
    for table in ["builds", "failures", "upload_state", "polls", "paused"] {
        let mut st = db.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let n = st.column_count();
        let mut rows = st.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            for i in 0..n {
                if let Ok(Some(s)) = r.get::<_, Option<String>>(i) {
                    if table != "builds" || st_name(r, i) != "git" {
                        dump.push_str(&s);
                        dump.push('\n');
                    }
                }
            }
        }
    }
    assert_clean("SQLite error text", &dump);
    drop(db);

    // The daemon's surfaces.
    let port = free_port();
    farm.write_config(&format!(
            "[upload]\nbackend = \"rclone\"\nremote = \"{}\"\nretry_min = \"1s\"\nretry_max = \"1s\"\ntimeout = \"20s\"\n[http]\naddr = \"127.0.0.1:{port}\"\n",
        remote()
    ));
    let d = Daemon::start(&farm, port, &["--log-level", "debug"], &[]);
    d.wait_for("the private poll", |l| {
        l.contains("ls-remote failed") && l.contains("recipe=private")
    });
    let (code, status) = d.get("/status");
    assert_eq!(code, 200);
    assert_clean("/status", &status);
    let v: serde_json::Value = serde_json::from_str(&status).expect("/status is still JSON");
    let private = v["recipe_details"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == "private")
        .unwrap()
        .clone();
    assert_eq!(
        private["git"], "https://user:***@127.0.0.1:9/private.git",
        "{private}"
    );
    assert!(
        v["upload"]["backend"]
            .as_str()
            .unwrap()
            .contains("secret_access_key=***"),
        "{}",
        v["upload"]
    );
    let (_, page) = d.get("/");
    assert_clean("dashboard", &page);
    let (_, metrics) = d.get("/metrics");
    assert_clean("/metrics", &metrics);
    let (_, text) = d.stop();
    assert_clean("daemon log", &text);
}

fn st_name(r: &rusqlite::Row<'_>, i: usize) -> String {
    r.as_ref()
        .column_name(i)
        .map(str::to_string)
        .unwrap_or_default()
}

#[test]
fn errors_stored_by_an_older_version_are_scrubbed_on_open() {
    let t = tempfile::tempdir().unwrap();
    let farm = farm(t.path(), "");
    // Create the database, then plant what an older version left: the
    // poll error of a recipe since removed, with its token.
    farm.once();
    let db_path = farm.state.join("manager.db");
    {
        let db = rusqlite::Connection::open(&db_path).unwrap();
        db.execute(
            "INSERT INTO polls VALUES ('gone', 1, 0, ?1, 0, 0)",
            [format!(
                "git ls-remote https://x:{TOKEN}@h/gone.git: exit 128; remote {}",
                remote()
            )],
        )
        .unwrap();
    }
    let r = farm.subcommand(&["explain", "pkg"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let db = rusqlite::Connection::open(&db_path).unwrap();
    let err: String = db
        .query_row("SELECT error FROM polls WHERE recipe = 'gone'", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_clean("old stored poll error", &err);
    assert!(err.contains("https://x:***@h/gone.git"), "{err}");
}
