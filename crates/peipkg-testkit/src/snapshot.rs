//! Snapshot files: what a program printed, pinned under a crate's
//! `tests/snapshots/`, so a change of wording or of an exit status shows up
//! as a reviewed diff instead of slipping through. Rewrite them with
//! `UPDATE_SNAPSHOTS=1 cargo test ...` and review `git diff`.
//!
//! One small mechanism rather than a snapshot crate: what we pin is short
//! text, and this needs nothing beyond `std`.

use std::path::Path;
use std::process::Command;

/// Runs `exe` with `args` and renders exit status, stdout and stderr as one
/// text, with `tmp` replaced by `<TMP>` and logfmt timestamps by `<TIME>`,
/// so the text is the same on every run. `shown` is the program name put
/// on the `$` line.
pub fn run_program(exe: &Path, shown: &str, args: &[&str], tmp: &Path) -> String {
    let out = Command::new(exe)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", exe.display()));
    let text = format!(
        "$ {shown} {}\nexit status: {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .replace(&tmp.display().to_string(), "<TMP>");
    // logfmt lines start with `time=<RFC 3339> `.
    text.lines()
        .map(
            |l| match l.strip_prefix("time=").and_then(|r| r.split_once(' ')) {
                Some((_, rest)) => format!("time=<TIME> {rest}\n"),
                None => format!("{l}\n"),
            },
        )
        .collect()
}

/// Compares every `(name, text)` with `dir/<name>.txt` (or writes them when
/// `UPDATE_SNAPSHOTS=1`) and panics naming every mismatch at once.
pub fn assert_snapshots(dir: &Path, cases: &[(String, String)]) {
    let update = std::env::var_os("UPDATE_SNAPSHOTS").is_some_and(|v| v == "1");
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(name, actual)| {
            let path = dir.join(format!("{name}.txt"));
            if update {
                std::fs::write(&path, actual)
                    .unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
                return None;
            }
            match std::fs::read_to_string(&path) {
                Ok(expected) if expected == *actual => None,
                Ok(expected) => Some(format!(
                    "snapshot {} differs (UPDATE_SNAPSHOTS=1 to accept):\n--- expected\n{expected}\n--- actual\n{actual}",
                    path.display()
                )),
                Err(e) => Some(format!(
                    "snapshot {}: {e} (UPDATE_SNAPSHOTS=1 to create it):\n{actual}",
                    path.display()
                )),
            }
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
