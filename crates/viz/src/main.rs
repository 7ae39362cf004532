//! The `viz` command line. All the work is in the library (`viz::commands`); this file parses
//! arguments, runs the command, and turns any error into one line on stderr and exit status 1
//! (argument errors exit with 2).

use std::process::ExitCode;

use clap::Parser;
use viz::commands::{run, Cli};

/// Keeps freed large buffers inside the process (glibc's malloc otherwise returns every buffer
/// over 32 MiB... or over its adaptive threshold to the kernel with munmap, and the next step's
/// buffer of the same size page-faults in again). The ascent allocates the same activation and
/// gradient sizes at every step; with this, later steps reuse the memory of earlier ones.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_memory() {
    extern "C" {
        fn mallopt(param: i32, value: i32) -> i32;
    }
    const M_TRIM_THRESHOLD: i32 = -1;
    const M_MMAP_THRESHOLD: i32 = -3;
    // SAFETY: mallopt only changes allocator tuning parameters; called before any threads start.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 1 << 30);
        mallopt(M_TRIM_THRESHOLD, 1 << 30);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_memory() {}

fn main() -> ExitCode {
    keep_freed_memory();
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
