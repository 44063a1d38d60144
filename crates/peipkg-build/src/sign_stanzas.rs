//! `[[sign]]`: embedding `.peios.sig` into staged binaries, after the build
//! script (the last thing that changes them) and before partitioning (so
//! the packages carry, and their `files.json` hashes, the signed bytes).
//!
//! Paths are resolved inside `$DESTDIR` as the installed system would
//! resolve them: a symlink's target is followed (an absolute target is
//! taken relative to `$DESTDIR`, which is `/` once installed) and the file
//! it names is signed in place; the symlink stays a symlink. A target that
//! would leave `$DESTDIR` is an error, so a host file is never read,
//! signed or copied in. The reference replaced the symlink with a signed
//! copy and left the real file unsigned.

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};

use peipkg_format::keys::SigningKey;

use crate::binary_sign::{sign_file, SignFileError};
use crate::recipe::SignStanza;

/// Like the kernel's limit on symlink hops.
const MAX_SYMLINK_HOPS: u32 = 40;

#[derive(Debug, thiserror::Error)]
pub enum SignStanzaError {
    #[error("[[sign]] #{index} ({path:?}): no signing key named {key:?} was supplied (need --binary-sign-key {key}=PATH)")]
    MissingKey {
        index: usize,
        path: String,
        key: String,
    },
    #[error("[[sign]] #{index} ({path:?}): {reason}")]
    Resolve {
        index: usize,
        path: String,
        reason: String,
    },
    #[error("[[sign]] #{index} ({path:?}): {source}")]
    Sign {
        index: usize,
        path: String,
        source: SignFileError,
    },
}

/// Signs every stanza's file, in declaration order. Stanzas are 1-based
/// in messages, like the recipe checks.
pub fn apply(
    destdir: &Path,
    signs: &[SignStanza],
    keys: &[(String, SigningKey)],
) -> Result<(), SignStanzaError> {
    for (i, stanza) in signs.iter().enumerate() {
        let index = i + 1;
        let Some((_, key)) = keys.iter().find(|(name, _)| *name == stanza.key) else {
            return Err(SignStanzaError::MissingKey {
                index,
                path: stanza.path.clone(),
                key: stanza.key.clone(),
            });
        };
        let resolve = |reason: String| SignStanzaError::Resolve {
            index,
            path: stanza.path.clone(),
            reason,
        };
        let target = resolve_in_destdir(destdir, Path::new(&stanza.path)).map_err(resolve)?;
        let meta = std::fs::symlink_metadata(&target)
            .map_err(|e| resolve(format!("{}: {e}", target.display())))?;
        if !meta.is_file() {
            return Err(resolve(format!(
                "{} is not a regular file",
                target.display()
            )));
        }
        sign_file(&target, key).map_err(|source| SignStanzaError::Sign {
            index,
            path: stanza.path.clone(),
            source,
        })?;
    }
    Ok(())
}

/// Follows `rel` inside `root`, symlinks included, with `root` as `/`.
/// Returns the absolute host path of the file it names.
pub fn resolve_in_destdir(root: &Path, rel: &Path) -> Result<PathBuf, String> {
    // Components still to walk, last first.
    let mut pending: Vec<OsString> = Vec::new();
    push_components(&mut pending, rel, false)?;
    let mut resolved: Vec<OsString> = Vec::new();
    let mut hops = 0;
    while let Some(part) = pending.pop() {
        match part.to_str() {
            Some("/") => resolved.clear(),
            Some(".") => {}
            Some("..") => {
                if resolved.pop().is_none() {
                    return Err(format!("{} leads outside $DESTDIR", rel.display()));
                }
            }
            _ => {
                let mut here = root.to_path_buf();
                here.extend(&resolved);
                here.push(&part);
                let meta = std::fs::symlink_metadata(&here)
                    .map_err(|e| format!("{}: {e}", here.display()))?;
                if meta.is_symlink() {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(format!(
                            "{}: too many levels of symbolic links",
                            rel.display()
                        ));
                    }
                    let target = std::fs::read_link(&here)
                        .map_err(|e| format!("{}: {e}", here.display()))?;
                    push_components(&mut pending, &target, true)?;
                } else {
                    resolved.push(part);
                }
            }
        }
    }
    let mut out = root.to_path_buf();
    out.extend(&resolved);
    Ok(out)
}

/// Pushes `path`'s components onto `pending` so they pop in order. An
/// absolute path restarts at the root, which only a symlink may ask for.
fn push_components(pending: &mut Vec<OsString>, path: &Path, link: bool) -> Result<(), String> {
    let mut parts = Vec::new();
    for c in path.components() {
        match c {
            Component::RootDir if link => parts.push(OsString::from("/")),
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{} is absolute; [[sign]] paths are relative to $DESTDIR",
                    path.display()
                ))
            }
            Component::CurDir => {}
            Component::ParentDir => parts.push(OsString::from("..")),
            Component::Normal(n) => parts.push(n.to_os_string()),
        }
    }
    pending.extend(parts.into_iter().rev());
    Ok(())
}
