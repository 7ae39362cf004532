//! Helpers shared by the tests that run the `viz` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn tiny() -> PathBuf {
    repo().join("tests/fixtures/tiny_vgg16.safetensors")
}

/// A fresh temporary folder for one test, never shared with another test of the same run (a
/// counter makes it unique even when two tests pass the same name).
pub fn temp_dir(name: &str) -> PathBuf {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("viz-test-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

pub fn viz(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_viz"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run viz")
}

pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "viz failed: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

pub fn json(out: &Output) -> serde_json::Value {
    let text = ok(out);
    serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("not one JSON object ({e}): {text}"))
}

/// A 300x200 test photo: colour gradients.
pub fn photo(dir: &Path) -> PathBuf {
    let p = dir.join("photo.png");
    image::RgbImage::from_fn(300, 200, |x, y| {
        image::Rgb([x as u8, y as u8, (x + y) as u8])
    })
    .save(&p)
    .unwrap();
    p
}

/// Width and height of a PNG file.
pub fn png_size(p: &Path) -> (u32, u32) {
    image::image_dimensions(p).unwrap()
}

/// What an output file held before a failing command: it must survive.
pub const PRECIOUS: &[u8] = b"an existing file that must survive";

/// Checks the failure contract; returns the message.
pub fn fails(out: &Output, code: i32, expect: &[&str]) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        out.status.code(),
        Some(code),
        "exit status; stderr: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
    if code == 1 {
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "not one line: {stderr}"
        );
        assert!(stderr.starts_with("error: "), "{stderr}");
    }
    for e in expect {
        assert!(stderr.contains(e), "expected '{e}' in: {stderr}");
    }
    stderr
}

/// An output file with known content, to check it is left alone.
pub fn precious(dir: &Path) -> PathBuf {
    let p = dir.join("out.png");
    std::fs::write(&p, PRECIOUS).unwrap();
    p
}

pub fn untouched(dir: &Path) {
    assert_eq!(
        std::fs::read(dir.join("out.png")).unwrap(),
        PRECIOUS,
        "existing output was damaged"
    );
    let leftovers: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}
