//! The browse site in a real browser: headless Chromium loads the pages
//! from a local HTTP server that serves the state under a path prefix (and,
//! like object storage, no directory indexes); the test asserts on the DOM
//! Chromium built and saves screenshots as test artifacts.
//!
//! Skips (loudly) only when Chromium is missing and `CI` is unset; in CI a
//! missing Chromium fails the test.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use common::*;

const PREFIX: &str = "/mirror/peios";

/// A minimal static file server: GET only, percent-decoding, no directory
/// listings or index files. Records every requested path.
struct Server {
    port: u16,
    log: Arc<Mutex<Vec<(String, u16)>>>,
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn serve(root: PathBuf) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            let log = log2.clone();
            std::thread::spawn(move || handle(stream, &root, &log));
        }
    });
    Server { port, log }
}

fn handle(mut stream: TcpStream, root: &Path, log: &Mutex<Vec<(String, u16)>>) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    let mut line = String::new();
    // Browsers open speculative connections that never send a request.
    if reader.read_line(&mut line).unwrap_or(0) == 0 || !line.starts_with("GET ") {
        return;
    }
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
    }
    let target = line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let path = target.split(['?', '#']).next().unwrap_or("/").to_string();
    let decoded = String::from_utf8_lossy(&percent_decode(&path)).into_owned();
    let file = decoded
        .strip_prefix(PREFIX)
        .filter(|rest| rest.starts_with('/') && !rest.contains("/../"))
        .map(|rest| root.join(rest.trim_start_matches('/')));
    let (status, body, ctype) = match file.filter(|f| f.is_file()) {
        Some(f) => {
            let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
            let ctype = match ext {
                "html" => "text/html; charset=utf-8",
                "css" => "text/css",
                "json" => "application/json",
                _ => "application/octet-stream",
            };
            (200, fs::read(f).unwrap(), ctype)
        }
        None => (404, b"not found".to_vec(), "text/plain"),
    };
    log.lock().unwrap().push((decoded, status));
    let _ = write!(
        stream,
        "HTTP/1.1 {status} X\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(&body);
}

fn http_get(port: u16, path: &str) -> (u16, Vec<u8>) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let text = String::from_utf8_lossy(&buf);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body_at = text.find("\r\n\r\n").map(|i| i + 4).unwrap_or(buf.len());
    (status, buf[body_at..].to_vec())
}

/// Text between tags, with entities of our escaper undone: what a reader sees.
fn text_of(dom: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in dom.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
        .replace("&quot;", "\"")
}

fn rows<'a>(dom: &'a str, class: &str) -> Vec<&'a str> {
    dom.split(&format!("<tr class=\"{class}\""))
        .skip(1)
        .map(|r| r.split("</tr>").next().unwrap())
        .collect()
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("artifacts");
    fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn browse_site_renders_in_headless_chromium_under_a_path_prefix() {
    let Some(chrome) = peipkg_testkit::chromium::require(
        "browse_site_renders_in_headless_chromium_under_a_path_prefix",
        Path::new(env!("CARGO_TARGET_TMPDIR")),
    ) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let case = conformance().join("repo-basic");
    let key = test_key_path();
    let repo = t.path().join("state");
    let mut init = init_args("test-repo", &key, "2026-05-07T00:00:00Z", &repo);
    init.extend(["--description", "Conformance <repository> & friends"]);
    ok(&init);
    for (input, ts) in CONFORMANCE_RUNS {
        ok(&publish_args(&repo, &case.join(input), &key, ts, &repo));
    }
    let server = serve(repo.clone());
    let base = format!("http://127.0.0.1:{}{PREFIX}", server.port);
    let fp = test_key().public_key().fingerprint();
    let grouped = peipkg_format::keys::group_fingerprint(&fp);

    // Front page.
    let dom = peipkg_testkit::chromium::run(
        &chrome,
        &t.path().join("profile-1"),
        &["--dump-dom"],
        &format!("{base}/index.html"),
    );
    assert!(dom.contains("<h1 id=\"repo-name\">test-repo</h1>"), "{dom}");
    assert!(
        dom.contains("Conformance &lt;repository&gt; &amp; friends"),
        "description escaped"
    );
    let packages = rows(&dom, "package");
    let names: Vec<&str> = packages
        .iter()
        .map(|r| {
            r.split("data-name=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
        })
        .collect();
    assert_eq!(names, ["hello", "libfoo", "libfoo-dev", "libfoo-doc"]);
    let hello = text_of(packages[0]);
    for want in [
        "0.2-1",
        "noarch",
        "Smallest legal peipkg test fixture.",
        "783 B",
        "—",
    ] {
        assert!(hello.contains(want), "{want:?} not in hello row: {hello}");
    }
    let dev = text_of(packages[2]);
    assert!(
        dev.contains("libc-dev (>= 1.0, < 2.0), libfoo (= 1:1.2.3~rc1-2)"),
        "deps as text: {dev}"
    );
    assert!(!dom.contains("[object Object]"));
    assert!(
        dom.contains(&grouped),
        "signing key fingerprint on the front page"
    );
    assert!(dom.contains("<dd id=\"index-version\">3</dd>"));

    // A package page, reached through the front page's relative link.
    let link = packages[1]
        .split("href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(link, "packages/libfoo.html");
    let dom = peipkg_testkit::chromium::run(
        &chrome,
        &t.path().join("profile-2"),
        &["--dump-dom"],
        &format!("{base}/{link}"),
    );
    let text = text_of(&dom);
    for want in [
        "1:1.2.3~rc1-2",
        "libfoo runtime library",
        "MIT OR Apache-2.0",
        "foo-abi (= 1.2-1)",
        "ldconfig",
        "d44851ed325971510deebc802f2dd4e2daf9e9930fab662500f42f2952a5a831",
        &grouped,
    ] {
        assert!(text.contains(want), "{want:?} missing from the libfoo page");
    }
    assert!(
        dom.contains("class=\"file file-file\""),
        "file list rendered"
    );
    assert!(text.contains("checked at publish"), "record shown");

    // hello has two archived versions, newest first, each with its signer.
    let dom = peipkg_testkit::chromium::run(
        &chrome,
        &t.path().join("profile-3"),
        &["--dump-dom"],
        &format!("{base}/packages/hello.html"),
    );
    let versions: Vec<String> = rows(&dom, "version")
        .iter()
        .map(|r| {
            r.split("data-version=\"")
                .nth(1)
                .unwrap()
                .split('"')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(versions, ["0.2-1", "0.1-1"]);
    assert_eq!(
        dom.matches(&grouped).count(),
        3,
        "signer shown for the current version and both rows"
    );
    let download = dom
        .split("class=\"download\" href=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    assert_eq!(download, "../p/hello/0.2-1/hello_0.2-1_noarch.peipkg");
    let (status, body) = http_get(
        server.port,
        &format!("{PREFIX}/p/hello/0.2-1/hello_0.2-1_noarch.peipkg"),
    );
    assert_eq!(status, 200);
    assert_eq!(
        body,
        fs::read(repo.join("p/hello/0.2-1/hello_0.2-1_noarch.peipkg")).unwrap()
    );

    // Screenshots, kept as artifacts.
    let out = artifacts();
    for (page, name) in [
        ("index.html", "site-front.png"),
        ("packages/libfoo-dev.html", "site-package.png"),
    ] {
        let shot = out.join(name);
        let _ = fs::remove_file(&shot);
        peipkg_testkit::chromium::run(
            &chrome,
            &t.path().join(format!("profile-{name}")),
            &[
                &format!("--screenshot={}", shot.display()),
                "--window-size=1280,1000",
            ],
            &format!("{base}/{page}"),
        );
        let png =
            fs::read(&shot).unwrap_or_else(|e| panic!("no screenshot {}: {e}", shot.display()));
        assert!(
            png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
            "{name} is not a real screenshot"
        );
        eprintln!("screenshot: {}", shot.display());
    }

    // Everything the browser fetched was under the prefix and found: the
    // stylesheet loaded, no external resources exist to fetch.
    let log = server.log.lock().unwrap().clone();
    let mut seen: BTreeMap<String, u16> = BTreeMap::new();
    for (path, status) in &log {
        seen.insert(path.clone(), *status);
    }
    assert_eq!(
        seen.get(&format!("{PREFIX}/assets/style.css")),
        Some(&200),
        "{seen:?}"
    );
    for (path, status) in &seen {
        assert!(
            path.starts_with(PREFIX),
            "request outside the prefix: {path} (all: {log:?})"
        );
        if path.ends_with(".html") || path.ends_with(".css") {
            assert_eq!(*status, 200, "{path}");
        }
    }
    for page in ["index.html", "packages/hello.html", "packages/libfoo.html"] {
        let html = fs::read_to_string(repo.join(page)).unwrap();
        assert!(!html.contains("http://"), "absolute http link in {page}");
        assert!(
            !html.contains("<script") && !html.contains("fonts."),
            "external resources in {page}"
        );
    }
}
