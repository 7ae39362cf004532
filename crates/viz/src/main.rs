//! The `viz` command line. All the work is in the library (`viz::cli` parses and dispatches,
//! the figures and algorithms do the work); this file runs the command and turns any error into
//! one line on stderr and exit status 1 (argument errors exit with 2, from clap).

use std::process::ExitCode;

use clap::Parser;
use viz::cli::{run, Cli};

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => {
            // Warnings and notes of a run that succeeded (a failure says only its error).
            viz::notes::flush();
            ExitCode::SUCCESS
        }
        Err(e) => {
            let message = e.to_string().replace('\n', " ");
            eprintln!("error: {message}");
            ExitCode::from(1)
        }
    }
}
