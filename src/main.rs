//! The `txwave` command line: argument parsing and printing over the library.

mod cli;

fn main() {
    std::process::exit(cli::main());
}
