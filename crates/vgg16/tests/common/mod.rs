//! Shared helpers for the vgg16 tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::PathBuf;

use tensor::Tensor;
use vgg16::weights::WeightFile;

pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

pub fn fixture(name: &str) -> HashMap<String, Tensor> {
    WeightFile::load(&repo().join("tests/fixtures").join(name))
        .expect("fixture")
        .tensors
}

/// |a - b| <= tol * max(1, max |b|).
pub fn assert_close(what: &str, got: &Tensor, want: &Tensor, tol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    let scale = want.data().iter().fold(1.0f32, |m, v| m.max(v.abs()));
    let err = got.max_abs_diff(want);
    assert!(
        err <= tol * scale,
        "{what}: max difference {err} (scale {scale})"
    );
}

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vgg16-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
