//! `vgg16::resample` against Pillow's `Image.resize` (tests/fixtures/pil_resize.json, made by
//! tools/make_resize_fixture.py): NEAREST, BILINEAR and BICUBIC, byte for byte, on awkward
//! sizes (1 px, primes, 1024 x 660, upscaling).

use image::RgbImage;
use vgg16::resample::{nearest, resample, Filter};

fn source(w: u32, h: u32) -> RgbImage {
    RgbImage::from_fn(w, h, |x, y| {
        image::Rgb(std::array::from_fn(|c| {
            let c = c as u32;
            ((7 * x + 13 * y + 101 * c + 9 * ((x * y) % 17) + ((x ^ y) & 31)) % 256) as u8
        }))
    })
}

fn fnv1a(data: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        h ^= b as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
    }
    format!("{h:016x}")
}

#[test]
fn resizing_equals_pillow_byte_for_byte() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/pil_resize.json"
    );
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in fixture["cases"].as_array().unwrap() {
        let dim = |k: &str, i: usize| case[k][i].as_u64().unwrap() as u32;
        let (sw, sh, dw, dh) = (dim("src", 0), dim("src", 1), dim("dst", 0), dim("dst", 1));
        let img = source(sw, sh);
        let mode = case["mode"].as_str().unwrap();
        let out = match mode {
            "nearest" => nearest(&img, dw, dh),
            "bilinear" => resample(&img, dw, dh, Filter::Bilinear),
            _ => resample(&img, dw, dh, Filter::Bicubic),
        };
        if fnv1a(out.as_raw()) != case["fnv1a64"].as_str().unwrap() {
            let first: Vec<u8> = case["first"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_u64().unwrap() as u8)
                .collect();
            let at = first.iter().zip(out.as_raw()).position(|(a, b)| a != b);
            failures.push(format!(
                "{mode} {sw}x{sh} -> {dw}x{dh}: differs (first bytes differ at {at:?})"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
