//! Resource limits a child takes on before exec (`setrlimit`), and whether
//! they bind us at all (the kernel exempts root from `RLIMIT_NPROC`).

/// A resource `setrlimit` can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// Largest file a process may write (`RLIMIT_FSIZE`; beyond it, SIGXFSZ).
    FileSize,
    /// Address space of each process (`RLIMIT_AS`).
    AddressSpace,
    /// Processes of the real user (`RLIMIT_NPROC`; not enforced for root).
    Processes,
}

/// Sets the soft and hard limit of `resource` to `value` in the calling
/// process. Runs between fork and exec, so it only makes the syscall.
pub(crate) fn set(resource: Resource, value: u64) -> std::io::Result<()> {
    let raw = match resource {
        Resource::FileSize => libc::RLIMIT_FSIZE,
        Resource::AddressSpace => libc::RLIMIT_AS,
        Resource::Processes => libc::RLIMIT_NPROC,
    };
    let lim = libc::rlimit {
        rlim_cur: value as libc::rlim_t,
        rlim_max: value as libc::rlim_t,
    };
    // SAFETY: one valid rlimit for the duration of the call.
    if unsafe { libc::setrlimit(raw, &lim) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(())
}

/// Whether this process runs with effective user id 0.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}
