//! Helpers shared by the converter tests.
#![allow(dead_code)]

use convert::Format;

/// Test picture `k` of tools/make_onnx_fixtures.py and tools/make_keras_fixtures.py: RGB,
/// `size` x `size`, from a formula the scripts repeat.
pub fn picture(size: u32, k: u32) -> image::RgbImage {
    image::RgbImage::from_fn(size, size, |x, y| {
        image::Rgb(
            [0, 1, 2].map(|c| ((x * (3 + c + k) + y * (5 - c) * (k + 1) + 40 * c) % 256) as u8),
        )
    })
}

/// Writes `bytes` as a file ending in `.ext`, reads it as a model (format detected, then
/// built), and returns the error, which must be one line.
#[allow(clippy::err_expect)]
pub fn load_err(bytes: &[u8], ext: &str) -> String {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("convert-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("bad-{n}.{ext}"));
    std::fs::write(&path, bytes).unwrap();
    let format = Format::of(&path).unwrap();
    let err = convert::read(&path, format, None)
        .and_then(|c| convert::to_model(c, "bad"))
        .err()
        .expect("must fail")
        .to_string();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}
