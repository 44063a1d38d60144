//! Read a staged tree into the writer's entry list, the way a producer
//! would, so the benchmarks time the writer on real files.

use anyhow::{Context, Result};
use peipkg_format::archive::{EntryKind, PayloadEntry};
use std::fs;
use std::path::{Path, PathBuf};

/// Every entry under `root`, relative, directories included.
pub fn walk(root: &Path) -> Result<Vec<PayloadEntry>> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let dir = root.join(&rel);
        for e in fs::read_dir(&dir).with_context(|| format!("read {}", dir.display()))? {
            let e = e?;
            let rel_child = rel.join(e.file_name());
            let path = rel_child
                .to_str()
                .with_context(|| format!("non-UTF-8 name {}", rel_child.display()))?
                .to_string();
            let ft = e.file_type()?;
            let kind = if ft.is_dir() {
                stack.push(rel_child.clone());
                EntryKind::Directory
            } else if ft.is_symlink() {
                let t = fs::read_link(e.path())?;
                EntryKind::Symlink {
                    target: t
                        .to_str()
                        .with_context(|| format!("non-UTF-8 link {}", e.path().display()))?
                        .to_string(),
                }
            } else {
                EntryKind::File {
                    size: e.metadata()?.len(),
                }
            };
            out.push(PayloadEntry { path, kind });
        }
    }
    Ok(out)
}
