//! How the C allocator hands freed memory back to the system.
//!
//! A long-running daemon builds a few large, short-lived buffers (the
//! `/status` document and the dashboard are megabytes on a farm of
//! thousands of recipes) from threads that come and go. glibc's defaults
//! suit short programs: after the first large buffer is freed it raises
//! its mmap threshold to that size, so every later one comes from a heap
//! arena and stays resident once freed, and each new thread may get an
//! arena of its own that keeps its free pages too. The daemon's resident
//! size then follows the largest page it ever served rather than what it
//! holds. Both knobs only change where memory comes from, never what the
//! program computes; other C libraries ignore them.

/// Large allocations (128 KiB and up) are mapped and unmapped on their
/// own, at most two arenas are kept, and free memory at the top of a heap
/// is returned from 128 KiB on. Call once, early, before threads start.
pub fn return_freed_memory_promptly() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const THRESHOLD: libc::c_int = 128 * 1024;
        // SAFETY: mallopt only sets allocator parameters; called before
        // other threads exist, with values glibc documents as valid. A
        // refusal (return 0) leaves the defaults, which are merely larger.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_TRIM_THRESHOLD, THRESHOLD);
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}

/// Gives free pages inside the heaps back to the system, after a large
/// piece of work whose memory is now free (glibc's `malloc_trim`).
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim walks the allocator's own free lists under its
    // locks; it touches no memory of ours and is thread-safe.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn tuning_and_trimming_leave_allocation_working() {
        super::return_freed_memory_promptly();
        let big = vec![7u8; 4 << 20];
        assert_eq!(
            big.iter().map(|&b| b as usize).sum::<usize>(),
            7 * (4 << 20)
        );
        drop(big);
        super::release_free_memory();
        let again = vec![1u8; 1 << 20];
        assert_eq!(again.len(), 1 << 20);
    }
}
