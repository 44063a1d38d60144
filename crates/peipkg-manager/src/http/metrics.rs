//! `/metrics` in the Prometheus text format, so a farm is monitored with
//! the tools operators already run instead of scraping `/status`.

use std::fmt::Write;

use crate::farm::Farm;

fn esc(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

pub(crate) fn metrics(farm: &Farm) -> anyhow::Result<String> {
    let roster = farm.settings().roster();
    let st = farm.queue().store();
    let c = st.counts(farm.activity().started_at())?;
    let failures = st.failures()?.len();
    let moved = st.moved_tags()?.len();
    let up = st.upload_status()?;
    let polls = st.polls()?;
    let jobs = st.running_job_states()?;
    drop(st);
    let mut o = String::new();
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(o, "# HELP {name} {help}");
        let _ = writeln!(o, "# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(o, "{name}{labels} {v}");
        }
    };
    metric(
        "peipkg_manager_builds",
        "gauge",
        "Builds known to the database, by state.",
        &[
            ("queued", c.queued),
            ("running", c.running),
            ("built", c.built),
            ("published", c.published),
            ("failed", c.failed),
        ]
        .map(|(s, n)| (format!("{{state=\"{s}\"}}"), n as f64)),
    );
    metric(
        "peipkg_manager_cluster_jobs",
        "gauge",
        "Cluster jobs of running builds ([build].executor = \"slurm\"), by the state last seen.",
        &jobs
            .iter()
            .map(|(b, s, n)| {
                (
                    format!("{{backend=\"{}\",state=\"{}\"}}", esc(b), esc(s)),
                    *n as f64,
                )
            })
            .collect::<Vec<_>>(),
    );
    metric(
        "peipkg_manager_builds_attempted_total",
        "counter",
        "Builds started since the process started.",
        &[(String::new(), c.attempted_since as f64)],
    );
    metric(
        "peipkg_manager_builds_succeeded_total",
        "counter",
        "Builds published since the process started.",
        &[(String::new(), c.succeeded_since as f64)],
    );
    metric(
        "peipkg_manager_failures",
        "gauge",
        "Versions in failure backoff.",
        &[(String::new(), failures as f64)],
    );
    metric(
        "peipkg_manager_moved_tags",
        "gauge",
        "Published tags seen pointing at a different commit.",
        &[(String::new(), moved as f64)],
    );
    metric(
        "peipkg_manager_recipes",
        "gauge",
        "Recipes by state.",
        &[
            (
                "{state=\"loaded\"}".to_string(),
                roster.recipes.len() as f64,
            ),
            (
                "{state=\"watched\"}".to_string(),
                roster.watched().count() as f64,
            ),
            ("{state=\"broken\"}".to_string(), roster.broken.len() as f64),
        ],
    );
    metric(
        "peipkg_manager_upload_pending",
        "gauge",
        "1 while the remote is behind the local repository.",
        &[(String::new(), if up.pending() { 1.0 } else { 0.0 })],
    );
    metric(
        "peipkg_manager_upload_failures",
        "gauge",
        "Consecutive failed upload attempts.",
        &[(String::new(), up.failures as f64)],
    );
    metric(
        "peipkg_manager_upload_last_success_timestamp_seconds",
        "gauge",
        "When the remote was last brought up to date.",
        &[(String::new(), up.last_success_at.unwrap_or(0) as f64)],
    );
    let poll_time: Vec<(String, f64)> = polls
        .iter()
        .map(|p| (format!("{{recipe=\"{}\"}}", esc(&p.recipe)), p.at as f64))
        .collect();
    metric(
        "peipkg_manager_poll_last_timestamp_seconds",
        "gauge",
        "When each recipe was last polled.",
        &poll_time,
    );
    let poll_ok: Vec<(String, f64)> = polls
        .iter()
        .map(|p| {
            (
                format!("{{recipe=\"{}\"}}", esc(&p.recipe)),
                if p.ok { 1.0 } else { 0.0 },
            )
        })
        .collect();
    metric(
        "peipkg_manager_poll_ok",
        "gauge",
        "1 if the recipe's last poll worked.",
        &poll_ok,
    );
    metric(
        "peipkg_manager_start_time_seconds",
        "gauge",
        "When the process started.",
        &[(String::new(), farm.activity().started_at() as f64)],
    );
    Ok(o)
}
