//! The dashboard in a real browser: the daemon (the real binary, on a
//! loopback port) has published one recipe, failed another and holds a
//! third that is built only on request; headless Chromium renders `/`, the
//! test asserts on the DOM Chromium built, follows a log link, and saves a
//! screenshot as an artifact (`<target>/tmp/peipkg-manager-dashboard.png`).
//!
//! Skips (loudly) only when Chromium is missing and `CI` is unset; in CI a
//! missing Chromium fails the test.

mod common;

use std::path::PathBuf;

use common::*;

#[test]
fn dashboard_renders_in_headless_chromium() {
    let Some(bin) = peipkg_testkit::chromium::require(
        "dashboard_renders_in_headless_chromium",
        std::path::Path::new(env!("CARGO_TARGET_TMPDIR")),
    ) else {
        return;
    };
    let t = tempfile::tempdir().unwrap();
    let good = Upstream::new(t.path(), "zlib");
    good.release("v1.3.0", "zlib.c", "int a;", false);
    good.release("v1.3.1", "zlib.c", "int b;", true);
    let bad = Upstream::new(t.path(), "broken");
    bad.release("v0.1.0", "b.txt", "b", false);
    let farm = FarmDir::new(t.path());
    farm.recipe(
        "zlib",
        &simple_recipe("zlib", &good.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        &copy_build("zlib"),
    );
    farm.recipe(
        "kernel",
        &simple_recipe("kernel", &bad.url(), r"^v(\d+\.\d+\.\d+)$", ""),
        "#!/bin/sh\necho 'cc: internal compiler error: <Killed> & \"friends\"' >&2\nexit 1\n",
    );
    let manual = simple_recipe("busybox", &good.url(), r"^v(\d+\.\d+\.\d+)$", "");
    farm.recipe(
        "busybox",
        &manual[..manual.find("[watch]").unwrap()],
        &copy_build("busybox"),
    );
    let port = free_port();
    farm.write_config(&format!("[http]\naddr = \"127.0.0.1:{port}\"\n"));
    let d = Daemon::start(&farm, port, &[], &[]);
    d.wait_for_n("two publishes", 2, |l| {
        l.contains("build + publish complete") && l.contains("recipe=zlib")
    });
    d.wait_for("the failed build", |l| {
        l.contains("msg=\"build failed\"") && l.contains("recipe=kernel")
    });

    let url = format!("http://127.0.0.1:{port}/");
    let dom =
        peipkg_testkit::chromium::run(&bin, &t.path().join("profile-dom"), &["--dump-dom"], &url);
    assert!(
        dom.contains("<h1>peipkg-manager: test-farm</h1>"),
        "the page did not render:\n{dom}"
    );
    // Every recipe is listed, with how it is watched.
    let recipes = &dom[dom.find("<h2>Recipes</h2>").expect("a Recipes section")..];
    let recipes = &recipes[..recipes.find("</table>").expect("a recipes table")];
    for id in ["busybox", "kernel", "zlib"] {
        assert!(
            recipes.contains(&format!("<b>{id}</b>")),
            "{id}:\n{recipes}"
        );
    }
    assert!(recipes.contains("on request (no [watch])"), "{recipes}");
    assert!(recipes.contains("every 1h0m0s"), "{recipes}");
    // Build rows with their states and log links.
    let builds = &dom[dom
        .find("<h2>Recent builds</h2>")
        .expect("a builds section")..];
    assert!(
        builds.contains("<span class=\"published\">published</span>"),
        "{builds}"
    );
    assert!(
        builds.contains("<span class=\"failed\">failed</span>"),
        "{builds}"
    );
    assert!(builds.contains("1.3.1-1"), "{builds}");
    // What the build printed is escaped, not interpreted.
    assert!(
        dom.contains("&lt;Killed&gt; &amp; \"friends\""),
        "the error was not escaped:\n{dom}"
    );
    let link = builds
        .split("href=\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .expect("a log link");
    assert!(
        link.starts_with("/builds/") && link.ends_with("/log"),
        "{link}"
    );
    let (code, log) = d.get(link);
    assert_eq!(code, 200);
    assert!(log.contains("peipkg-build build --recipe"), "{log}");

    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("peipkg-manager-dashboard.png");
    let _ = std::fs::remove_file(&shot);
    peipkg_testkit::chromium::run(
        &bin,
        &t.path().join("profile-shot"),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1200,900",
            "--hide-scrollbars",
        ],
        &url,
    );
    let png = std::fs::read(&shot).expect("chromium wrote no screenshot");
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 10_000,
        "not a real screenshot ({} bytes)",
        png.len()
    );
    eprintln!("dashboard screenshot: {}", shot.display());
    let (code, text) = d.stop();
    assert_eq!(code, Some(0), "{text}");
}
