//! Giving the memory a large piece of work freed back to the system.
//!
//! glibc's allocator keeps what the alerts over a whole unit, a status report or a
//! bulk export freed in its arenas, one per thread that allocated, and the server's
//! resident memory stayed at the peak of its heaviest request for good (issue 16
//! measured 0.9–1.6 GB after the alerts, never returned). A task beside the server
//! hands the free pages back every [`TRIM_EVERY`]. The `samhand` binary allocates
//! Rust's memory with mimalloc, which returns its own; SQLite's allocations stay
//! with the C library's `malloc`, and this trims those.

use std::time::Duration;

/// How often the server hands free memory back to the system.
pub const TRIM_EVERY: Duration = Duration::from_secs(10);

/// Hands the allocator's free pages back to the system (glibc's `malloc_trim`,
/// which walks every arena, not only the top of the main heap). Elsewhere nothing.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[expect(unsafe_code, reason = "a call into the C library, with no pointer passed")]
pub fn release_free_memory() {
    // SAFETY: malloc_trim takes a plain size (the padding to keep, here none) and
    // only rearranges the allocator's own free lists under its own locks.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Hands the allocator's free pages back to the system (only with glibc).
#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
pub fn release_free_memory() {}

/// A memory figure of this process from `/proc/self/status` (`VmRSS`,
/// `RssAnon`, `RssFile`, `VmHWM`, …), in MB; 0 where there is none.
pub fn status_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.strip_prefix(field).is_some_and(|rest| rest.starts_with(':')))
                .and_then(|line| line.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Starts the task that calls [`release_free_memory`] every [`TRIM_EVERY`] on a
/// blocking thread, until `stop` turns true.
pub fn spawn_trim(stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(crate::scheduler::every(TRIM_EVERY.as_secs(), stop, || async {
        let _ = tokio::task::spawn_blocking(release_free_memory).await;
    }))
}

#[cfg(all(test, target_os = "linux", target_env = "gnu"))]
mod tests {
    use super::*;

    #[test]
    fn freed_memory_in_the_middle_of_the_heap_goes_back_to_the_system() {
        // 256 MB in small blocks (below the allocator's mmap threshold, so on the
        // heap), touched, then all freed but the last: the free space is below a
        // block in use, where the allocator's own trimming of the heap's top never
        // reaches, as after a large request whose answer is still held.
        let mut blocks: Vec<Vec<u8>> = (0..65_536).map(|i| vec![(i % 251) as u8; 4096]).collect();
        let last = blocks.pop().expect("a block");
        drop(blocks);
        let before = status_mb("RssAnon");
        release_free_memory();
        let after = status_mb("RssAnon");
        assert!(before > 0.0, "RssAnon in /proc/self/status");
        assert!(
            before - after > 128.0,
            "release_free_memory gave back {:.0} MB of 256 MB freed ({before:.0} → {after:.0} MB)",
            before - after
        );
        assert_eq!(last[0], (65_535 % 251) as u8);
    }
}
