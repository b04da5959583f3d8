//! The `txwave` command line: argument parsing and printing over the library.

mod cli;

fn main() {
    // Die quietly when the reader of stdout goes away (`txwave inspect ... | head`), as
    // command-line tools do, instead of panicking on the failed write.
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts has no
    // preconditions.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    // glibc raises its mmap threshold (up to 32 MiB) the first time a large block is
    // freed; after that a stream's per-block buffers (megabytes each, freed on other
    // threads than the one that made them) come from the thread arenas, whose freed pages
    // stay resident, and peak memory creeps up with the log. A fixed threshold keeps
    // them mapped on their own and returned to the system when freed.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes the allocator's tuning; called before any thread starts.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
    // Keep adapter probing silent on stderr (see `gpu::quiet_window_system_probing`).
    if let Some((key, value)) = txwave::gpu::quiet_window_system_probing() {
        // SAFETY: `main` has just started and no other thread exists yet, so nothing can
        // read the environment while it changes.
        unsafe { std::env::set_var(key, value) };
    }
    std::process::exit(cli::main());
}
