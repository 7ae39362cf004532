//! Any bytes as an image: decoding and preprocessing must return Ok or a clear error, never
//! panic, and never allocate without bound (decompression bombs are refused by the limits).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vgg16::{Preprocessing, Resize};

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("fuzz-image-{}", std::process::id()));
    std::fs::write(&path, data).unwrap();
    let _ = vgg16::preprocess::load_input(&path, 32, Resize::Bilinear, Preprocessing::Caffe);
});
