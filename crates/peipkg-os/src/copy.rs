//! Copying a tree that someone else may still be changing.
//!
//! The farm host copies a build node's staged tree out of shared storage
//! before it checks and signs it. The node is not trusted: while the copy
//! runs, it could swap a file or a directory for a symlink to a host file
//! (the repository key, say) and get that signed into a package. So every
//! entry is opened relative to its already-opened parent with
//! `O_NOFOLLOW`, its type is taken from the opened descriptor (`fstat`),
//! and links are copied as links (`readlinkat`), never followed.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Deeper trees than this are refused (each level holds a descriptor).
const MAX_DEPTH: usize = 256;

/// Copies the contents of directory `src` into the existing directory
/// `dst`: directories, regular files and symlinks, with their permission
/// bits. Hardlinks become independent files; anything else (devices,
/// FIFOs, sockets) is an error naming the entry.
pub fn copy_tree_nofollow(src: &Path, dst: &Path) -> io::Result<()> {
    let root = open_at(libc::AT_FDCWD, src, dir_flags())?;
    let st = fstat(&root)?;
    if st.st_mode & libc::S_IFMT != libc::S_IFDIR {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a directory", src.display()),
        ));
    }
    copy_dir(&root, src, dst, 0)?;
    fs::set_permissions(dst, fs::Permissions::from_mode(st.st_mode & 0o7777))
}

fn dir_flags() -> libc::c_int {
    libc::O_RDONLY | libc::O_DIRECTORY | libc::O_NOFOLLOW | libc::O_CLOEXEC
}

fn open_at(dir: libc::c_int, name: &Path, flags: libc::c_int) -> io::Result<OwnedFd> {
    let c = CString::new(name.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))?;
    // SAFETY: `c` is a valid NUL-terminated string for the call's duration.
    let fd = unsafe { libc::openat(dir, c.as_ptr(), flags) };
    if fd < 0 {
        let e = io::Error::last_os_error();
        return Err(io::Error::new(
            e.kind(),
            format!("open {} without following links: {e}", name.display()),
        ));
    }
    // SAFETY: `fd` was just returned by openat and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

fn fstat(fd: &OwnedFd) -> io::Result<libc::stat> {
    // SAFETY: an all-zero `stat` is a valid value to be overwritten.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `fd` is open and `st` is a valid out pointer.
    if unsafe { libc::fstat(fd.as_raw_fd(), &mut st) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn lstat_at(dir: &OwnedFd, name: &CString) -> io::Result<libc::stat> {
    // SAFETY: as in `fstat`; `name` is NUL-terminated.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    // SAFETY: `dir` is open, `name` is NUL-terminated and `st` is a valid
    // out pointer, all for the duration of the call.
    let rc = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            name.as_ptr(),
            &mut st,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(st)
}

fn read_link_at(dir: &OwnedFd, name: &CString) -> io::Result<Vec<u8>> {
    let mut buf = vec![0u8; libc::PATH_MAX as usize + 1];
    // SAFETY: `buf` is writable for its length; `name` is NUL-terminated.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            name.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    buf.truncate(n as usize);
    Ok(buf)
}

fn copy_dir(dir: &OwnedFd, shown: &Path, dst: &Path, depth: usize) -> io::Result<()> {
    if depth > MAX_DEPTH {
        return Err(io::Error::other(format!(
            "{} is nested more than {MAX_DEPTH} directories deep",
            shown.display()
        )));
    }
    let ctx = |what: &str, path: &Path, e: io::Error| {
        io::Error::new(e.kind(), format!("{what} {}: {e}", path.display()))
    };
    // The directory is listed through its descriptor, so a rename of the
    // path after it was opened changes nothing.
    let listing = format!("/proc/self/fd/{}", dir.as_raw_fd());
    let mut names: Vec<std::ffi::OsString> = fs::read_dir(&listing)
        .map_err(|e| ctx("list", shown, e))?
        .map(|e| e.map(|e| e.file_name()))
        .collect::<io::Result<_>>()
        .map_err(|e| ctx("list", shown, e))?;
    names.sort();
    for name in names {
        let from = shown.join(&name);
        let to = dst.join(&name);
        let c = CString::new(name.as_bytes())
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "name contains NUL"))?;
        let st = lstat_at(dir, &c).map_err(|e| ctx("stat", &from, e))?;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                let sub = open_at(dir.as_raw_fd(), Path::new(&name), dir_flags())?;
                let sst = fstat(&sub)?;
                if sst.st_mode & libc::S_IFMT != libc::S_IFDIR {
                    return Err(changed(&from));
                }
                fs::DirBuilder::new()
                    .mode(0o700)
                    .create(&to)
                    .map_err(|e| ctx("create", &to, e))?;
                copy_dir(&sub, &from, &to, depth + 1)?;
                fs::set_permissions(&to, fs::Permissions::from_mode(sst.st_mode & 0o7777))
                    .map_err(|e| ctx("set mode of", &to, e))?;
            }
            libc::S_IFREG => {
                let flags = libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_CLOEXEC | libc::O_NONBLOCK;
                let fd = open_at(dir.as_raw_fd(), Path::new(&name), flags)?;
                let fst = fstat(&fd)?;
                if fst.st_mode & libc::S_IFMT != libc::S_IFREG {
                    return Err(changed(&from));
                }
                let mut input = fs::File::from(fd);
                let mut out = fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&to)
                    .map_err(|e| ctx("create", &to, e))?;
                io::copy(&mut input, &mut out).map_err(|e| ctx("copy", &from, e))?;
                out.set_permissions(fs::Permissions::from_mode(fst.st_mode & 0o7777))
                    .map_err(|e| ctx("set mode of", &to, e))?;
            }
            libc::S_IFLNK => {
                let target = read_link_at(dir, &c).map_err(|e| ctx("read link", &from, e))?;
                let target = std::ffi::OsStr::from_bytes(&target);
                std::os::unix::fs::symlink(target, &to).map_err(|e| ctx("create", &to, e))?;
            }
            _ => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{} is not a directory, regular file or symlink; a package cannot carry it",
                        from.display()
                    ),
                ))
            }
        }
    }
    Ok(())
}

fn changed(path: &Path) -> io::Error {
    io::Error::other(format!(
        "{} changed type while it was being copied; refusing a tree that is still being written",
        path.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_files_dirs_links_and_modes_without_following_links() {
        let d = tempfile::tempdir().unwrap();
        let (src, dst) = (d.path().join("src"), d.path().join("dst"));
        fs::create_dir_all(src.join("usr/bin")).unwrap();
        fs::write(src.join("usr/bin/tool"), "#!/bin/sh\n").unwrap();
        fs::set_permissions(src.join("usr/bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        let secret = d.path().join("secret");
        fs::write(&secret, "key").unwrap();
        std::os::unix::fs::symlink(&secret, src.join("usr/leak")).unwrap();
        fs::set_permissions(src.join("usr"), fs::Permissions::from_mode(0o750)).unwrap();
        fs::create_dir(&dst).unwrap();
        copy_tree_nofollow(&src, &dst).unwrap();
        assert_eq!(fs::read(dst.join("usr/bin/tool")).unwrap(), b"#!/bin/sh\n");
        let mode = |p: &Path| fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode(&dst.join("usr/bin/tool")), 0o755);
        assert_eq!(mode(&dst.join("usr")), 0o750);
        assert_eq!(fs::read_link(dst.join("usr/leak")).unwrap(), secret);
        assert!(fs::symlink_metadata(dst.join("usr/leak"))
            .unwrap()
            .file_type()
            .is_symlink());
    }

    #[test]
    fn a_root_that_is_a_link_or_a_fifo_inside_is_refused() {
        let d = tempfile::tempdir().unwrap();
        let real = d.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = d.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let dst = d.path().join("dst");
        fs::create_dir(&dst).unwrap();
        let e = copy_tree_nofollow(&link, &dst).unwrap_err().to_string();
        assert!(e.contains("without following links"), "{e}");
        crate::files::mkfifo(&real.join("p"), 0o644).unwrap();
        let e = copy_tree_nofollow(&real, &dst).unwrap_err().to_string();
        assert!(e.contains("cannot carry it"), "{e}");
    }
}
