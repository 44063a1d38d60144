//! The HTTP server under hostile load: slow clients neither take a thread
//! each nor starve `/healthz`, and a client that sends its headers or its
//! body too slowly is dropped after `[http].read_timeout`.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|d| d.count())
        .unwrap_or(0)
}

fn start(t: &std::path::Path, http_extra: &str) -> (FarmDir, Daemon) {
    let farm = FarmDir::new(t);
    let port = free_port();
    farm.write_config(&format!(
        "[http]\naddr = \"127.0.0.1:{port}\"\n{http_extra}"
    ));
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for("the server", |l| l.contains("webhook server listening"));
    (farm, d)
}

/// Half a request: the request line and one header, never the blank line.
fn slow_client(port: u16) -> TcpStream {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.write_all(b"GET /status HTTP/1.1\r\nHost: x\r\n").unwrap();
    s
}

/// Reads until EOF or `limit`; returns what came and how long it took.
fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration, bool) {
    let start = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return (out, start.elapsed(), true),
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                return (out, start.elapsed(), true)
            }
            Err(_) => return (out, start.elapsed(), false),
        }
        if start.elapsed() > limit {
            return (out, start.elapsed(), false);
        }
    }
}

#[test]
fn two_hundred_slow_clients_take_no_thread_each_and_healthz_answers() {
    let t = tempfile::tempdir().unwrap();
    // The default read timeout (10 s) outlasts the test.
    let (_farm, d) = start(t.path(), "");
    let pid = d.child.id();
    // Let start-up threads (poll, build) settle.
    std::thread::sleep(Duration::from_millis(500));
    let before = threads(pid);
    let clients: Vec<TcpStream> = (0..200).map(|_| slow_client(d.port)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let during = threads(pid);
    let start = Instant::now();
    let (code, body) = d.get("/healthz");
    let took = start.elapsed();
    assert_eq!((code, body.as_str()), (200, "ok\n"));
    assert!(
        took < Duration::from_secs(2),
        "/healthz took {took:?} with 200 slow clients connected"
    );
    assert!(
        during < before + 20,
        "200 slow clients grew the daemon from {before} to {during} threads"
    );
    // /status still answers too.
    let st = d.status();
    assert_eq!(st["farm_id"], "test-farm");
    drop(clients);
    d.stop();
}

#[test]
fn slow_headers_and_slow_bodies_are_dropped_after_the_read_timeout() {
    let t = tempfile::tempdir().unwrap();
    let secret = t.path().join("secret");
    std::fs::write(&secret, "s3cret\n").unwrap();
    let (_farm, d) = start(
        t.path(),
        &format!(
            "read_timeout = \"1s\"\nwebhook_secret_file = \"{}\"\n",
            secret.display()
        ),
    );
    // Headers never finished.
    let mut s = slow_client(d.port);
    let (_, took, closed) = read_until_closed(&mut s, Duration::from_secs(8));
    assert!(closed, "a slow-header client was not dropped ({took:?})");
    assert!(took < Duration::from_secs(5), "dropped only after {took:?}");
    // Nothing sent at all.
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    let (_, took, closed) = read_until_closed(&mut s, Duration::from_secs(8));
    assert!(closed, "a silent client was not dropped ({took:?})");
    // A webhook body that never arrives in full.
    let mut s = TcpStream::connect(("127.0.0.1", d.port)).unwrap();
    s.write_all(
        b"POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"ref\":",
    )
    .unwrap();
    let (out, took, closed) = read_until_closed(&mut s, Duration::from_secs(8));
    let text = String::from_utf8_lossy(&out);
    assert!(
        closed || text.starts_with("HTTP/1.1 408"),
        "a slow body was not cut off ({took:?}): {text}"
    );
    assert!(took < Duration::from_secs(5), "cut off only after {took:?}");
    // The server is fine afterwards.
    assert_eq!(d.get("/healthz").0, 200);
    d.stop();
}

#[test]
fn http_limits_are_validated() {
    let t = tempfile::tempdir().unwrap();
    let farm = FarmDir::new(t.path());
    farm.write_config("[http]\nmax_connections = 0\nread_timeout = \"10ms\"\n");
    let run = farm.subcommand(&["check"]);
    assert_ne!(run.code, 0);
    assert!(
        run.stderr.contains("[http].max_connections 0"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("read_timeout"), "{}", run.stderr);
}

#[test]
fn connections_past_the_bound_wait_for_a_free_slot() {
    let t = tempfile::tempdir().unwrap();
    let (_farm, d) = start(t.path(), "max_connections = 2\nread_timeout = \"2s\"\n");
    let _slow: Vec<TcpStream> = (0..2).map(|_| slow_client(d.port)).collect();
    std::thread::sleep(Duration::from_millis(200));
    // Served, but only once a slow client has been dropped: the third
    // connection waited in the accept queue instead of getting a slot.
    let start = Instant::now();
    let (code, _) = d.get("/healthz");
    let took = start.elapsed();
    assert_eq!(code, 200);
    assert!(
        took >= Duration::from_millis(1000),
        "answered after {took:?}, before any slot was free"
    );
    d.stop();
}
