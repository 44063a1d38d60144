//! The database schema and its migrations.
//!
//! Migrations are applied in order inside one transaction each, and the
//! database records how far it got in `PRAGMA user_version`, so an older
//! state directory is upgraded in place at start and a newer one (written
//! by a later release) is refused rather than misread.

use rusqlite::Connection;

/// Each entry upgrades the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    // 1: builds (the queue is the builds that are not finished), failures
    // with their backoff, the commits published tags pointed to, tags seen
    // moved since, upload progress, and per-recipe poll results.
    r#"
    CREATE TABLE builds (
        id              INTEGER PRIMARY KEY,
        recipe          TEXT NOT NULL,
        version         TEXT NOT NULL,
        tag             TEXT NOT NULL,
        git             TEXT NOT NULL,
        tag_commit      TEXT NOT NULL,
        built_commit    TEXT,
        source          TEXT NOT NULL,
        state           TEXT NOT NULL,
        queued_at       INTEGER NOT NULL,
        started_at      INTEGER,
        finished_at     INTEGER,
        published_at    INTEGER,
        build_timestamp TEXT,
        outputs         TEXT NOT NULL DEFAULT '[]',
        error           TEXT,
        log_path        TEXT
    );
    CREATE INDEX builds_by_state ON builds(state, id);
    CREATE INDEX builds_by_key ON builds(recipe, version);

    CREATE TABLE failures (
        recipe         TEXT NOT NULL,
        version        TEXT NOT NULL,
        tag            TEXT NOT NULL,
        failures       INTEGER NOT NULL,
        last_error     TEXT NOT NULL,
        last_failed_at INTEGER NOT NULL,
        next_retry_at  INTEGER NOT NULL,
        PRIMARY KEY (recipe, version)
    );

    CREATE TABLE published_tags (
        recipe       TEXT NOT NULL,
        tag          TEXT NOT NULL,
        version      TEXT NOT NULL,
        commit_id    TEXT NOT NULL,
        published_at INTEGER NOT NULL,
        PRIMARY KEY (recipe, tag)
    );

    CREATE TABLE moved_tags (
        recipe           TEXT NOT NULL,
        tag              TEXT NOT NULL,
        version          TEXT NOT NULL,
        published_commit TEXT NOT NULL,
        seen_commit      TEXT NOT NULL,
        first_seen_at    INTEGER NOT NULL,
        last_seen_at     INTEGER NOT NULL,
        PRIMARY KEY (recipe, tag, seen_commit)
    );

    CREATE TABLE upload_state (
        id                   INTEGER PRIMARY KEY CHECK (id = 1),
        published_generation INTEGER NOT NULL,
        uploaded_generation  INTEGER NOT NULL,
        failures             INTEGER NOT NULL,
        last_error           TEXT,
        last_attempt_at      INTEGER,
        next_attempt_at      INTEGER,
        last_success_at      INTEGER
    );
    INSERT INTO upload_state VALUES (1, 0, 0, 0, NULL, NULL, NULL, NULL);

    CREATE TABLE polls (
        recipe       TEXT PRIMARY KEY,
        last_poll_at INTEGER NOT NULL,
        ok           INTEGER NOT NULL,
        error        TEXT,
        tags_seen    INTEGER NOT NULL,
        candidates   INTEGER NOT NULL
    );
    "#,
    // 2: operator control. Requests a command line leaves for the daemon
    // (poll a recipe now), and recipes an operator paused.
    r#"
    CREATE TABLE requests (
        id           INTEGER PRIMARY KEY,
        kind         TEXT NOT NULL,
        recipe       TEXT NOT NULL,
        requested_at INTEGER NOT NULL
    );
    CREATE TABLE paused (
        recipe    TEXT PRIMARY KEY,
        paused_at INTEGER NOT NULL,
        reason    TEXT NOT NULL
    );
    "#,
    // 3: the cluster job of each build (`[build].executor = "slurm"`), so
    // a restart re-attaches to it and `/status` can name it.
    r#"
    CREATE TABLE backend_jobs (
        build_id   INTEGER PRIMARY KEY,
        backend    TEXT NOT NULL,
        job_id     TEXT NOT NULL,
        state      TEXT NOT NULL,
        updated_at INTEGER NOT NULL
    );
    "#,
];

#[derive(Debug, thiserror::Error)]
pub enum MigrateError {
    #[error("database schema version {found} is newer than this program understands ({known}); refusing to touch it")]
    TooNew { found: i64, known: i64 },
    #[error("database migration to schema version {to} failed: {source}")]
    Sql { to: i64, source: rusqlite::Error },
}

pub fn migrate(conn: &mut Connection) -> Result<(), MigrateError> {
    let known = MIGRATIONS.len() as i64;
    let found: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(|source| MigrateError::Sql { to: 0, source })?;
    if found > known {
        return Err(MigrateError::TooNew { found, known });
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let to = i as i64 + 1;
        let tx = conn
            .transaction()
            .map_err(|source| MigrateError::Sql { to, source })?;
        tx.execute_batch(sql)
            .and_then(|_| tx.execute_batch(&format!("PRAGMA user_version = {to}")))
            .map_err(|source| MigrateError::Sql { to, source })?;
        tx.commit()
            .map_err(|source| MigrateError::Sql { to, source })?;
    }
    Ok(())
}
