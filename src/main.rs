//! The `obc` binary: parse, run, exit code. Everything else lives in the library.

/// mimalloc instead of the system allocator: the data layer makes and frees many small
/// values on the reader's threads, where glibc's malloc and free took about a fifth of
/// `obc prepare`'s time. Its arenas are not given transparent huge pages (the `no_thp`
/// feature): with them the kernel zeroed 2 MB pages for a fifth of `obc check`'s time
/// (benches/README.md, "The third round").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    obc::cli::main()
}
