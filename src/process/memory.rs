//! Keeping the resident memory close to what is in use.
//!
//! glibc's allocator keeps freed memory for reuse: one arena per thread that ever allocated, and the
//! pages of freed blocks stay resident. The collector's use is bursty (a metrics collection holds a
//! few hundred answers at once, then lets them all go), so without help its RSS sits at the size of
//! the biggest burst across every arena, several times the heap in use. Two arenas, and giving free
//! pages back after each tick, keep it near the heap (measured with `scripts/bench.sh`).

/// Limits the allocator to two arenas. Call before any thread starts.
pub fn limit_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called before other threads exist.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Returns free pages to the system (glibc `malloc_trim`), after a burst of work.
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases memory the allocator holds free.
    unsafe {
        libc::malloc_trim(0);
    }
}
