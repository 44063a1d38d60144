//! A plain server-rendered page for people: what is running, queued,
//! failing, and the recent builds with their logs. No scripts, so it works
//! in any browser and behind any proxy.

use std::fmt::Write;

use crate::farm::Farm;
use crate::store::rfc3339;

pub fn esc(s: &str) -> String {
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

pub fn page(farm: &Farm) -> anyhow::Result<String> {
    let st = super::status::status(farm)?;
    let recent = farm.store().recent_builds(50)?;
    let mut h = String::new();
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{id} – peipkg-manager</title>\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <style>body{{font-family:system-ui,sans-serif;margin:2em;max-width:70em}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border-bottom:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}}\
         .failed{{color:#b00}}.published{{color:#070}}code{{font-size:.9em}}</style></head><body>\
         <h1>peipkg-manager: {id}</h1>",
        id = esc(&st.farm_id)
    );
    let _ = write!(
        h,
        "<p>Started {}. {} recipes watched, {} builds attempted and {} published since start.{}</p>",
        esc(&st.started_at),
        st.recipes.len(),
        st.builds_attempted,
        st.builds_succeeded,
        if st.draining { " <strong>Shutting down: draining.</strong>" } else { "" }
    );
    let u = &st.upload;
    let _ = write!(
        h,
        "<h2>Upload</h2><p>Backend <code>{}</code>: {}{}</p>",
        esc(&u.backend),
        if u.pending {
            format!(
                "behind (generation {} of {})",
                u.uploaded_generation, u.published_generation
            )
        } else {
            "up to date".into()
        },
        u.last_error
            .as_ref()
            .map(|e| format!(" <span class=\"failed\">last error: {}</span>", esc(e)))
            .unwrap_or_default()
    );
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
                    esc(&r.started_at),
                    format!("<a href=\"/builds/{}/log\">log</a>", r.build_id),
                ]
            })
            .collect::<Vec<_>>(),
        &["recipe", "version", "tag", "started", ""],
    );
    section(
        &mut h,
        "Queue",
        &st.queue
            .iter()
            .map(|q| vec![esc(&q.recipe), esc(&q.version), esc(&q.tag), esc(&q.source)])
            .collect::<Vec<_>>(),
        &["recipe", "version", "tag", "source"],
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
                    esc(&f.next_retry),
                    format!("<code>{}</code>", esc(&f.last_error)),
                ]
            })
            .collect::<Vec<_>>(),
        &["build", "failures", "next retry", "last error"],
    );
    section(
        &mut h,
        "Broken recipes",
        &st.broken_recipes
            .iter()
            .map(|(k, e)| vec![esc(k), format!("<code>{}</code>", esc(e))])
            .collect::<Vec<_>>(),
        &["recipe", "problems"],
    );
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
                    esc(&m.published_commit),
                    esc(&m.current_commit),
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
                    b.started_at.map(rfc3339).unwrap_or_default(),
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
    h.push_str("<p><a href=\"/status\">/status</a> · <a href=\"/metrics\">/metrics</a> · <a href=\"/healthz\">/healthz</a></p></body></html>\n");
    Ok(h)
}

fn section(h: &mut String, title: &str, rows: &[Vec<String>], head: &[&str]) {
    let _ = write!(h, "<h2>{}</h2>", esc(title));
    if rows.is_empty() {
        h.push_str("<p>None.</p>");
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
