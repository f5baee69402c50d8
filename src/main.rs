//! The `obc` binary: parse, run, exit code. Everything else lives in the library.

/// mimalloc instead of the system allocator: the data layer makes and frees many small
/// values on the reader's threads, where glibc's malloc and free took about a fifth of
/// `obc prepare`'s time. Its arenas are not given transparent huge pages (the `no_thp`
/// feature): with them the kernel zeroed 2 MB pages for a fifth of `obc check`'s time
/// (benches/README.md, "The third round").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's purge delay: its number among the options of the pinned libmimalloc-sys
/// (mimalloc 3), which the Rust bindings do not name. The test below checks that it is the
/// option whose default is 1,000 ms.
const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Freed memory goes back to the system 250 ms after it is freed, not mimalloc 3's 1 s.
/// `obc prepare` on a million students frees some hundred MB while it builds the analytic
/// file; held for a second, that memory took its peak from 1.37 to 1.5 GiB. The earlier
/// return costs about 1% of its time (benches/README.md, "The fifth round").
fn tune_allocator() {
    // SAFETY: sets one of mimalloc's options to a value it documents (a delay in ms).
    unsafe { libmimalloc_sys::mi_option_set(PURGE_DELAY, 250) }
}

fn main() -> std::process::ExitCode {
    tune_allocator();
    obc::cli::main()
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_purge_delay_option_is_mimallocs_own() {
        // SAFETY: reads and sets a mimalloc option.
        let default = unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) };
        // 1,000 ms unless the environment sets it (mimalloc reads MIMALLOC_PURGE_DELAY)
        let set = std::env::var("MIMALLOC_PURGE_DELAY").ok().and_then(|v| v.parse().ok());
        assert_eq!(default, set.unwrap_or(1000), "mimalloc 3's purge delay");
        super::tune_allocator();
        assert_eq!(unsafe { libmimalloc_sys::mi_option_get(super::PURGE_DELAY) }, 250);
    }
}
