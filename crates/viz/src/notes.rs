//! Warnings and notes that belong to a successful run: they are collected while a command
//! works and printed on stderr when it succeeds, so that a failing command still says exactly
//! one line (its error).

use std::sync::Mutex;

static PENDING: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Keeps `line` (e.g. "warning: ...") for [`flush`].
pub fn later(line: String) {
    if let Ok(mut p) = PENDING.lock() {
        p.push(line);
    }
}

/// Prints the kept lines on stderr, in order, and forgets them.
pub fn flush() {
    if let Ok(mut p) = PENDING.lock() {
        for line in p.drain(..) {
            eprintln!("{line}");
        }
    }
}
