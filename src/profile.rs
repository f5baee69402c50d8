//! Process-level helpers for large runs: the phase profiler (`OBC_PHASES=1` prints the
//! time and resident memory at each phase boundary of `obc check`, `prepare` and `vam`) and handing memory
//! freed by a finished thread back to the system.

/// Prints `[phase] WHAT: elapsed VmRSS VmHWM` when `OBC_PHASES` is set; nothing otherwise.
pub fn phase(what: &str) {
    if std::env::var_os("OBC_PHASES").is_some() {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let grab = |k: &str| status.lines().find(|l| l.starts_with(k)).unwrap_or("").to_string();
        eprintln!(
            "[phase] {what}: {:?} {} {}",
            START.get_or_init(std::time::Instant::now).elapsed(),
            grab("VmRSS"),
            grab("VmHWM")
        );
    }
}
static START: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// Returns memory freed by this thread to the system. glibc keeps a finished thread's
/// freed memory in that thread's arena, where the main thread cannot reuse it: without this,
/// the history loaded on the second thread would stay resident (about 1.5 GB for 500,000
/// history rows) while the current year is prepared. (The `obc` binary allocates through
/// mimalloc, whose other threads reuse a finished thread's memory; there this call only
/// trims glibc's own small heap. It is kept for programs that use the library with the
/// system allocator.)
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free pages of the allocator's arenas; it is safe to
    // call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
