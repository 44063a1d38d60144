//! A plain server-rendered page for people: what is running, queued,
//! failing, and the recent builds with their logs. No scripts, so it works
//! in any browser and behind any proxy.

use std::fmt::Write;

use crate::farm::Farm;
use crate::store::rfc3339;

pub(crate) fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '&' => o.push_str("&amp;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

const STYLE: &str = "\
:root{color-scheme:light dark;--fg:#1d2330;--muted:#5d6675;--line:#dde1e8;--bg:#fff;--head:#f3f5f8;\
--ok:#137333;--bad:#b3261e;--warn:#8a5a00;--link:#0b57d0}\
@media (prefers-color-scheme:dark){:root{--fg:#e3e6ec;--muted:#9aa3b2;--line:#343a46;--bg:#15181e;\
--head:#1e232b;--ok:#6dd58c;--bad:#ff8a80;--warn:#f2c14e;--link:#8ab4f8}}\
*{box-sizing:border-box}\
body{font:15px/1.45 system-ui,-apple-system,\"Segoe UI\",sans-serif;margin:0;color:var(--fg);background:var(--bg)}\
main{max-width:72rem;margin:0 auto;padding:1.5rem 1.5rem 3rem}\
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.1rem;margin:1.75rem 0 .5rem}\
.sub{color:var(--muted);margin:0 0 1rem}\
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(9rem,1fr));gap:.75rem;margin:1rem 0}\
.card{border:1px solid var(--line);border-radius:.5rem;padding:.6rem .8rem;background:var(--head)}\
.card b{display:block;font-size:1.4rem}.card span{color:var(--muted);font-size:.85rem}\
table{border-collapse:collapse;width:100%;font-size:.92rem}\
th{background:var(--head);font-weight:600}\
td,th{border-bottom:1px solid var(--line);padding:.35rem .55rem;text-align:left;vertical-align:top}\
td code{font-size:.85em;word-break:break-word}\
td:first-child,time{white-space:nowrap}\
.none{color:var(--muted)}\
.failed,.bad{color:var(--bad)}.published,.ok{color:var(--ok)}\
.queued,.running,.built,.warn{color:var(--warn)}.cancelled{color:var(--muted)}\
a{color:var(--link)}\
footer{margin-top:2rem;color:var(--muted);font-size:.9rem}";

/// A timestamp that does not wrap at its hyphens.
fn time(t: &str) -> String {
    format!("<time>{}</time>", esc(t))
}

pub(crate) fn page(farm: &Farm) -> anyhow::Result<String> {
    let st = super::status::status(farm)?;
    let recent = farm.queue().store().recent_builds(50)?;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{id} – peipkg-manager</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>{STYLE}</style></head><body><main>\
         <h1>peipkg-manager: {id}</h1>",
        id = esc(&st.farm_id)
    );
    let _ = write!(
        h,
        "<p class=\"sub\">Running since {}.{}</p>",
        esc(&st.started_at),
        if st.draining {
            " <strong class=\"warn\">Shutting down: draining.</strong>"
        } else {
            ""
        }
    );
    if let Some(warning) = &st.sandbox.warning {
        let _ = write!(
            h,
            "<p class=\"sandbox-warning\"><strong class=\"warn\">Sandbox off:</strong> {}</p>",
            esc(warning)
        );
    }
    if !st.sandbox.network.is_empty() {
        let _ = write!(
            h,
            "<p class=\"sandbox-network\"><strong class=\"warn\">Network granted</strong> to the builds of: {}</p>",
            esc(&st.sandbox.network.join(", "))
        );
    }
    let u = &st.upload;
    let cards: [(String, &str, &str); 6] = [
        (st.recipes.len().to_string(), "recipes", ""),
        (st.running.len().to_string(), "building now", ""),
        (st.queue.len().to_string(), "queued", ""),
        (
            st.failures.len().to_string(),
            "backing off",
            if st.failures.is_empty() { "" } else { "bad" },
        ),
        (st.builds_succeeded.to_string(), "published since start", ""),
        (
            if u.pending { "behind" } else { "up to date" }.to_string(),
            "upload",
            if u.pending { "warn" } else { "ok" },
        ),
    ];
    h.push_str("<div class=\"cards\">");
    for (v, label, class) in cards {
        let _ = write!(
            h,
            "<div class=\"card\"><b class=\"{class}\">{}</b><span>{label}</span></div>",
            esc(&v)
        );
    }
    h.push_str("</div>");
    section(
        &mut h,
        "Running",
        &st.running
            .iter()
            .map(|r| {
                vec![
                    esc(&r.recipe),
                    esc(&r.version),
                    esc(&r.tag),
                    time(&r.started_at),
                    r.job
                        .as_ref()
                        .map(|j| esc(&format!("{} {} {}", j.backend, j.id, j.state)))
                        .unwrap_or_else(|| "local".into()),
                    format!("<a href=\"/builds/{}/log\">log</a>", r.build_id),
                ]
            })
            .collect::<Vec<_>>(),
        &["recipe", "version", "tag", "started", "job", ""],
    );
    section(
        &mut h,
        "Queue",
        &st.queue
            .iter()
            .map(|q| {
                vec![
                    q.build_id.to_string(),
                    esc(&q.recipe),
                    esc(&q.version),
                    esc(&q.tag),
                    esc(&q.source),
                ]
            })
            .collect::<Vec<_>>(),
        &["id", "recipe", "version", "tag", "source"],
    );
    section(
        &mut h,
        "Recipes",
        &st.recipe_details
            .iter()
            .map(|r| {
                let last = match &r.last_poll {
                    None => "<span class=\"none\">not yet</span>".to_string(),
                    Some(p) if p.ok => {
                        format!("<span class=\"ok\">ok</span> {}", time(&p.last_poll))
                    }
                    Some(p) => format!(
                        "<span class=\"bad\">failed</span> {} <code>{}</code>",
                        time(&p.last_poll),
                        esc(p.error.as_deref().unwrap_or(""))
                    ),
                };
                let mut schedule = esc(&r.schedule);
                if r.github_webhook {
                    schedule.push_str(" + webhook");
                }
                if r.paused {
                    schedule = format!("<span class=\"warn\">paused</span> ({schedule})");
                }
                vec![
                    format!("<b>{}</b>", esc(&r.id)),
                    esc(&r.packages.join(", ")),
                    schedule,
                    last,
                    r.next_poll.as_deref().map(time).unwrap_or_default(),
                ]
            })
            .collect::<Vec<_>>(),
        &["recipe", "packages", "watched", "last poll", "next poll"],
    );
    section(
        &mut h,
        "Failing (backing off)",
        &st.failures
            .iter()
            .map(|(k, f)| {
                vec![
                    esc(k),
                    f.failures.to_string(),
                    time(&f.next_retry),
                    format!("<code>{}</code>", esc(&f.last_error)),
                ]
            })
            .collect::<Vec<_>>(),
        &["build", "failures", "next retry", "last error"],
    );
    if !st.broken_recipes.is_empty() {
        section(
            &mut h,
            "Broken recipes",
            &st.broken_recipes
                .iter()
                .map(|(k, e)| vec![esc(k), format!("<code>{}</code>", esc(e))])
                .collect::<Vec<_>>(),
            &["recipe", "problems"],
        );
    }
    if !st.moved_tags.is_empty() {
        section(
            &mut h,
            "Moved tags (not rebuilt)",
            &st.moved_tags
                .iter()
                .map(|m| {
                    vec![
                        esc(&m.recipe),
                        esc(&m.tag),
                        esc(&m.version),
                        format!("<code>{}</code>", esc(&m.published_commit)),
                        format!("<code>{}</code>", esc(&m.current_commit)),
                    ]
                })
                .collect::<Vec<_>>(),
            &[
                "recipe",
                "tag",
                "version",
                "published from",
                "now points to",
            ],
        );
    }
    section(
        &mut h,
        "Recent builds",
        &recent
            .iter()
            .map(|b| {
                vec![
                    b.id.to_string(),
                    esc(&b.recipe),
                    esc(&b.version),
                    format!("<span class=\"{s}\">{s}</span>", s = b.state.as_str()),
                    b.started_at.map(|t| time(&rfc3339(t))).unwrap_or_default(),
                    b.error
                        .as_deref()
                        .map(|e| format!("<code>{}</code>", esc(e)))
                        .unwrap_or_default(),
                    if b.log_path.is_some() {
                        format!("<a href=\"/builds/{}/log\">log</a>", b.id)
                    } else {
                        String::new()
                    },
                ]
            })
            .collect::<Vec<_>>(),
        &["id", "recipe", "version", "state", "started", "error", ""],
    );
    let _ = write!(
        h,
        "<h2>Upload</h2><p>Backend <code>{}</code>: {}{}</p>",
        esc(&u.backend),
        if u.pending {
            format!(
                "<span class=\"warn\">behind</span> (state {} of {}){}",
                u.uploaded_generation,
                u.published_generation,
                u.next_attempt
                    .as_deref()
                    .map(|t| format!(", next attempt {}", esc(t)))
                    .unwrap_or_default()
            )
        } else {
            "<span class=\"ok\">up to date</span>".into()
        },
        u.last_error
            .as_ref()
            .map(|e| format!(
                "<br><span class=\"bad\">last error:</span> <code>{}</code>",
                esc(e)
            ))
            .unwrap_or_default()
    );
    let _ = writeln!(
        h,
        "<footer>build workers: {} · <a href=\"/status\">/status</a> · <a href=\"/metrics\">/metrics</a> · \
         <a href=\"/healthz\">/healthz</a> · <a href=\"/readyz\">/readyz</a></footer></main></body></html>",
        st.workers
    );
    Ok(h)
}

fn section(h: &mut String, title: &str, rows: &[Vec<String>], head: &[&str]) {
    let _ = write!(h, "<h2>{}</h2>", esc(title));
    if rows.is_empty() {
        h.push_str("<p class=\"none\">None.</p>");
        return;
    }
    h.push_str("<table><tr>");
    for c in head {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("</tr>");
    for r in rows {
        h.push_str("<tr>");
        for c in r {
            let _ = write!(h, "<td>{c}</td>");
        }
        h.push_str("</tr>");
    }
    h.push_str("</table>");
}
