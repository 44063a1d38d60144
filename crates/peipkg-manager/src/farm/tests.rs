//! The farm in-process, with a recording executor instead of git and
//! peipkg-build: what a worker hands the executor, and what it does with
//! the result.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use super::*;
use crate::config::Config;
use crate::executor::{BuildJob, Built, Executor, JobError, JobHandle, JobStatus};
use crate::log::Level;
use crate::store::{BuildState, NewBuild};

/// Records every job; "builds" by returning the configured outputs.
#[derive(Clone, Default)]
struct Recorder {
    jobs: Arc<Mutex<Vec<BuildJob>>>,
    outputs: Arc<Mutex<Vec<PathBuf>>>,
}

impl Executor for Recorder {
    fn submit(&self, job: &BuildJob) -> Result<JobHandle, JobError> {
        self.jobs.lock().unwrap().push(job.clone());
        Ok(JobHandle {
            build_id: job.id,
            backend: "recorder".into(),
            job_id: job.id.to_string(),
        })
    }

    fn poll(&self, _: &JobHandle) -> JobStatus {
        let outputs = self.outputs.lock().unwrap().clone();
        JobStatus::Succeeded(Built {
            artifacts: crate::executor::file_artifacts(outputs).unwrap(),
            commit: "c".repeat(40),
            timestamp: "2024-03-15T10:30:00Z".into(),
            stages: Default::default(),
        })
    }

    fn poll_interval(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    fn cancel(&self, _: &JobHandle) {}

    fn release(&self, _: &JobHandle) {}
}

const RECIPE: &str = r#"[meta]
build_script = "build.sh"
[[package]]
name = "pkg"
architecture = "noarch"
[upstream]
git = "GIT"
tag_pattern = '^v(\d+\.\d+\.\d+)$'
peios_revision = REV
SUBMODULES
[watch]
"#;

fn write_recipe(root: &Path, id: &str, git: &str, rev: u32, submodules: bool) {
    let d = root.join("recipes").join(id);
    std::fs::create_dir_all(&d).unwrap();
    let text = RECIPE
        .replace("GIT", git)
        .replace("REV", &rev.to_string())
        .replace(
            "SUBMODULES",
            if submodules { "submodules = true" } else { "" },
        );
    std::fs::write(d.join("peipkg.toml"), text).unwrap();
}

fn config(root: &Path, extra: &str) -> Config {
    let key = root.join("key");
    std::fs::write(&key, [7u8; 32]).unwrap();
    let text = format!(
        "[manager]\nid = \"t\"\nrecipes_dir = \"{r}/recipes\"\nstate_dir = \"{r}/state\"\n\
         [repo]\nname = \"t\"\n[signing]\nkey_file = \"{k}\"\n[poll]\ndefault_interval = \"1h\"\n\
         [build]\npeipkg_build = \"/bin/true\"\npeipkg_repo = \"/bin/true\"\n{extra}",
        r = root.display(),
        k = key.display()
    );
    std::fs::write(root.join("config.toml"), &text).unwrap();
    Config::parse(&root.join("config.toml"), text).unwrap()
}

fn farm(root: &Path, rec: &Recorder) -> (Arc<Farm>, Arc<Mutex<Vec<String>>>) {
    let (log, lines) = crate::log::Logger::memory(Level::Debug);
    let opts = startup::FarmOptions {
        executor: Some(Box::new(rec.clone())),
        level_from_flag: true,
    };
    (Farm::new(config(root, ""), log, opts).unwrap(), lines)
}

fn queue(f: &Farm, recipe: &str, version: &str, tag: &str) -> i64 {
    f.queue()
        .store()
        .enqueue(
            &NewBuild {
                recipe: recipe.into(),
                version: version.into(),
                tag: tag.into(),
                git: "https://old.example/x".into(),
                tag_commit: "a".repeat(40),
                source: "poll".into(),
            },
            crate::store::now(),
        )
        .unwrap()
        .unwrap()
}

fn logged(lines: &Mutex<Vec<String>>, msg: &str) -> Vec<String> {
    lines
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.contains(&format!("msg=\"{msg}\"")) || l.contains(&format!("msg={msg} ")))
        .cloned()
        .collect()
}

#[test]
fn a_queued_build_runs_with_the_recipe_as_it_is_now() {
    let t = tempfile::tempdir().unwrap();
    write_recipe(t.path(), "pkg", "https://old.example/x", 1, false);
    let rec = Recorder::default();
    let (f, lines) = farm(t.path(), &rec);
    let same = queue(&f, "pkg", "1.0.0-1", "v1.0.0");
    let bumped = queue(&f, "pkg", "0.9.0-1", "v0.9.0");

    // Queued under the old recipe; the upstream moves and submodules are
    // turned on, and peios_revision stays.
    write_recipe(t.path(), "pkg", "https://new.example/x", 1, true);
    f.reload_recipes();
    f.worker().work_one().unwrap();
    let jobs = rec.jobs.lock().unwrap().clone();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].id, same);
    assert_eq!(jobs[0].source.git, "https://new.example/x");
    assert!(jobs[0].source.submodules);

    // A revision bump changes the version the tag gives: the stale build
    // is dropped, not built under the old version.
    write_recipe(t.path(), "pkg", "https://new.example/x", 2, true);
    f.reload_recipes();
    f.worker().work_one().unwrap();
    assert_eq!(rec.jobs.lock().unwrap().len(), 1, "the stale build ran");
    let row = f.queue().store().build(bumped).unwrap().unwrap();
    assert_eq!(row.state, BuildState::Cancelled);
    assert!(
        row.error.unwrap().contains("now gives version 0.9.0-2"),
        "{lines:?}"
    );

    // A removed recipe: the reference's message, and nothing runs.
    let gone = queue(&f, "pkg", "1.1.0-2", "v1.1.0");
    std::fs::remove_dir_all(t.path().join("recipes/pkg")).unwrap();
    f.reload_recipes();
    f.worker().work_one().unwrap();
    assert_eq!(
        f.queue().store().build(gone).unwrap().unwrap().state,
        BuildState::Cancelled
    );
    assert_eq!(
        logged(&lines, "trigger dropped (recipe removed from roster)").len(),
        1
    );
}

#[test]
fn outputs_that_cannot_be_kept_are_a_recorded_failure() {
    let t = tempfile::tempdir().unwrap();
    write_recipe(t.path(), "pkg", "https://example.org/x", 1, false);
    let rec = Recorder::default();
    // The executor claims an output that is not there.
    rec.outputs
        .lock()
        .unwrap()
        .push(t.path().join("vanished/pkg_1.0.0-1_noarch.peipkg"));
    let (f, lines) = farm(t.path(), &rec);
    let id = queue(&f, "pkg", "1.0.0-1", "v1.0.0");
    f.worker().work_one().unwrap();
    assert_eq!(
        f.queue().store().build(id).unwrap().unwrap().state,
        BuildState::Failed
    );
    let fail = f
        .queue()
        .store()
        .failure("pkg", "1.0.0-1")
        .unwrap()
        .unwrap();
    assert_eq!(fail.failures, 1);
    assert!(
        fail.last_error.contains("keep the build's outputs"),
        "{fail:?}"
    );
    assert_eq!(logged(&lines, "stage outputs failed").len(), 1);
    assert_eq!(logged(&lines, "build failed").len(), 1);
    // Nothing half-moved is left for the publisher.
    assert!(!f.dirs().built(id).exists());
    assert!(f
        .queue()
        .store()
        .builds_in(BuildState::Built)
        .unwrap()
        .is_empty());
}

#[test]
fn failure_records_of_removed_recipes_are_dropped_on_reload() {
    let t = tempfile::tempdir().unwrap();
    write_recipe(t.path(), "keep", "https://example.org/k", 1, false);
    write_recipe(t.path(), "gone", "https://example.org/g", 1, false);
    std::fs::create_dir_all(t.path().join("recipes/broken")).unwrap();
    std::fs::write(t.path().join("recipes/broken/peipkg.toml"), "[upstream\n").unwrap();
    let rec = Recorder::default();
    let (f, lines) = farm(t.path(), &rec);
    let now = crate::store::now();
    for r in ["keep", "gone", "broken"] {
        f.queue()
            .store()
            .record_failure(r, "1-1", "v1", "boom", now)
            .unwrap();
    }
    std::fs::remove_dir_all(t.path().join("recipes/gone")).unwrap();
    f.reload_recipes();
    let left: Vec<String> = f
        .queue()
        .store()
        .failures()
        .unwrap()
        .into_iter()
        .map(|x| x.recipe)
        .collect();
    // A broken recipe is still there; only the removed one is forgotten.
    assert_eq!(left, vec!["broken", "keep"]);
    assert_eq!(
        logged(&lines, "failure records of removed recipes dropped").len(),
        1
    );
}

#[test]
fn the_worker_pool_follows_the_configured_size() {
    let t = tempfile::tempdir().unwrap();
    write_recipe(t.path(), "pkg", "https://example.org/x", 1, false);
    let rec = Recorder::default();
    let (f, _) = farm(t.path(), &rec);
    f.ensure_workers();
    // No `workers` key: one per core, at most 8.
    assert_eq!(f.pool().count(), crate::config::default_workers());
    std::fs::write(
        t.path().join("config.toml"),
        std::fs::read_to_string(t.path().join("config.toml"))
            .unwrap()
            .replace("[build]\n", "[build]\nworkers = 4\n"),
    )
    .unwrap();
    f.reload_config();
    assert_eq!(f.pool().count(), 4);
    std::fs::write(
        t.path().join("config.toml"),
        std::fs::read_to_string(t.path().join("config.toml"))
            .unwrap()
            .replace("workers = 4", "workers = 2"),
    )
    .unwrap();
    f.reload_config();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while f.pool().count() != 2 {
        assert!(std::time::Instant::now() < deadline, "pool did not shrink");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    f.shutdown().stop();
    f.join_workers();
    assert_eq!(f.pool().count(), 0);
}
