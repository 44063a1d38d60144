//! `syncfs`: one flush of a whole file system instead of an fsync per file
//! after a bulk write.

use std::fs::File;
use std::io;
use std::os::unix::io::AsRawFd;

/// Flushes every written file of the file system holding `file` to disk.
pub fn syncfs(file: &File) -> io::Result<()> {
    // SAFETY: syncfs on a descriptor we own; no memory involved.
    if unsafe { libc::syncfs(file.as_raw_fd()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn syncfs_flushes_the_file_system_of_an_open_file() {
        let d = tempfile::tempdir().unwrap();
        super::syncfs(&std::fs::File::open(d.path()).unwrap()).unwrap();
    }
}
