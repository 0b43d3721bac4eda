//! Giving memory back. Start-up builds a few large structures once and drops them — every
//! HTTP worker builds its route table with the OpenAPI description (about 6 MB each, in the
//! worker thread's malloc arena), the database pools run their first queries — and glibc
//! keeps the freed pages for reuse, so an idle server would show them as resident for
//! ever. [`release_free_memory`] hands whole free pages back to the kernel: once shortly
//! after start-up and after each housekeeping pass (after a burst of work).
//!
//! glibc also gives every thread that allocates under contention an arena of its own, up
//! to 8 per core, and each keeps its own free pages and fragments: the HTTP workers, the
//! runtime's threads, the database lanes and blocking threads would hold a dozen.
//! [`limit_arenas`] caps them (`DANGKE_MALLOC_ARENAS`, default 2); each thread still has
//! its own small cache of freed blocks, so the cap costs little in throughput (measured
//! in `docs/scaling.md`).

/// Caps the number of malloc arenas; `0` keeps the C library's default. Call before any
/// thread is started. A no-op where the C library is not glibc.
pub fn limit_arenas(max: u32) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if max > 0 {
        let max = libc::c_int::try_from(max).unwrap_or(libc::c_int::MAX);
        // SAFETY: mallopt only sets an allocator parameter under the allocator's lock.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, max);
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = max;
}

/// Returns whole free pages of every malloc arena to the kernel (`malloc_trim(0)`).
/// A no-op where the C library is not glibc.
pub fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        // SAFETY: malloc_trim only walks the allocator's own free lists under its locks;
        // it takes no pointer from us and is safe to call from any thread at any time.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

/// Releases free memory once the server has settled after start-up (its workers have
/// built their apps by then).
pub fn after_start_up() {
    tokio::spawn(async {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        release_free_memory();
    });
}
