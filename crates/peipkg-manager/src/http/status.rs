//! `/status`: the reference's JSON document, field for field (so existing
//! scrapers keep working), followed by what the reference could not say:
//! every running build, the queue, per-recipe poll results, broken
//! recipes, moved tags and the upload state.

use serde::Serialize;

use crate::farm::Farm;
use crate::store::rfc3339;

#[derive(Serialize)]
pub(crate) struct Status {
    pub(crate) farm_id: String,
    pub(crate) recipes: Vec<String>,
    pub(crate) builds_attempted: i64,
    pub(crate) builds_succeeded: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) in_flight: Option<InFlightJson>,
    #[serde(skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub(crate) failures: std::collections::BTreeMap<String, FailureJson>,
    // Ours from here on.
    pub(crate) running: Vec<InFlightJson>,
    pub(crate) queue: Vec<QueuedJson>,
    pub(crate) waiting_to_publish: Vec<QueuedJson>,
    pub(crate) broken_recipes: std::collections::BTreeMap<String, String>,
    pub(crate) moved_tags: Vec<MovedJson>,
    pub(crate) polls: std::collections::BTreeMap<String, PollJson>,
    pub(crate) upload: UploadJson,
    pub(crate) started_at: String,
    pub(crate) draining: bool,
    /// Build workers running now.
    pub(crate) workers: usize,
    /// Paused recipes and why.
    pub(crate) paused: std::collections::BTreeMap<String, String>,
    /// Every loaded recipe: what it builds, how it is watched, its polls.
    pub(crate) recipe_details: Vec<RecipeJson>,
    /// How builds are isolated.
    pub(crate) sandbox: SandboxJson,
}

#[derive(Serialize)]
pub(crate) struct SandboxJson {
    /// `[build].sandbox`: `required` or `none`.
    pub(crate) mode: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) warning: Option<String>,
    /// Recipes granted the network inside the sandbox (`[[grant]] network`).
    pub(crate) network: Vec<String>,
}

#[derive(Serialize)]
pub(crate) struct RecipeJson {
    pub(crate) id: String,
    pub(crate) packages: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) git: Option<String>,
    /// `every 1h0m0s`, `on request` (no `[watch]`) or `not built` (no
    /// `[upstream]`).
    pub(crate) schedule: String,
    pub(crate) github_webhook: bool,
    pub(crate) paused: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_poll: Option<PollJson>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_poll: Option<String>,
}

#[derive(Serialize, Clone)]
pub(crate) struct InFlightJson {
    pub(crate) recipe: String,
    pub(crate) version: String,
    pub(crate) started_at: String,
    pub(crate) tag: String,
    pub(crate) build_id: i64,
    pub(crate) log: String,
    /// The build's cluster job (`[build].executor = "slurm"`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) job: Option<JobJson>,
}

#[derive(Serialize, Clone)]
pub(crate) struct JobJson {
    pub(crate) backend: String,
    pub(crate) id: String,
    pub(crate) state: String,
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
pub(crate) struct FailureJson {
    pub(crate) failures: i64,
    pub(crate) next_retry: String,
    pub(crate) last_error: String,
}

#[derive(Serialize)]
pub(crate) struct QueuedJson {
    pub(crate) recipe: String,
    pub(crate) version: String,
    pub(crate) tag: String,
    pub(crate) build_id: i64,
    pub(crate) source: String,
}

#[derive(Serialize)]
pub(crate) struct MovedJson {
    pub(crate) recipe: String,
    pub(crate) tag: String,
    pub(crate) version: String,
    pub(crate) published_commit: String,
    pub(crate) current_commit: String,
    pub(crate) first_seen: String,
}

#[derive(Serialize, Clone)]
pub(crate) struct PollJson {
    pub(crate) last_poll: String,
    pub(crate) ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) error: Option<String>,
}

#[derive(Serialize)]
pub(crate) struct UploadJson {
    pub(crate) backend: String,
    pub(crate) pending: bool,
    pub(crate) published_generation: i64,
    pub(crate) uploaded_generation: i64,
    pub(crate) failures: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) next_attempt: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) last_success: Option<String>,
}

pub(crate) fn status(farm: &Farm) -> anyhow::Result<Status> {
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
