use super::*;

fn nb(recipe: &str, version: &str) -> NewBuild {
    NewBuild {
        recipe: recipe.into(),
        version: version.into(),
        tag: format!("v{version}"),
        git: "https://example.org/x".into(),
        tag_commit: "a".repeat(40),
        source: "poll".into(),
    }
}

#[test]
fn schedule_is_the_reference_table() {
    let mins: Vec<u64> = [0, 1, 2, 3, 4, 5, 6, 7, 99]
        .iter()
        .map(|&n| backoff_after(n).as_secs() / 60)
        .collect();
    assert_eq!(mins, vec![1, 1, 5, 15, 60, 360, 1440, 1440, 1440]);
}

#[test]
fn queue_dedups_and_claims_oldest_first() {
    let mut s = Store::open_in_memory().unwrap();
    let a = s.enqueue(&nb("zlib", "1.0-1"), 10).unwrap().unwrap();
    assert_eq!(s.enqueue(&nb("zlib", "1.0-1"), 11).unwrap(), None);
    let b = s.enqueue(&nb("zlib", "1.1-1"), 12).unwrap().unwrap();
    let first = s.claim_next(20).unwrap().unwrap();
    assert_eq!(first.id, a);
    assert_eq!(first.state, BuildState::Running);
    // Still a duplicate while running, and while built.
    assert_eq!(s.enqueue(&nb("zlib", "1.0-1"), 21).unwrap(), None);
    s.mark_built(
        a,
        &["libz_1.0-1_x86_64.peipkg".into()],
        "2024-01-01T00:00:00Z",
        "c0ffee",
        30,
    )
    .unwrap();
    assert_eq!(s.enqueue(&nb("zlib", "1.0-1"), 31).unwrap(), None);
    s.mark_published(a, 40).unwrap();
    // A finished build no longer blocks (dedup against the archive is the
    // caller's job).
    assert!(s.enqueue(&nb("zlib", "1.0-1"), 41).unwrap().is_some());
    assert_eq!(s.claim_next(50).unwrap().unwrap().id, b);
    let row = s.build(a).unwrap().unwrap();
    assert_eq!(row.outputs, vec!["libz_1.0-1_x86_64.peipkg".to_string()]);
    assert_eq!(row.built_commit.as_deref(), Some("c0ffee"));
}

#[test]
fn failures_back_off_and_come_due() {
    let s = Store::open_in_memory().unwrap();
    let f = s
        .record_failure("musl", "1.2.5-1", "v1.2.5", "boom", 1000)
        .unwrap();
    assert_eq!((f.failures, f.next_retry_at), (1, 1060));
    assert!(s.in_backoff("musl", "1.2.5-1", 1059).unwrap().is_some());
    assert!(s.in_backoff("musl", "1.2.5-1", 1060).unwrap().is_none());
    assert!(s.in_backoff("musl", "1.2.6-1", 1000).unwrap().is_none());
    let f = s
        .record_failure("musl", "1.2.5-1", "v1.2.5", "boom again", 1100)
        .unwrap();
    assert_eq!((f.failures, f.next_retry_at), (2, 1400));
    assert_eq!(s.due_retries(1399).unwrap().len(), 0);
    assert_eq!(s.due_retries(1400).unwrap()[0].key(), "musl@1.2.5-1");
    assert_eq!(s.next_retry_at(1399).unwrap(), Some(1400));
    // A window already over is not a reason to wake again.
    assert_eq!(s.next_retry_at(1400).unwrap(), None);
    s.clear_failure("musl", "1.2.5-1").unwrap();
    assert!(s.failures().unwrap().is_empty());
}

#[test]
fn due_retries_skip_versions_already_queued() {
    let mut s = Store::open_in_memory().unwrap();
    s.record_failure("a", "1-1", "v1", "x", 0).unwrap();
    assert_eq!(s.due_retries(100).unwrap().len(), 1);
    s.enqueue(&nb("a", "1-1"), 100).unwrap();
    assert_eq!(s.due_retries(100).unwrap().len(), 0);
}

#[test]
fn state_survives_reopening_and_interrupted_builds_are_requeued() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(DB_FILE);
    {
        let mut s = Store::open(&path).unwrap();
        s.enqueue(&nb("a", "1-1"), 1).unwrap();
        s.enqueue(&nb("b", "2-1"), 2).unwrap();
        s.claim_next(3).unwrap();
        s.record_failure("c", "3-1", "v3", "bad", 4).unwrap();
        s.record_published_tag("a", "v0", "0-1", "abc", 5).unwrap();
        s.bump_generation().unwrap();
    }
    let s = Store::open(&path).unwrap();
    let again = s.requeue_interrupted().unwrap();
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].recipe, "a");
    assert_eq!(s.queued().unwrap().len(), 2);
    assert_eq!(s.failures().unwrap()[0].key(), "c@3-1");
    assert_eq!(
        s.published_commit("a", "v0").unwrap().as_deref(),
        Some("abc")
    );
    assert!(s.upload_status().unwrap().pending());
}

#[test]
fn a_newer_schema_is_refused() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join(DB_FILE);
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("PRAGMA user_version = 99").unwrap();
    }
    let e = Store::open(&path).err().unwrap().to_string();
    assert!(e.contains("newer"), "{e}");
}

#[test]
fn moved_tags_are_recorded_once_per_move() {
    let s = Store::open_in_memory().unwrap();
    assert!(s
        .record_moved_tag("a", "v1", "1-1", "old", "new", 10)
        .unwrap());
    assert!(!s
        .record_moved_tag("a", "v1", "1-1", "old", "new", 20)
        .unwrap());
    let m = s.moved_tags().unwrap();
    assert_eq!(m.len(), 1);
    assert_eq!((m[0].first_seen_at, m[0].last_seen_at), (10, 20));
}

#[test]
fn upload_generations() {
    let s = Store::open_in_memory().unwrap();
    assert!(!s.upload_status().unwrap().pending());
    let g = s.bump_generation().unwrap();
    assert_eq!(s.record_upload_failure("net down", 5, 35).unwrap(), 1);
    let st = s.upload_status().unwrap();
    assert!(st.pending());
    assert_eq!(st.next_attempt_at, Some(35));
    s.record_upload_success(g, 40).unwrap();
    let st = s.upload_status().unwrap();
    assert!(!st.pending());
    assert_eq!(st.failures, 0);
}

#[test]
fn counts_split_lifetime_from_since() {
    let mut s = Store::open_in_memory().unwrap();
    s.enqueue(&nb("a", "1-1"), 1).unwrap();
    s.enqueue(&nb("a", "2-1"), 1).unwrap();
    let b = s.claim_next(5).unwrap().unwrap();
    s.mark_built(b.id, &[], "t", "c", 6).unwrap();
    s.mark_published(b.id, 7).unwrap();
    let c = s.counts(0).unwrap();
    assert_eq!(
        (c.queued, c.published, c.attempted_since, c.succeeded_since),
        (1, 1, 1, 1)
    );
    let c = s.counts(100).unwrap();
    assert_eq!((c.attempted_since, c.succeeded_since), (0, 0));
}

#[test]
fn operator_control_requests_pauses_retries_and_cancels() {
    let mut s = Store::open_in_memory().unwrap();
    assert!(s.request_poll("a", 10).unwrap());
    assert!(
        !s.request_poll("a", 11).unwrap(),
        "a pending request is not doubled"
    );
    assert!(s.request_poll("b", 12).unwrap());
    assert_eq!(s.pending_poll_requests().unwrap(), vec!["a", "b"]);
    assert_eq!(s.take_poll_requests().unwrap(), vec!["a", "b"]);
    assert!(s.take_poll_requests().unwrap().is_empty());

    // A paused recipe's queued builds and retries wait; others go on.
    let a = s.enqueue(&nb("a", "1-1"), 20).unwrap().unwrap();
    let b = s.enqueue(&nb("b", "1-1"), 21).unwrap().unwrap();
    s.record_failure("a", "0-1", "v0", "x", 0).unwrap();
    assert!(s.pause("a", "operator", 22).unwrap());
    assert!(!s.pause("a", "again", 23).unwrap());
    assert!(s.is_paused("a").unwrap());
    assert_eq!(s.claim_next(30).unwrap().unwrap().id, b);
    assert!(s.claim_next(30).unwrap().is_none());
    assert!(s.due_retries(1000).unwrap().is_empty());
    assert_eq!(s.next_retry_at(0).unwrap(), None);
    assert!(s.resume("a").unwrap());
    assert!(!s.resume("a").unwrap());
    assert_eq!(s.due_retries(1000).unwrap().len(), 1);

    // Retry now ends the window; cancel takes only queued builds.
    s.record_failure("c", "2-1", "v2", "x", 1000).unwrap();
    assert!(s.due_retries(1001).unwrap().iter().all(|f| f.recipe != "c"));
    assert!(s.retry_now("c", "2-1", 1001).unwrap());
    assert!(s.due_retries(1001).unwrap().iter().any(|f| f.recipe == "c"));
    assert!(!s.retry_now("c", "9-1", 1001).unwrap());
    assert!(s.cancel_queued(a, 40).unwrap());
    assert!(!s.cancel_queued(b, 40).unwrap(), "b is running");
    assert_eq!(s.build(a).unwrap().unwrap().state, BuildState::Cancelled);
}

#[test]
fn logs_of_old_finished_builds_expire() {
    let mut s = Store::open_in_memory().unwrap();
    let old = s.enqueue(&nb("a", "1-1"), 10).unwrap().unwrap();
    s.set_log_path(old, "/l/old.log").unwrap();
    s.mark_failed(old, "x", 20).unwrap();
    let new = s.enqueue(&nb("a", "2-1"), 10).unwrap().unwrap();
    s.set_log_path(new, "/l/new.log").unwrap();
    s.mark_failed(new, "x", 200).unwrap();
    let running = s.enqueue(&nb("b", "1-1"), 10).unwrap().unwrap();
    s.set_log_path(running, "/l/run.log").unwrap();
    s.claim_next(10).unwrap();
    s.claim_next(10).unwrap();
    assert_eq!(s.expire_logs(100).unwrap(), vec!["/l/old.log"]);
    assert_eq!(s.build(old).unwrap().unwrap().log_path, None);
    assert!(s.build(new).unwrap().unwrap().log_path.is_some());
    assert!(s.build(running).unwrap().unwrap().log_path.is_some());
    assert!(s.expire_logs(100).unwrap().is_empty());
}
