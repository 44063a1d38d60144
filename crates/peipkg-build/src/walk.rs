//! Walking a staged tree (`$DESTDIR`, or `pack --staged`).
//!
//! Entries are read with `lstat`, so symlinks are recorded as links (never
//! followed) and hardlinks are simply several regular files, each packed as
//! an independent copy. Anything a package cannot carry (devices, FIFOs,
//! sockets) or describe (names and link targets that are not UTF-8) is an
//! error, and all such entries are reported together.

use std::fs;
use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

/// What a staged entry is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StagedKind {
    File { size: u64 },
    Symlink { target: String },
    Dir { empty: bool },
}

/// One staged entry, by its path relative to the staged root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StagedEntry {
    /// Relative, `/`-separated, without leading or trailing `/`.
    pub path: String,
    pub kind: StagedKind,
}

/// The staged tree could not be read, or holds what no package may carry.
#[derive(Debug, thiserror::Error)]
pub enum WalkError {
    #[error("read staged tree {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("staged tree {0} is not a directory")]
    NotADirectory(PathBuf),
    #[error("{}", render_unsupported(.0))]
    Unsupported(Vec<String>),
}

fn render_unsupported(items: &[String]) -> String {
    let mut out = format!(
        "the staged tree holds {} entr{} no package can carry (PSD-009 §3.2.5 allows regular files, directories and symlinks only; names must be UTF-8):",
        items.len(),
        if items.len() == 1 { "y" } else { "ies" }
    );
    for item in items {
        out.push_str("\n  ");
        out.push_str(item);
    }
    out
}

/// Walks a staged tree depth-first in wire order: siblings sorted by name,
/// a directory's name compared as if it ended in `/`, so entries come out
/// sorted exactly as the package writer stores them and can be streamed to
/// it. Memory is one frame per open directory (its remaining children), not
/// one record per entry.
///
/// The root itself is not an entry. `root` may be a symlink to a
/// directory; the walk starts at its target and follows nothing below it.
/// Entries no package may carry are skipped and collected; [`Walk::finish`]
/// reports them all together. After an I/O error the walk ends.
pub struct Walk {
    root: PathBuf,
    stack: Vec<Frame>,
    unsupported: Vec<String>,
}

/// An open directory: its relative path and its children not yet visited,
/// in reverse wire order so the next one is popped off the end.
struct Frame {
    prefix: String,
    children: Vec<Child>,
}

struct Child {
    name: String,
    is_dir: bool,
}

impl Walk {
    pub fn new(root: &Path) -> Result<Walk, WalkError> {
        let meta = fs::metadata(root).map_err(|source| WalkError::Io {
            path: root.to_path_buf(),
            source,
        })?;
        if !meta.is_dir() {
            return Err(WalkError::NotADirectory(root.to_path_buf()));
        }
        let mut walk = Walk {
            root: root.to_path_buf(),
            stack: Vec::new(),
            unsupported: Vec::new(),
        };
        let children = walk.read_children(root)?;
        walk.stack.push(Frame {
            prefix: String::new(),
            children,
        });
        Ok(walk)
    }

    /// What the walk skipped because no package can carry it, as one error.
    pub fn finish(self) -> Result<(), WalkError> {
        if self.unsupported.is_empty() {
            Ok(())
        } else {
            Err(WalkError::Unsupported(self.unsupported))
        }
    }

    fn read_children(&mut self, dir: &Path) -> Result<Vec<Child>, WalkError> {
        use std::os::unix::ffi::OsStrExt;
        let io_err = |source| WalkError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut children = Vec::new();
        for entry in fs::read_dir(dir).map_err(io_err)? {
            let entry = entry.map_err(io_err)?;
            let Ok(name) = String::from_utf8(entry.file_name().as_bytes().to_vec()) else {
                self.unsupported.push(format!(
                    "{}: the file name is not valid UTF-8 (PSD-009 §3.2.7)",
                    entry.path().display()
                ));
                continue;
            };
            let is_dir = entry.file_type().map_err(io_err)?.is_dir();
            children.push(Child { name, is_dir });
        }
        children.sort_unstable_by(|a, b| wire_key(b).cmp(wire_key(a)));
        Ok(children)
    }

    fn visit(&mut self, rel: String) -> Result<Option<StagedEntry>, WalkError> {
        let abs = self.root.join(&rel);
        let io_err = |source| WalkError::Io {
            path: abs.clone(),
            source,
        };
        let meta = fs::symlink_metadata(&abs).map_err(io_err)?;
        let ft = meta.file_type();
        let kind = if ft.is_file() {
            StagedKind::File { size: meta.len() }
        } else if ft.is_symlink() {
            match fs::read_link(&abs)
                .map_err(io_err)?
                .into_os_string()
                .into_string()
            {
                Ok(target) => StagedKind::Symlink { target },
                Err(_) => {
                    self.unsupported.push(format!(
                        "{rel}: the symlink target is not valid UTF-8 (PSD-009 §3.4.10)"
                    ));
                    return Ok(None);
                }
            }
        } else if ft.is_dir() {
            let children = self.read_children(&abs)?;
            let empty = children.is_empty();
            self.stack.push(Frame {
                prefix: rel.clone(),
                children,
            });
            StagedKind::Dir { empty }
        } else {
            let what = if ft.is_fifo() {
                "a FIFO (named pipe)"
            } else if ft.is_socket() {
                "a socket"
            } else if ft.is_char_device() {
                "a character device"
            } else if ft.is_block_device() {
                "a block device"
            } else {
                "of an unknown file type"
            };
            self.unsupported.push(format!("{rel}: is {what}"));
            return Ok(None);
        };
        Ok(Some(StagedEntry { path: rel, kind }))
    }
}

/// A child's name as the writer orders it: a directory's with a `/`.
fn wire_key(c: &Child) -> impl Iterator<Item = &u8> + '_ {
    c.name
        .as_bytes()
        .iter()
        .chain(if c.is_dir { &b"/"[..] } else { &b""[..] })
}

impl Iterator for Walk {
    type Item = Result<StagedEntry, WalkError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let frame = self.stack.last_mut()?;
            let Some(child) = frame.children.pop() else {
                self.stack.pop();
                continue;
            };
            let rel = if frame.prefix.is_empty() {
                child.name
            } else {
                format!("{}/{}", frame.prefix, child.name)
            };
            match self.visit(rel) {
                Ok(Some(entry)) => return Some(Ok(entry)),
                Ok(None) => continue,
                Err(e) => {
                    self.stack.clear();
                    return Some(Err(e));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole walk as a list, every unsupported entry reported at once.
    fn walk(root: &Path) -> Result<Vec<StagedEntry>, WalkError> {
        let mut walk = Walk::new(root)?;
        let entries = walk.by_ref().collect::<Result<Vec<_>, _>>()?;
        walk.finish()?;
        Ok(entries)
    }
    use std::os::unix::fs::symlink;

    #[test]
    fn records_files_links_and_dirs_in_wire_order() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("usr/share/lib")).unwrap();
        fs::create_dir_all(root.join("usr/share/lib.d")).unwrap();
        fs::create_dir_all(root.join("var/empty")).unwrap();
        fs::write(root.join("usr/share/lib/x"), b"abc").unwrap();
        fs::write(root.join("usr/share/lib-extra"), b"").unwrap();
        symlink("../lib/x", root.join("usr/share/lib.d/y")).unwrap();
        symlink("/nonexistent", root.join("usr/share/dangling")).unwrap();
        let entries = walk(root).unwrap();
        let listed: Vec<(&str, &StagedKind)> =
            entries.iter().map(|e| (e.path.as_str(), &e.kind)).collect();
        assert_eq!(
            listed,
            [
                ("usr", &StagedKind::Dir { empty: false }),
                ("usr/share", &StagedKind::Dir { empty: false }),
                (
                    "usr/share/dangling",
                    &StagedKind::Symlink {
                        target: "/nonexistent".into()
                    }
                ),
                ("usr/share/lib-extra", &StagedKind::File { size: 0 }),
                ("usr/share/lib.d", &StagedKind::Dir { empty: false }),
                (
                    "usr/share/lib.d/y",
                    &StagedKind::Symlink {
                        target: "../lib/x".into()
                    }
                ),
                ("usr/share/lib", &StagedKind::Dir { empty: false }),
                ("usr/share/lib/x", &StagedKind::File { size: 3 }),
                ("var", &StagedKind::Dir { empty: false }),
                ("var/empty", &StagedKind::Dir { empty: true }),
            ]
        );
    }

    #[test]
    fn hardlinks_are_independent_files() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("a"), b"same").unwrap();
        fs::hard_link(dir.path().join("a"), dir.path().join("b")).unwrap();
        let entries = walk(dir.path()).unwrap();
        assert_eq!(entries.len(), 2);
        assert!(entries
            .iter()
            .all(|e| e.kind == StagedKind::File { size: 4 }));
    }

    #[test]
    fn special_files_are_all_reported() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = |name: &str| peipkg_os::files::mkfifo(&dir.path().join(name), 0o600).unwrap();
        fifo("pipe1");
        fifo("pipe2");
        let sock = std::os::unix::net::UnixListener::bind(dir.path().join("sock")).unwrap();
        let err = walk(dir.path()).unwrap_err();
        drop(sock);
        let msg = err.to_string();
        assert!(msg.contains("3 entries no package can carry"), "{msg}");
        assert!(msg.contains("pipe1: is a FIFO"), "{msg}");
        assert!(msg.contains("pipe2: is a FIFO"), "{msg}");
        assert!(msg.contains("sock: is a socket"), "{msg}");
    }

    #[test]
    fn non_utf8_names_are_refused() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"bad\xff");
        fs::write(dir.path().join(name), b"").unwrap();
        let msg = walk(dir.path()).unwrap_err().to_string();
        assert!(msg.contains("not valid UTF-8"), "{msg}");
    }

    #[test]
    fn missing_root_and_file_root() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        assert!(matches!(walk(&missing), Err(WalkError::Io { .. })));
        fs::write(&missing, b"").unwrap();
        assert!(matches!(walk(&missing), Err(WalkError::NotADirectory(_))));
    }

    #[test]
    fn symlinked_root_is_followed_once() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("real")).unwrap();
        fs::write(dir.path().join("real/f"), b"x").unwrap();
        symlink("real", dir.path().join("link")).unwrap();
        let entries = walk(&dir.path().join("link")).unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].path, "f");
    }
}
