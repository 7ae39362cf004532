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

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("viz-test-{name}-{}", std::process::id()));
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
