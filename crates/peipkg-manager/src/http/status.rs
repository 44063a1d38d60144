//! `/status`: the reference's JSON document, field for field (so existing
//! scrapers keep working), followed by what the reference could not say:
//! every running build, the queue, per-recipe poll results, broken
//! recipes, moved tags and the upload state.

use serde::Serialize;

use crate::farm::Farm;
use crate::store::rfc3339;

#[derive(Serialize)]
pub struct Status {
    pub farm_id: String,
    pub recipes: Vec<String>,
    pub builds_attempted: i64,
    pub builds_succeeded: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<InFlightJson>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub failures: std::collections::BTreeMap<String, FailureJson>,
    // Ours from here on.
    pub running: Vec<InFlightJson>,
    pub queue: Vec<QueuedJson>,
    pub waiting_to_publish: Vec<QueuedJson>,
    pub broken_recipes: std::collections::BTreeMap<String, String>,
    pub moved_tags: Vec<MovedJson>,
    pub polls: std::collections::BTreeMap<String, PollJson>,
    pub upload: UploadJson,
    pub started_at: String,
    pub draining: bool,
    /// Build workers running now.
    pub workers: usize,
    /// Paused recipes and why.
    pub paused: std::collections::BTreeMap<String, String>,
    /// Every loaded recipe: what it builds, how it is watched, its polls.
    pub recipe_details: Vec<RecipeJson>,
    /// How builds are isolated.
    pub sandbox: SandboxJson,
}

#[derive(Serialize)]
pub struct SandboxJson {
    /// `[build].sandbox`: `required` or `none`.
    pub mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
    /// Recipes granted the network inside the sandbox (`[[grant]] network`).
    pub network: Vec<String>,
}

#[derive(Serialize)]
pub struct RecipeJson {
    pub id: String,
    pub packages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git: Option<String>,
    /// `every 1h0m0s`, `on request` (no `[watch]`) or `not built` (no
    /// `[upstream]`).
    pub schedule: String,
    pub github_webhook: bool,
    pub paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_poll: Option<PollJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_poll: Option<String>,
}

#[derive(Serialize, Clone)]
pub struct InFlightJson {
    pub recipe: String,
    pub version: String,
    pub started_at: String,
    pub tag: String,
    pub build_id: i64,
    pub log: String,
    /// The build's cluster job (`[build].executor = "slurm"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job: Option<JobJson>,
}

#[derive(Serialize, Clone)]
pub struct JobJson {
    pub backend: String,
    pub id: String,
    pub state: String,
}

impl From<crate::executor::BackendJob> for JobJson {
    fn from(j: crate::executor::BackendJob) -> Self {
        JobJson {
            backend: j.backend,
            id: j.job_id,
            state: j.state,
        }
    }
}

#[derive(Serialize)]
pub struct FailureJson {
    pub failures: i64,
    pub next_retry: String,
    pub last_error: String,
}

#[derive(Serialize)]
pub struct QueuedJson {
    pub recipe: String,
    pub version: String,
    pub tag: String,
    pub build_id: i64,
    pub source: String,
}

#[derive(Serialize)]
pub struct MovedJson {
    pub recipe: String,
    pub tag: String,
    pub version: String,
    pub published_commit: String,
    pub current_commit: String,
    pub first_seen: String,
}

#[derive(Serialize, Clone)]
pub struct PollJson {
    pub last_poll: String,
    pub ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Serialize)]
pub struct UploadJson {
    pub backend: String,
    pub pending: bool,
    pub published_generation: i64,
    pub uploaded_generation: i64,
    pub failures: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_success: Option<String>,
}

pub fn status(farm: &Farm) -> anyhow::Result<Status> {
    let roster = farm.settings().roster();
    let mut running: Vec<InFlightJson> = farm
        .activity()
        .running()
        .into_iter()
        .map(|f| InFlightJson {
            recipe: f.recipe,
            version: f.version,
            started_at: rfc3339(f.started_at),
            tag: f.tag,
            build_id: f.id,
            log: format!("/builds/{}/log", f.id),
            job: None,
        })
        .collect();
    running.sort_by_key(|r| r.build_id);
    let st = farm.queue().store();
    for r in &mut running {
        r.job = st.job_of(r.build_id)?.map(JobJson::from);
    }
    let counts = st.counts(farm.activity().started_at())?;
    let failures = st
        .failures()?
        .into_iter()
        .map(|f| {
            (
                f.key(),
                FailureJson {
                    failures: f.failures,
                    next_retry: rfc3339(f.next_retry_at),
                    last_error: f.last_error,
                },
            )
        })
        .collect();
    let q = |rows: Vec<crate::store::BuildRow>| {
        rows.into_iter()
            .map(|b| QueuedJson {
                recipe: b.recipe,
                version: b.version,
                tag: b.tag,
                build_id: b.id,
                source: b.source,
            })
            .collect::<Vec<_>>()
    };
    let queue = q(st.queued()?);
    let waiting = q(st.builds_in(crate::store::BuildState::Built)?);
    let moved_tags = st
        .moved_tags()?
        .into_iter()
        .map(|m| MovedJson {
            recipe: m.recipe,
            tag: m.tag,
            version: m.version,
            published_commit: m.published_commit,
            current_commit: m.seen_commit,
            first_seen: rfc3339(m.first_seen_at),
        })
        .collect();
    let polls: std::collections::BTreeMap<String, PollJson> = st
        .polls()?
        .into_iter()
        .map(|p| {
            (
                p.recipe,
                PollJson {
                    last_poll: rfc3339(p.at),
                    ok: p.ok,
                    error: p.error,
                },
            )
        })
        .collect();
    let paused: std::collections::BTreeMap<String, String> = st
        .paused()?
        .into_iter()
        .map(|p| (p.recipe, p.reason))
        .collect();
    let up = st.upload_status()?;
    drop(st);
    let cfg = farm.settings().cfg();
    let plan = farm.schedule().plan();
    let recipe_details = roster
        .recipes
        .values()
        .map(|r| RecipeJson {
            id: r.id.clone(),
            packages: r.packages.clone(),
            git: r.upstream.as_ref().map(|u| u.git.clone()),
            schedule: match (&r.upstream, r.watch.present) {
                (None, _) => "not built (no [upstream])".into(),
                (Some(_), false) => "on request (no [watch])".into(),
                (Some(_), true) => format!(
                    "every {}",
                    peipkg_cli::format_duration(r.poll_interval(cfg.default_interval))
                ),
            },
            github_webhook: r.watch.github_webhook,
            paused: paused.contains_key(&r.id),
            last_poll: polls.get(&r.id).cloned(),
            next_poll: plan.get(&r.id).map(|t| rfc3339(*t)),
        })
        .collect();
    let cfg = farm.settings().cfg();
    Ok(Status {
        farm_id: cfg.farm_id.clone(),
        recipes: roster.recipes.keys().cloned().collect(),
        builds_attempted: counts.attempted_since,
        builds_succeeded: counts.succeeded_since,
        in_flight: running.first().cloned(),
        failures,
        running,
        queue,
        waiting_to_publish: waiting,
        broken_recipes: roster
            .broken
            .iter()
            .map(|(k, v)| (k.clone(), v.to_string()))
            .collect(),
        moved_tags,
        polls,
        upload: UploadJson {
            backend: match &cfg.upload.backend {
                crate::config::UploadBackend::None => "none".into(),
                crate::config::UploadBackend::Rclone { remote } => format!("rclone:{remote}"),
            },
            pending: up.pending(),
            published_generation: up.published_generation,
            uploaded_generation: up.uploaded_generation,
            failures: up.failures,
            last_error: up.last_error,
            next_attempt: up.next_attempt_at.map(rfc3339),
            last_success: up.last_success_at.map(rfc3339),
        },
        started_at: rfc3339(farm.activity().started_at()),
        draining: farm.shutdown().is_stopping(),
        workers: farm.pool().count(),
        paused,
        recipe_details,
        sandbox: SandboxJson {
            mode: match cfg.build.sandbox {
                crate::config::SandboxPolicy::Required => "required".into(),
                crate::config::SandboxPolicy::None => "none".into(),
            },
            warning: crate::sandbox::warning(&cfg),
            network: crate::sandbox::network_recipes(&cfg),
        },
    })
}
