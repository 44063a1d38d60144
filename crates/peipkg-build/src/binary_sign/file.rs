//! Signing a file in place without ever leaving it half-written.
//!
//! The signed copy is streamed to `<file>.peios-sig.tmp` next to the file
//! (created with the original permission bits, subject to the umask, as
//! the reference does), synced, checked with the kernel's rule, and only
//! then renamed over the file. On every error the input is untouched and
//! the temporary file is gone. The input is read in place, never loaded
//! whole, so memory does not grow with the binary.
//!
//! A symlink is followed and its *target* is signed in place; the
//! reference replaced the symlink with a signed copy and left the target
//! unsigned.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{FileExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use peipkg_format::keys::SigningKey;
use sha2::{Digest, Sha256};

use super::elf::{plan, HEADER_LEN};
use super::verify::verify;
use super::{blob, hash_range, BinSignError, ReadAt};

#[derive(Debug, thiserror::Error)]
pub enum SignFileError {
    #[error("stat {path}: {source}")]
    Stat {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a regular file")]
    NotRegular { path: PathBuf },
    #[error("sign {path}: {source}")]
    Sign { path: PathBuf, source: BinSignError },
}

/// An open file read by offset.
struct FileSource<'a> {
    file: &'a File,
    size: u64,
    path: &'a Path,
}

impl ReadAt for FileSource<'_> {
    fn size(&self) -> u64 {
        self.size
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), BinSignError> {
        self.file
            .read_exact_at(buf, offset)
            .map_err(|source| BinSignError::Io {
                op: "read",
                path: self.path.to_path_buf(),
                source,
            })
    }
}

/// Removes the temporary file unless the rename happened.
struct TempGuard(Option<PathBuf>);

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(path) = self.0.take() {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Signs the ELF file at `path` (its target, if it is a symlink) in place
/// with `key`. Returns the path of the file that was signed.
pub fn sign_file(path: &Path, key: &SigningKey) -> Result<PathBuf, SignFileError> {
    let stat = |source| SignFileError::Stat {
        path: path.to_path_buf(),
        source,
    };
    let target = std::fs::canonicalize(path).map_err(stat)?;
    let meta = std::fs::metadata(&target).map_err(stat)?;
    if !meta.is_file() {
        return Err(SignFileError::NotRegular {
            path: path.to_path_buf(),
        });
    }
    sign_regular(&target, meta.permissions().mode() & 0o777, key).map_err(|source| {
        SignFileError::Sign {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Signs a regular file through `<file>.peios-sig.tmp`; on any error the
/// temporary file is removed (by the guard) and `target` is untouched.
fn sign_regular(target: &Path, mode: u32, key: &SigningKey) -> Result<PathBuf, BinSignError> {
    let io = |op: &'static str, path: &Path| {
        let path = path.to_path_buf();
        move |source| BinSignError::Io { op, path, source }
    };
    let file = File::open(target).map_err(io("open", target))?;
    let size = file.metadata().map_err(io("stat", target))?.len();
    let src = FileSource {
        file: &file,
        size,
        path: target,
    };
    let mut plan = plan(&src)?;
    let body_len = size - HEADER_LEN as u64;

    let mut hasher = Sha256::new();
    hasher.update(plan.header);
    hash_range(&src, HEADER_LEN as u64, body_len, &mut hasher)?;
    hasher.update(&plan.tail);
    let digest: [u8; 32] = hasher.finalize().into();
    plan.set_blob(&blob(key, &digest));

    let tmp = temp_path(target);
    match std::fs::remove_file(&tmp) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io("remove stale", &tmp)(e)),
    }
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags(libc::O_NOFOLLOW)
        .open(&tmp)
        .map_err(io("create", &tmp))?;
    let mut guard = TempGuard(Some(tmp.clone()));
    out.write_all(&plan.header).map_err(io("write", &tmp))?;
    let mut reader = &file;
    reader
        .seek(SeekFrom::Start(HEADER_LEN as u64))
        .map_err(io("read", target))?;
    let copied =
        std::io::copy(&mut reader.take(body_len), &mut out).map_err(io("copy to", &tmp))?;
    if copied != body_len {
        return Err(io("read", target)(std::io::Error::other(format!(
            "the file shrank while it was being signed ({copied} of {body_len} bytes after the header)"
        ))));
    }
    out.write_all(&plan.tail).map_err(io("write", &tmp))?;
    out.sync_all().map_err(io("sync", &tmp))?;
    drop(out);

    let written = File::open(&tmp).map_err(io("open", &tmp))?;
    let written_size = written.metadata().map_err(io("stat", &tmp))?.len();
    let check = FileSource {
        file: &written,
        size: written_size,
        path: &tmp,
    };
    if verify(&check, &key.public_key()).is_err() {
        return Err(BinSignError::SelfVerify);
    }
    std::fs::rename(&tmp, target).map_err(io("rename over", target))?;
    guard.0 = None;
    Ok(target.to_path_buf())
}

/// `<file>.peios-sig.tmp`, the reference's name.
fn temp_path(target: &Path) -> PathBuf {
    let mut name = target.as_os_str().to_os_string();
    name.push(".peios-sig.tmp");
    PathBuf::from(name)
}
