//! `git ls-remote --tags`: what tags an upstream has and where they point.
//!
//! For an annotated tag git prints the tag object and then a peeled
//! `<name>^{}` line with the commit it points to; the commit is what a
//! build is made from, so that is what we record (and compare, to notice a
//! tag that was moved after we published it).

use std::collections::BTreeMap;

use crate::config::GitConfig;
use crate::process::{self, RunError, Sink};
use crate::watch::git::git_cmd;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteTag {
    pub name: String,
    /// The commit the tag resolves to (peeled for annotated tags).
    pub commit: String,
}

#[derive(Debug, thiserror::Error)]
pub enum LsRemoteError {
    #[error("git ls-remote --tags {url}: {}", source.reason())]
    Run { url: String, source: RunError },
}

/// Lists the tags of `url`, sorted by name (callers sort by version).
pub fn ls_remote(git: &GitConfig, url: &str) -> Result<Vec<RemoteTag>, LsRemoteError> {
    let cmd = git_cmd(&git.program, git.ls_remote_timeout)
        .args(["ls-remote", "--tags", "--", url])
        .stdout(Sink::Capture);
    let out = process::run(&cmd, None).map_err(|source| LsRemoteError::Run {
        url: url.to_string(),
        source,
    })?;
    Ok(parse(&String::from_utf8_lossy(&out.stdout)))
}

/// Parses ls-remote output. Lines that are not `<sha>\trefs/tags/<name>`
/// are ignored, as are names with control characters (no honest server
/// sends them; they could forge log lines).
pub fn parse(out: &str) -> Vec<RemoteTag> {
    let mut direct: BTreeMap<String, String> = BTreeMap::new();
    let mut peeled: BTreeMap<String, String> = BTreeMap::new();
    for line in out.lines() {
        let Some((sha, refname)) = line.split_once('\t') else {
            continue;
        };
        let sha = sha.trim();
        if sha.len() < 40 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Some(name) = refname.strip_prefix("refs/tags/") else {
            continue;
        };
        if name.is_empty() || name.chars().any(char::is_control) {
            continue;
        }
        match name.strip_suffix("^{}") {
            Some(base) => {
                peeled.insert(base.to_string(), sha.to_ascii_lowercase());
            }
            None => {
                direct.insert(name.to_string(), sha.to_ascii_lowercase());
            }
        }
    }
    direct
        .into_iter()
        .map(|(name, sha)| {
            let commit = peeled.remove(&name).unwrap_or(sha);
            RemoteTag { name, commit }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peeled_entries_give_the_commit_and_appear_once() {
        let a = "a".repeat(40);
        let b = "b".repeat(40);
        let c = "c".repeat(40);
        let out = format!(
            "{a}\trefs/tags/v1.0.0\n{b}\trefs/tags/v1.1.0\n{c}\trefs/tags/v1.1.0^{{}}\n{a}\trefs/heads/main\ngarbage\n{a}\trefs/tags/bad\u{1b}name\n"
        );
        let tags = parse(&out);
        assert_eq!(
            tags,
            vec![
                RemoteTag {
                    name: "v1.0.0".into(),
                    commit: a.clone()
                },
                RemoteTag {
                    name: "v1.1.0".into(),
                    commit: c
                },
            ]
        );
    }
}

#[cfg(test)]
mod prompt_tests {
    use super::*;
    use std::io::{Read, Write};

    /// An upstream that wants credentials: git must fail at once, not wait
    /// for someone to type a password.
    #[test]
    fn an_upstream_asking_for_credentials_fails_without_prompting() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten().take(4) {
                let mut s = s;
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(
                    b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"x\"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                );
            }
        });
        let git = GitConfig {
            program: "git".into(),
            ls_remote_timeout: std::time::Duration::from_secs(20),
            clone_timeout: std::time::Duration::from_secs(20),
            poll_concurrency: 1,
            jitter_percent: 0,
            allow_file_submodules: false,
        };
        let started = std::time::Instant::now();
        let e = ls_remote(&git, &format!("http://127.0.0.1:{port}/private.git"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("terminal prompts disabled"), "{e}");
        assert!(started.elapsed() < std::time::Duration::from_secs(10));
    }
}
