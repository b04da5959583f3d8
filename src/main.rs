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
    std::process::exit(cli::main());
}
