//! Processes a killed run may leave behind: the manager's crash matrix
//! (its test and the `crash-farm` benchmark) checks that none outlives the
//! run that follows.

use std::path::Path;

/// The live processes (zombies aside, and never this one) whose command
/// line names `dir`, as `pid: command line`: a farm's children all name
/// its directory, so these are what a run left running there.
pub fn processes_naming(dir: &Path) -> Vec<String> {
    let needle = dir.display().to_string();
    let me = std::process::id().to_string();
    let mut out = Vec::new();
    for p in std::fs::read_dir("/proc").expect("read /proc").flatten() {
        let name = p.file_name().to_string_lossy().into_owned();
        if !name.chars().all(|c| c.is_ascii_digit()) || name == me {
            continue;
        }
        let Ok(cmd) = std::fs::read(p.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&cmd).replace('\0', " ");
        let zombie = std::fs::read_to_string(p.path().join("stat"))
            .map(|s| {
                s.rsplit(')')
                    .next()
                    .unwrap_or("")
                    .trim_start()
                    .starts_with('Z')
            })
            .unwrap_or(true);
        if cmd.contains(&needle) && !zombie {
            out.push(format!("{name}: {cmd}"));
        }
    }
    out
}
