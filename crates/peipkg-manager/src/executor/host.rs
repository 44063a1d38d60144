//! [`HostSide`]: what a job description means on this host. The paths and
//! key material a description only names come from the config the
//! executor was built from, never from the job.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{BuildJob, JobError};
use crate::config::Config;

const UNUSABLE_KEY: &str = "the recipe's grant names a signing key that is not usable";

/// A build's log file in the logs directory: the worker starts it, the
/// executor appends to it.
pub(crate) fn build_log(logs: &Path, build_id: i64) -> PathBuf {
    logs.join(format!("build-{build_id}.log"))
}

/// This host's side of every job: the config in force when the executor
/// was built, and the public keys it resolved.
#[derive(Clone)]
pub(crate) struct HostSide {
    pub(crate) cfg: Arc<Config>,
    /// Granted public keys to inject, by signing-key name (lowercase hex).
    pub(crate) inject_hex: BTreeMap<String, String>,
    /// This host's `peipkg-build`.
    pub(crate) peipkg_build: PathBuf,
}

/// A description resolved against this host.
pub(crate) struct Resolved {
    pub(crate) recipe_file: PathBuf,
    pub(crate) sign_key: PathBuf,
    pub(crate) build_env: Vec<(String, String)>,
    pub(crate) binary_sign_keys: Vec<(String, PathBuf)>,
    /// Appended to the reference's arguments: the sandbox and limits
    /// (see [`crate::sandbox::granted_args`]).
    pub(crate) sandbox_args: Vec<String>,
    /// Set in `peipkg-build`'s environment (`PEIPKG_BUILD_SANDBOX=none`).
    pub(crate) sandbox_env: Vec<(String, String)>,
}

impl HostSide {
    /// Resolves the keys the job is granted, its recipe file and its
    /// sandbox. A key name this host cannot use rejects the job.
    pub(crate) fn resolve(&self, job: &BuildJob) -> Result<Resolved, JobError> {
        let cfg = &self.cfg;
        let entry = |k: &String| cfg.signing_keys.iter().find(|e| &e.name == k);
        let unusable = || JobError::Rejected(UNUSABLE_KEY.into());
        let mut build_env = Vec::new();
        for k in &job.grant.inject_pubkey {
            let env = entry(k).and_then(|e| e.pubkey_env.clone());
            let hex = self.inject_hex.get(k).cloned();
            match (env, hex) {
                (Some(env), Some(hex)) => build_env.push((env, hex)),
                _ => return Err(unusable()),
            }
        }
        let mut binary_sign_keys = Vec::new();
        for k in &job.grant.sign {
            let e = entry(k).ok_or_else(unusable)?;
            binary_sign_keys.push((k.clone(), e.private.clone()));
        }
        Ok(Resolved {
            recipe_file: cfg
                .recipes_dir
                .join(&job.recipe)
                .join(crate::roster::RECIPE_FILE),
            sign_key: cfg.key_file.clone(),
            build_env,
            binary_sign_keys,
            sandbox_args: crate::sandbox::granted_args(cfg, job.grant.network),
            sandbox_env: crate::sandbox::build_env(cfg),
        })
    }

    pub(crate) fn farm_id(&self) -> &str {
        &self.cfg.farm_id
    }

    /// The build's scratch space. Unique per process: a build orphaned by
    /// a crashed manager must not write into the directory of its re-run.
    pub(crate) fn work_dir(&self, build_id: i64) -> PathBuf {
        self.cfg
            .state_dir
            .join("work")
            .join(format!("{build_id}.{}", std::process::id()))
    }

    /// The build's log file; everything the build prints goes here.
    pub(crate) fn log(&self, build_id: i64) -> PathBuf {
        build_log(&self.cfg.state_dir.join("logs"), build_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::executor::{Grant, SourceRef};

    fn host() -> HostSide {
        let paths = peipkg_testkit::farm_config::FarmPaths {
            id: "farm-1",
            repo_name: "r",
            description: None,
            recipes: Path::new("/r"),
            state: Path::new("/s"),
            key: Path::new("/farm.key"),
            peipkg_build: Path::new("peipkg-build"),
            peipkg_repo: Path::new("peipkg-repo"),
        };
        let keys =
            "[[signing_key]]\nname = \"tcb\"\nprivate = \"/tcb.key\"\npubkey_env = \"TCB_HEX\"\n";
        let text = peipkg_testkit::farm_config::farm_config(&paths, keys);
        let cfg = Config::parse(Path::new("/c/config.toml"), text).unwrap();
        HostSide {
            cfg: Arc::new(cfg),
            inject_hex: [("tcb".to_string(), "ab".to_string())].into(),
            peipkg_build: "peipkg-build".into(),
        }
    }

    fn job(grant: Grant) -> BuildJob {
        BuildJob {
            id: 3,
            recipe: "zlib".into(),
            packages: vec!["zlib".into()],
            version: "1.3.1-1".into(),
            tag: "v1.3.1".into(),
            source: SourceRef {
                git: "https://example.org/zlib".into(),
                commit: "a".repeat(40),
                submodules: false,
            },
            grant,
        }
    }

    #[test]
    fn names_in_the_description_resolve_to_this_hosts_paths_and_keys() {
        let h = host();
        let r = h
            .resolve(&job(Grant {
                inject_pubkey: vec!["tcb".into()],
                sign: vec!["tcb".into()],
                network: false,
            }))
            .unwrap();
        assert_eq!(r.recipe_file, Path::new("/r/zlib/peipkg.toml"));
        assert_eq!(r.sign_key, Path::new("/farm.key"));
        assert_eq!(r.build_env, vec![("TCB_HEX".into(), "ab".into())]);
        assert_eq!(r.binary_sign_keys, vec![("tcb".into(), "/tcb.key".into())]);
        assert_eq!(h.log(3), Path::new("/s/logs/build-3.log"));
        let work = h.work_dir(3);
        assert_eq!(work.parent(), Some(Path::new("/s/work")));
        assert_eq!(
            work.file_name(),
            Some(format!("3.{}", std::process::id()).as_ref())
        );
    }

    #[test]
    fn a_key_name_this_host_cannot_use_rejects_the_job() {
        for grant in [
            Grant {
                sign: vec!["nope".into()],
                ..Grant::default()
            },
            Grant {
                inject_pubkey: vec!["nope".into()],
                ..Grant::default()
            },
        ] {
            match host().resolve(&job(grant)) {
                Err(JobError::Rejected(m)) => assert_eq!(m, UNUSABLE_KEY),
                other => panic!("{:?}", other.map(|_| ())),
            }
        }
    }

    #[test]
    fn the_network_grant_is_the_descriptions() {
        let h = host();
        let with = h
            .resolve(&job(Grant {
                network: true,
                ..Grant::default()
            }))
            .unwrap();
        assert!(with.sandbox_args.contains(&"--sandbox-network".to_string()));
        let without = h.resolve(&job(Grant::default())).unwrap();
        assert!(!without
            .sandbox_args
            .contains(&"--sandbox-network".to_string()));
    }
}
