//! `peipkg-manager explain RECIPE`: every upstream tag and why it was or
//! was not built. Tag filters are where upstream tracking goes wrong most
//! often (in every farm we looked at), so the answer to "why did my new
//! release not build?" should be one command, not a log search.

use std::fmt::Write;

use serde::Serialize;

use crate::pipeline::archive::Archive;
use crate::roster::Recipe;
use crate::store::{self, BuildState, Store};
use crate::watch::candidates::{judge_all, Verdict};
use crate::watch::ls_remote::RemoteTag;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub(crate) struct TagRow {
    pub(crate) tag: String,
    pub(crate) commit: String,
    pub(crate) matched: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) version: Option<String>,
    /// One word: `no-match`, `invalid`, `below-min-version`, `published`,
    /// `moved`, `queued`, `running`, `built`, `backoff`, `new`.
    pub(crate) status: String,
    pub(crate) detail: String,
}

/// Judges `tags` for `recipe` against the repository and the store.
pub(crate) fn explain_tags(
    recipe: &Recipe,
    tags: &[RemoteTag],
    archive: &Archive,
    store: Option<&Store>,
    now: i64,
) -> Vec<TagRow> {
    let Some(up) = &recipe.upstream else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    for j in judge_all(up, tags) {
        let base = |status: &str, version: Option<String>, detail: String, matched: bool| TagRow {
            tag: j.tag.name.clone(),
            commit: j.tag.commit.clone(),
            matched,
            version,
            status: status.into(),
            detail,
        };
        let row = match j.verdict {
            Verdict::NoMatch => base(
                "no-match",
                None,
                format!("does not match {}", up.pattern.as_str()),
                false,
            ),
            Verdict::Invalid { captured, reason } => base(
                "invalid",
                None,
                format!("captured {captured:?}: {reason}"),
                true,
            ),
            Verdict::BelowMin { version } => {
                let min = up
                    .min_version
                    .as_ref()
                    .map(|(m, _)| m.as_str())
                    .unwrap_or("");
                base(
                    "below-min-version",
                    Some(version.to_string()),
                    format!("filtered by min_version {min}"),
                    true,
                )
            }
            Verdict::Candidate { version } => {
                let v = version.to_string();
                let (status, detail) = candidate_status(recipe, &j.tag, &v, archive, store, now);
                base(&status, Some(v), detail, true)
            }
        };
        rows.push(row);
    }
    rows
}

fn candidate_status(
    recipe: &Recipe,
    tag: &RemoteTag,
    version: &str,
    archive: &Archive,
    store: Option<&Store>,
    now: i64,
) -> (String, String) {
    let published = archive.published_names(&recipe.packages, version);
    if !published.is_empty() {
        if let Some(Ok(Some(old))) = store.map(|s| s.published_commit(&recipe.id, &tag.name)) {
            if old != tag.commit {
                return (
                    "moved".into(),
                    format!(
                        "published from {}, tag now points to {}; not rebuilt (bump peios_revision to rebuild)",
                        short(&old),
                        short(&tag.commit)
                    ),
                );
            }
        }
        return (
            "published".into(),
            format!("in the archive as {}", published.join(", ")),
        );
    }
    let Some(st) = store else {
        return ("new".into(), "would be queued at the next poll".into());
    };
    if let Ok(Some(b)) = st.active_build(&recipe.id, version) {
        let what = match b.state {
            BuildState::Running => format!(
                "build {} running since {}",
                b.id,
                b.started_at.map(store::rfc3339).unwrap_or_default()
            ),
            BuildState::Built => format!("build {} built, waiting to be published", b.id),
            _ => format!("build {} queued at {}", b.id, store::rfc3339(b.queued_at)),
        };
        // A cluster build names its job and the state it was last seen in.
        let what = match st.job_of(b.id) {
            Ok(Some(j)) => format!("{what}; {} job {} {}", j.backend, j.job_id, j.state),
            _ => what,
        };
        return (b.state.as_str().into(), what);
    }
    if let Ok(Some(f)) = st.failure(&recipe.id, version) {
        let when = if f.next_retry_at > now {
            format!("next retry {}", store::rfc3339(f.next_retry_at))
        } else {
            "retry due now".into()
        };
        return (
            "backoff".into(),
            format!(
                "{} failure(s), {when}; last error: {}",
                f.failures, f.last_error
            ),
        );
    }
    ("new".into(), "would be queued at the next poll".into())
}

fn short(c: &str) -> &str {
    &c[..c.len().min(12)]
}

/// The human table.
pub(crate) fn render(recipe: &Recipe, rows: &[TagRow]) -> String {
    let mut out = String::new();
    if let Some(up) = &recipe.upstream {
        let _ = writeln!(out, "recipe:         {}", recipe.id);
        let _ = writeln!(out, "git:            {}", up.git);
        let _ = writeln!(out, "tag_pattern:    {}", up.pattern.as_str());
        let _ = writeln!(out, "peios_revision: {}", up.peios_revision);
        if let Some((m, _)) = &up.min_version {
            let _ = writeln!(out, "min_version:    {m}");
        }
        let _ = writeln!(out, "packages:       {}", recipe.packages.join(", "));
    }
    let w_tag = rows.iter().map(|r| r.tag.len()).max().unwrap_or(3).max(3);
    let w_ver = rows
        .iter()
        .map(|r| r.version.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(7)
        .max(7);
    let _ = writeln!(
        out,
        "\n{:w_tag$}  {:12}  {:w_ver$}  {:17}  DETAIL",
        "TAG", "COMMIT", "VERSION", "STATUS"
    );
    for r in rows {
        let _ = writeln!(
            out,
            "{:w_tag$}  {:12}  {:w_ver$}  {:17}  {}",
            r.tag,
            short(&r.commit),
            r.version.as_deref().unwrap_or("-"),
            r.status,
            r.detail
        );
    }
    let count = |s: &str| rows.iter().filter(|r| r.status == s).count();
    let _ = writeln!(
        out,
        "\n{} tags: {} matched, {} published, {} new, {} queued/running/built, {} backing off, {} below min_version, {} invalid",
        rows.len(),
        rows.iter().filter(|r| r.matched).count(),
        count("published") + count("moved"),
        count("new"),
        count("queued") + count("running") + count("built"),
        count("backoff"),
        count("below-min-version"),
        count("invalid"),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::parse_recipe;
    use crate::store::NewBuild;
    use std::path::Path;

    fn recipe() -> Recipe {
        parse_recipe(
            "zlib",
            Path::new("/r/zlib"),
            Path::new("/r/zlib/peipkg.toml"),
            "[meta]\nbuild_script = \"build.sh\"\n[[package]]\nname = \"libz\"\narchitecture = \"noarch\"\n[[package]]\nname = \"libz-dev\"\narchitecture = \"noarch\"\n[upstream]\ngit = \"https://x/zlib\"\ntag_pattern = \"^v(.+)$\"\nmin_version = \"1.1\"\n".into(),
            Default::default(),
        )
        .unwrap()
    }

    fn t(name: &str, c: char) -> RemoteTag {
        RemoteTag {
            name: name.into(),
            commit: c.to_string().repeat(40),
        }
    }

    #[test]
    fn every_tag_gets_a_reason() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("index")).unwrap();
        std::fs::write(
            d.path().join("index/archive.json"),
            r#"{"packages":[{"name":"libz","version":"1.1-1","architecture":"x86_64"},
                           {"name":"libz-dev","version":"1.2-1","architecture":"x86_64"}]}"#,
        )
        .unwrap();
        let archive = Archive::load(d.path()).unwrap();
        let mut st = Store::open_in_memory().unwrap();
        st.record_published_tag("zlib", "v1.2", "1.2-1", &"a".repeat(40), 1)
            .unwrap();
        st.enqueue(
            &NewBuild {
                recipe: "zlib".into(),
                version: "1.3-1".into(),
                tag: "v1.3".into(),
                git: "g".into(),
                tag_commit: "c".into(),
                source: "poll".into(),
            },
            5,
        )
        .unwrap();
        st.record_failure("zlib", "1.4-1", "v1.4", "compiler exploded", 100)
            .unwrap();
        let tags = vec![
            t("v1.0", 'a'),
            t("v1.1", 'a'),
            t("v1.2", 'b'),
            t("v1.3", 'a'),
            t("v1.4", 'a'),
            t("v1.5", 'a'),
            t("v1;rm", 'a'),
            t("other", 'a'),
        ];
        let rows = explain_tags(&recipe(), &tags, &archive, Some(&st), 110);
        let status = |tag: &str| rows.iter().find(|r| r.tag == tag).unwrap().status.clone();
        assert_eq!(status("v1.0"), "below-min-version");
        assert_eq!(status("v1.1"), "published");
        assert_eq!(status("v1.2"), "moved");
        assert_eq!(status("v1.3"), "queued");
        assert_eq!(status("v1.4"), "backoff");
        assert_eq!(status("v1.5"), "new");
        assert_eq!(status("v1;rm"), "invalid");
        assert_eq!(status("other"), "no-match");
        let text = render(&recipe(), &rows);
        assert!(text.contains("compiler exploded"), "{text}");
        assert!(text.contains("8 tags: 7 matched"), "{text}");
    }
}
