//! The `obc` binary: parse, run, exit code. Everything else lives in the library.

/// mimalloc instead of the system allocator: loading a district makes tens of millions of
/// small allocations, freed on other threads than made them, and glibc's allocator spent
/// a fifth of `obc prepare`'s time in them (benches/README.md, "The data layer").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    obc::cli::main()
}
