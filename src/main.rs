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
    // Keep adapter probing silent on stderr (see `gpu::quiet_window_system_probing`).
    if let Some((key, value)) = txwave::gpu::quiet_window_system_probing() {
        // SAFETY: `main` has just started and no other thread exists yet, so nothing can
        // read the environment while it changes.
        unsafe { std::env::set_var(key, value) };
    }
    std::process::exit(cli::main());
}
