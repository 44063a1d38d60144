//! Forge webhooks (GitHub, and the GitHub-like Gitea and GitLab forms):
//! verify, route, and ask for a poll.
//!
//! A webhook only means "poll this recipe now"; the poll decides what to
//! build, so a forged or replayed event can at worst cause an extra
//! `ls-remote`. Even so, a secret is required: without one every request
//! is refused (the reference accepted anything when the secret was unset).
//! Routing fans out to every recipe with that repository (monorepos such
//! as `fsbase` and `live-boot` share one), and understands the SSH and
//! `git://` forms of a URL.

use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::Sha256;

use crate::roster::Roster;

/// Verifies `X-Hub-Signature-256: sha256=<hex>` in constant time.
pub fn signature_valid(secret: &[u8], body: &[u8], header: Option<&str>) -> bool {
    let Some(hexsig) = header.and_then(|h| h.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(sig) = hex::decode(hexsig) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&sig).is_ok()
}

/// The forges whose webhooks are understood, each at its own path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    /// `X-Hub-Signature-256: sha256=<hex>`, `X-GitHub-Event`.
    GitHub,
    /// `X-Gitea-Signature: <hex>` (HMAC-SHA256, no prefix), `X-Gitea-Event`,
    /// a GitHub-shaped payload.
    Gitea,
    /// `X-Gitlab-Token: <secret>` (a shared token, not a signature),
    /// `X-Gitlab-Event`, a `project` object.
    GitLab,
}

impl Forge {
    pub fn from_path(path: &str) -> Option<Forge> {
        match path {
            "/webhooks/github" => Some(Forge::GitHub),
            "/webhooks/gitea" => Some(Forge::Gitea),
            "/webhooks/gitlab" => Some(Forge::GitLab),
            _ => None,
        }
    }

    pub fn event_header(self) -> &'static str {
        match self {
            Forge::GitHub => "X-GitHub-Event",
            Forge::Gitea => "X-Gitea-Event",
            Forge::GitLab => "X-Gitlab-Event",
        }
    }

    pub fn delivery_header(self) -> &'static str {
        match self {
            Forge::GitHub => "X-GitHub-Delivery",
            Forge::Gitea => "X-Gitea-Delivery",
            Forge::GitLab => "X-Gitlab-Event-UUID",
        }
    }

    /// Checks the request's proof of the shared secret.
    pub fn authentic(
        self,
        secret: &[u8],
        body: &[u8],
        header: impl Fn(&str) -> Option<String>,
    ) -> bool {
        if secret.is_empty() {
            return false;
        }
        match self {
            Forge::GitHub => {
                signature_valid(secret, body, header("X-Hub-Signature-256").as_deref())
            }
            Forge::Gitea => {
                let sig = header("X-Gitea-Signature").map(|h| format!("sha256={h}"));
                signature_valid(secret, body, sig.as_deref())
            }
            Forge::GitLab => {
                header("X-Gitlab-Token").is_some_and(|t| constant_time_eq(t.as_bytes(), secret))
            }
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Compare digests, so neither the content nor the length leaks
    // through timing.
    use sha2::Digest;
    let (x, y) = (Sha256::digest(a), Sha256::digest(b));
    x.iter()
        .zip(y.iter())
        .fold(0u8, |acc, (p, q)| acc | (p ^ q))
        == 0
}

/// A repository URL reduced to `host/path`, lower case, without scheme,
/// user, trailing slash or `.git`.
pub fn normalise_url(url: &str) -> String {
    let mut u = url.trim().to_ascii_lowercase();
    for scheme in [
        "https://",
        "http://",
        "ssh://",
        "git://",
        "git+ssh://",
        "ssh+git://",
    ] {
        if let Some(rest) = u.strip_prefix(scheme) {
            u = rest.to_string();
            break;
        }
    }
    if let Some((user, rest)) = u.split_once('@') {
        if !user.contains('/') {
            u = rest.to_string();
        }
    }
    // scp-like `host:owner/repo`, and `host:22/owner/repo` after ssh://.
    if let Some((host, path)) = u.split_once(':') {
        let path = path
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start_matches('/');
        if !host.contains('/') {
            u = format!("{host}/{path}");
        }
    }
    while u.ends_with('/') {
        u.pop();
    }
    if let Some(s) = u.strip_suffix(".git") {
        u = s.to_string();
    }
    u
}

#[derive(Debug, Deserialize, Default)]
pub struct Payload {
    #[serde(default)]
    pub r#ref: Option<String>,
    #[serde(default)]
    pub ref_type: Option<String>,
    #[serde(default)]
    pub repository: Option<Repository>,
    /// GitLab's name for the repository.
    #[serde(default)]
    pub project: Option<Project>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Project {
    #[serde(default)]
    pub web_url: Option<String>,
    #[serde(default)]
    pub git_http_url: Option<String>,
    #[serde(default)]
    pub git_ssh_url: Option<String>,
}

#[derive(Debug, Deserialize, Default)]
pub struct Repository {
    #[serde(default)]
    pub html_url: Option<String>,
    #[serde(default)]
    pub clone_url: Option<String>,
    #[serde(default)]
    pub ssh_url: Option<String>,
    #[serde(default)]
    pub git_url: Option<String>,
}

/// What the handler should do with an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Pong,
    /// Not an event that can add a tag (a branch push, an issue...).
    Ignored(String),
    /// No opted-in recipe watches this repository.
    Unrecognised(String),
    Poll(Vec<String>),
}

/// Routes a GitLab event: a tag push polls, everything else is ignored.
pub fn route_gitlab(roster: &Roster, event: Option<&str>, payload: &Payload) -> Route {
    match event.unwrap_or("") {
        "Tag Push Hook" => {}
        other => return Route::Ignored(format!("GitLab event {other:?} cannot add a tag")),
    }
    let Some(p) = &payload.project else {
        return Route::Unrecognised(String::new());
    };
    let repo = Repository {
        html_url: p.web_url.clone(),
        clone_url: p.git_http_url.clone(),
        ssh_url: p.git_ssh_url.clone(),
        git_url: None,
    };
    route_urls(roster, &repo)
}

pub fn route(roster: &Roster, event: Option<&str>, payload: &Payload) -> Route {
    let event = event.unwrap_or("push");
    match event {
        "ping" => return Route::Pong,
        "push" => {
            if let Some(r) = &payload.r#ref {
                if !r.starts_with("refs/tags/") {
                    return Route::Ignored(format!("push to {r} is not a tag"));
                }
            }
        }
        "create" => {
            if payload.ref_type.as_deref().is_some_and(|t| t != "tag") {
                return Route::Ignored("created ref is not a tag".into());
            }
        }
        "release" => {}
        other => return Route::Ignored(format!("event {other:?} cannot add a tag")),
    }
    let Some(repo) = &payload.repository else {
        return Route::Unrecognised(String::new());
    };
    route_urls(roster, repo)
}

/// Every opted-in recipe whose `git` is one of the repository's URLs.
fn route_urls(roster: &Roster, repo: &Repository) -> Route {
    let urls: Vec<String> = [
        &repo.html_url,
        &repo.clone_url,
        &repo.ssh_url,
        &repo.git_url,
    ]
    .into_iter()
    .flatten()
    .filter(|u| !u.is_empty())
    .map(|u| normalise_url(u))
    .collect();
    let mut hits: Vec<String> = roster
        .recipes
        .values()
        .filter(|r| r.watch.github_webhook)
        .filter(|r| {
            r.upstream
                .as_ref()
                .is_some_and(|u| urls.contains(&normalise_url(&u.git)))
        })
        .map(|r| r.id.clone())
        .collect();
    hits.sort();
    if hits.is_empty() {
        Route::Unrecognised(repo.html_url.clone().unwrap_or_default())
    } else {
        Route::Poll(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::roster::parse_recipe;
    use std::path::Path;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn signatures() {
        let good = sign(b"s3cret", b"{}");
        assert!(signature_valid(b"s3cret", b"{}", Some(&good)));
        assert!(signature_valid(
            b"s3cret",
            b"{}",
            Some(&good.to_uppercase().replace("SHA256=", "sha256="))
        ));
        assert!(!signature_valid(b"s3cret", b"{ }", Some(&good)));
        assert!(!signature_valid(b"other", b"{}", Some(&good)));
        assert!(!signature_valid(b"s3cret", b"{}", Some("sha256=00ff")));
        assert!(!signature_valid(b"s3cret", b"{}", Some("md5=00")));
        assert!(!signature_valid(b"s3cret", b"{}", None));
    }

    #[test]
    fn gitea_and_gitlab_prove_the_secret_their_own_way() {
        let body = br#"{"ref":"refs/tags/v1"}"#;
        let hex_sig = sign(b"s3cret", body)
            .trim_start_matches("sha256=")
            .to_string();
        let hdr = |pairs: Vec<(&'static str, String)>| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            }
        };
        assert!(Forge::Gitea.authentic(
            b"s3cret",
            body,
            hdr(vec![("X-Gitea-Signature", hex_sig.clone())])
        ));
        assert!(!Forge::Gitea.authentic(
            b"other",
            body,
            hdr(vec![("X-Gitea-Signature", hex_sig.clone())])
        ));
        // A GitHub header does not authenticate a Gitea request.
        assert!(!Forge::Gitea.authentic(
            b"s3cret",
            body,
            hdr(vec![("X-Hub-Signature-256", format!("sha256={hex_sig}"))])
        ));
        assert!(Forge::GitLab.authentic(
            b"s3cret",
            body,
            hdr(vec![("X-Gitlab-Token", "s3cret".into())])
        ));
        assert!(!Forge::GitLab.authentic(
            b"s3cret",
            body,
            hdr(vec![("X-Gitlab-Token", "s3cre".into())])
        ));
        assert!(!Forge::GitLab.authentic(b"", body, hdr(vec![("X-Gitlab-Token", "".into())])));
        assert_eq!(Forge::from_path("/webhooks/gitlab"), Some(Forge::GitLab));
        assert_eq!(Forge::from_path("/webhooks/bitbucket"), None);
    }

    #[test]
    fn gitlab_tag_pushes_route_by_project_urls() {
        let r = roster();
        let tag = payload(
            r#"{"ref":"refs/tags/fsbase-v1","project":{"web_url":"https://github.com/peios/peipkgs-official-recipes","git_ssh_url":"git@github.com:peios/peipkgs-official-recipes.git"}}"#,
        );
        assert_eq!(
            route_gitlab(&r, Some("Tag Push Hook"), &tag),
            Route::Poll(vec!["fsbase".into(), "live-boot".into()])
        );
        assert!(matches!(
            route_gitlab(&r, Some("Push Hook"), &tag),
            Route::Ignored(_)
        ));
        let other = payload(r#"{"project":{"web_url":"https://gitlab.com/x/y"}}"#);
        assert!(matches!(
            route_gitlab(&r, Some("Tag Push Hook"), &other),
            Route::Unrecognised(_)
        ));
    }

    #[test]
    fn urls_normalise_across_forms() {
        let want = "github.com/madler/zlib";
        for u in [
            "https://github.com/Madler/Zlib.git/",
            "https://github.com/madler/zlib",
            "git@github.com:madler/zlib.git",
            "ssh://git@github.com/madler/zlib.git",
            "ssh://git@github.com:22/madler/zlib.git",
            "git://github.com/madler/zlib.git",
            "http://github.com/madler/zlib/",
        ] {
            assert_eq!(normalise_url(u), want, "{u}");
        }
    }

    fn roster() -> Roster {
        let mut r = Roster::default();
        for (id, pattern, hook) in [
            ("fsbase", "^fsbase-v(.+)$", true),
            ("live-boot", "^live-boot-v(.+)$", true),
            ("quiet", "^q(.+)$", false),
        ] {
            let text = format!(
                "[meta]\nbuild_script = \"build.sh\"\n[[package]]\nname = \"{id}\"\narchitecture = \"noarch\"\n[upstream]\ngit = \"https://github.com/peios/peipkgs-official-recipes.git\"\ntag_pattern = \"{pattern}\"\n[watch]\ngithub_webhook = {hook}\n"
            );
            let rec = parse_recipe(
                id,
                Path::new("/r"),
                Path::new("/r/x"),
                text,
                Default::default(),
            )
            .unwrap();
            r.recipes.insert(id.into(), rec);
        }
        r
    }

    fn payload(json: &str) -> Payload {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn routing_fans_out_and_filters_events() {
        let r = roster();
        let tag_push = payload(
            r#"{"ref":"refs/tags/fsbase-v1.0.0","repository":{"html_url":"https://github.com/peios/peipkgs-official-recipes","ssh_url":"git@github.com:peios/peipkgs-official-recipes.git"}}"#,
        );
        assert_eq!(
            route(&r, Some("push"), &tag_push),
            Route::Poll(vec!["fsbase".into(), "live-boot".into()])
        );
        let branch = payload(
            r#"{"ref":"refs/heads/main","repository":{"html_url":"https://github.com/peios/peipkgs-official-recipes"}}"#,
        );
        assert!(matches!(
            route(&r, Some("push"), &branch),
            Route::Ignored(_)
        ));
        assert_eq!(route(&r, Some("ping"), &branch), Route::Pong);
        assert!(matches!(
            route(&r, Some("issues"), &tag_push),
            Route::Ignored(_)
        ));
        let ssh_only = payload(
            r#"{"repository":{"ssh_url":"git@github.com:peios/peipkgs-official-recipes.git"}}"#,
        );
        assert!(matches!(route(&r, Some("release"), &ssh_only), Route::Poll(v) if v.len() == 2));
        let other = payload(r#"{"repository":{"html_url":"https://github.com/x/y"}}"#);
        assert!(matches!(
            route(&r, Some("push"), &other),
            Route::Unrecognised(_)
        ));
    }
}
