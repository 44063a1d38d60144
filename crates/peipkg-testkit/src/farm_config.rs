//! The smallest complete `peipkg-manager` config, as the manager's
//! end-to-end tests and the farm benchmarks write it.

use std::path::Path;

/// Where a test farm keeps things, and what it runs.
pub struct FarmPaths<'a> {
    pub id: &'a str,
    pub repo_name: &'a str,
    /// `[repo] description`, if any.
    pub description: Option<&'a str>,
    pub recipes: &'a Path,
    pub state: &'a Path,
    pub key: &'a Path,
    pub peipkg_build: &'a Path,
    pub peipkg_repo: &'a Path,
}

/// The config text; `extra` follows the `[build]` table directly, so it
/// may add `[build]` keys and then other tables.
pub fn farm_config(p: &FarmPaths<'_>, extra: &str) -> String {
    format!(
        r#"[manager]
id = "{id}"
recipes_dir = "{recipes}"
state_dir = "{state}"

[repo]
name = "{repo_name}"
{description}
[signing]
key_file = "{key}"

[poll]
default_interval = "1h"

[build]
peipkg_build = "{build}"
peipkg_repo = "{repo}"
{extra}
"#,
        id = p.id,
        repo_name = p.repo_name,
        description = p
            .description
            .map(|d| format!("description = \"{d}\"\n"))
            .unwrap_or_default(),
        recipes = p.recipes.display(),
        state = p.state.display(),
        key = p.key.display(),
        build = p.peipkg_build.display(),
        repo = p.peipkg_repo.display(),
    )
}
