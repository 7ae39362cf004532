//! The `viz` command line. All the work is in the library (`viz::commands`); this file parses
//! arguments, runs the command, and turns any error into one line on stderr and exit status 1
//! (argument errors exit with 2).

use std::process::ExitCode;

use clap::Parser;
use viz::commands::{run, Cli};

fn main() -> ExitCode {
    viz::allocator::keep_freed_memory();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let message = format!("{e:#}").replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
