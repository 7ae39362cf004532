//! Shared helpers for the vgg16 tests.
#![allow(dead_code, unused_imports)]

use std::collections::HashMap;
use std::path::PathBuf;

pub use tensor::testing::assert_close;
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

/// A fresh temporary folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("vgg16-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
