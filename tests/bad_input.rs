//! Crate: `viz` (its binary; registered in crates/viz/Cargo.toml).
//!
//! Bad input, run through the real binary: every case must fail with one line on stderr that says
//! what is wrong, exit status 1 (2 for usage errors), no panic, no partial output file, and an
//! existing output file left untouched.

mod common;

use std::path::Path;
use std::process::Output;

use common::{fails, ok, photo, precious, repo, temp_dir, tiny, untouched, viz};

fn gradcam(dir: &Path, image: &str, weights: &str) -> Output {
    viz(
        dir,
        &["gradcam", image, "--weights", weights, "--out", "out.png"],
    )
}

#[test]
fn bad_images() {
    let dir = temp_dir("bad-images");
    precious(&dir);
    let w = tiny();
    let w = w.to_str().unwrap();

    fails(
        &gradcam(&dir, "missing.jpg", w),
        1,
        &["missing.jpg", "cannot read image"],
    );
    std::fs::write(dir.join("empty.jpg"), b"").unwrap();
    fails(&gradcam(&dir, "empty.jpg", w), 1, &["empty"]);
    std::fs::write(dir.join("text.png"), b"hello, I am not a picture at all").unwrap();
    fails(&gradcam(&dir, "text.png", w), 1, &["text.png"]);

    // Truncated: the first half of a real PNG.
    let good = photo(&dir);
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(dir.join("truncated.png"), &bytes[..bytes.len() / 2]).unwrap();
    fails(
        &gradcam(&dir, "truncated.png", w),
        1,
        &["truncated.png", "decode"],
    );
    // Corrupt: a valid header followed by noise.
    let mut corrupt = bytes[..64].to_vec();
    corrupt.extend((0..4000u32).map(|i| (i.wrapping_mul(2654435761) >> 24) as u8));
    std::fs::write(dir.join("corrupt.png"), &corrupt).unwrap();
    fails(&gradcam(&dir, "corrupt.png", w), 1, &["corrupt.png"]);
    // A decompression bomb: a PNG header claiming 100000 x 100000 pixels.
    std::fs::write(dir.join("bomb.png"), png_header(100_000, 100_000)).unwrap();
    fails(&gradcam(&dir, "bomb.png", w), 1, &["bomb.png", "too large"]);
    // A folder.
    fails(&gradcam(&dir, ".", w), 1, &["directory"]);
    untouched(&dir);
}

/// The PNG signature and an IHDR chunk (with a correct CRC) for an 8-bit RGB image.
fn png_header(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = b"IHDR".to_vec();
    ihdr.extend(width.to_be_bytes());
    ihdr.extend(height.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend(13u32.to_be_bytes());
    out.extend(&ihdr);
    out.extend(crc32(&ihdr).to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

#[test]
fn unusual_images_are_converted() {
    let dir = temp_dir("odd-images");
    let w = tiny();
    let w = w.to_str().unwrap();
    image::GrayImage::from_fn(40, 30, |x, _| image::Luma([x as u8 * 6]))
        .save(dir.join("grey.png"))
        .unwrap();
    image::RgbaImage::from_fn(40, 30, |x, y| image::Rgba([x as u8, y as u8, 9, 100]))
        .save(dir.join("rgba.png"))
        .unwrap();
    image::ImageBuffer::<image::Rgb<u16>, Vec<u16>>::from_fn(40, 30, |x, y| {
        image::Rgb([x as u16 * 1000, y as u16 * 2000, 7])
    })
    .save(dir.join("deep.png"))
    .unwrap();
    image::RgbImage::from_pixel(1, 1, image::Rgb([200, 10, 10]))
        .save(dir.join("tiny.png"))
        .unwrap();
    std::fs::copy(repo().join("tests/fixtures/cmyk.jpg"), dir.join("cmyk.jpg")).unwrap();
    for name in ["grey.png", "rgba.png", "deep.png", "tiny.png", "cmyk.jpg"] {
        let out = viz(&dir, &["predict", name, "--weights", w, "--json"]);
        ok(&out);
    }
    // The overlay keeps the original size, even for a 1x1 image.
    ok(&viz(
        &dir,
        &[
            "gradcam",
            "tiny.png",
            "--weights",
            w,
            "--out",
            "tiny_cam.png",
        ],
    ));
    assert_eq!(
        image::image_dimensions(dir.join("tiny_cam.png")).unwrap(),
        (1, 1)
    );
}

/// A weights file made by cutting, patching or rewriting the tiny model.
fn bad_weights(dir: &Path, name: &str, bytes: &[u8]) -> String {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p.to_string_lossy().into_owned()
}

#[test]
fn bad_weights_files() {
    let dir = temp_dir("bad-weights");
    precious(&dir);
    let img = photo(&dir);
    let img = img.to_str().unwrap();
    let good = std::fs::read(tiny()).unwrap();

    fails(
        &gradcam(&dir, img, "nope.safetensors"),
        1,
        &["nope.safetensors", "cannot open", "fetch-weights"],
    );
    let p = bad_weights(&dir, "truncated.safetensors", &good[..good.len() - 1000]);
    fails(&gradcam(&dir, img, &p), 1, &["truncated"]);
    let mut absurd = good.clone();
    absurd[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    let p = bad_weights(&dir, "absurd.safetensors", &absurd);
    fails(&gradcam(&dir, img, &p), 1, &["header length"]);
    let mut not_json = 12u64.to_le_bytes().to_vec();
    not_json.extend(b"{not json!!}");
    let p = bad_weights(&dir, "notjson.safetensors", &not_json);
    fails(&gradcam(&dir, img, &p), 1, &["JSON"]);

    // Rewrites of the real header: a missing tensor, a wrong shape, a wrong dtype, a NaN.
    let header_len = u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    let header = std::str::from_utf8(&good[8..8 + header_len]).unwrap();
    let rewrite = |from: &str, to: &str| {
        assert!(header.contains(from), "{from}");
        let h = header.replacen(from, to, 1);
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend(h.as_bytes());
        out.extend(&good[8 + header_len..]);
        out
    };
    let p = bad_weights(
        &dir,
        "renamed.safetensors",
        &rewrite("\"block2_conv2.bias\"", "\"block2_conv2.biaz\""),
    );
    fails(
        &gradcam(&dir, img, &p),
        1,
        &["missing tensor 'block2_conv2.bias'"],
    );
    let p = bad_weights(
        &dir,
        "shape.safetensors",
        &rewrite("\"shape\":[8,8,3,3]", "\"shape\":[8,2,6,6]"),
    );
    fails(&gradcam(&dir, img, &p), 1, &["shape [8, 2, 6, 6]"]);
    let p = bad_weights(
        &dir,
        "dtype.safetensors",
        &rewrite("\"dtype\":\"F32\"", "\"dtype\":\"I32\""),
    );
    fails(&gradcam(&dir, img, &p), 1, &["dtype I32"]);
    let mut nan = good.clone();
    let at = nan.len() - 4;
    nan[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    let p = bad_weights(&dir, "nan.safetensors", &nan);
    fails(&gradcam(&dir, img, &p), 1, &["NaN"]);
    let mut inf = good.clone();
    inf[at..].copy_from_slice(&f32::INFINITY.to_le_bytes());
    let p = bad_weights(&dir, "inf.safetensors", &inf);
    fails(&gradcam(&dir, img, &p), 1, &["inf"]);

    // Conv-only weights where the classifier is needed.
    let notop = dir.join("notop.safetensors");
    ok(&viz(
        &dir,
        &[
            "convert",
            "torchvision",
            tiny().to_str().unwrap(),
            "--out",
            "full.safetensors",
        ],
    ));
    let model = vgg16::Vgg16::load(&dir.join("full.safetensors")).unwrap();
    let convs: Vec<_> = model
        .named_tensors()
        .into_iter()
        .filter(|(n, _)| n.starts_with("block"))
        .collect();
    tensor::io::save(&notop, &convs, &Default::default()).unwrap();
    let n = notop.to_str().unwrap();
    fails(
        &gradcam(&dir, img, n),
        1,
        &["conv-only", "weights/README.md"],
    );
    fails(
        &viz(&dir, &["predict", img, "--weights", n]),
        1,
        &["conv-only"],
    );
    untouched(&dir);
}

#[test]
fn bad_arguments() {
    let dir = temp_dir("bad-args");
    precious(&dir);
    let img = photo(&dir);
    let img = img.to_str().unwrap();
    let w = tiny();
    let w = w.to_str().unwrap();
    let filters = |extra: &[&str]| {
        let mut args = vec![
            "filters",
            "--weights",
            w,
            "--out",
            "out.png",
            "--steps",
            "2",
        ];
        args.extend_from_slice(extra);
        viz(&dir, &args)
    };

    fails(
        &filters(&["--layer", "block3_conv4"]),
        1,
        &[
            "unknown layer 'block3_conv4'",
            "did you mean 'block3_conv3'",
        ],
    );
    fails(
        &filters(&["--layer", "block1_conv1", "--filter", "4"]),
        1,
        &["filter 4 does not exist", "0..3"],
    );
    fails(
        &filters(&["--layer", "block5_conv1", "--size", "8"]),
        1,
        &["input too small"],
    );
    fails(
        &filters(&["--layer", "block1_conv1", "--filters", "5..2"]),
        1,
        &["empty"],
    );
    fails(
        &filters(&["--layer", "block1_conv1", "--filters", "x..2"]),
        1,
        &["not a filter index"],
    );
    fails(&filters(&["--layer", "fc1"]), 1, &["not 'fc1'"]);
    fails(
        &filters(&["--layer", "block1_conv1", "--step=-1"]),
        1,
        &["--step"],
    );
    fails(
        &filters(&["--layer", "block1_conv1", "--steps", "0"]),
        2,
        &["steps"],
    );
    fails(
        &filters(&["--layer", "block1_conv1", "--size", "0"]),
        2,
        &["size"],
    );
    fails(
        &filters(&["--layer", "block1_conv1", "--size", "99999"]),
        2,
        &["size"],
    );
    fails(
        &viz(
            &dir,
            &[
                "gradcam",
                img,
                "--weights",
                w,
                "--class",
                "1000",
                "--out",
                "out.png",
            ],
        ),
        1,
        &["class 1000 is outside 0..999"],
    );
    fails(
        &viz(&dir, &["predict", img, "--weights", w, "--top", "0"]),
        2,
        &["top"],
    );
    fails(
        &viz(&dir, &["predict", img, "--weights", w, "--top", "5000"]),
        2,
        &["top"],
    );
    fails(
        &viz(
            &dir,
            &[
                "gradcam",
                img,
                "--weights",
                w,
                "--layer",
                "fc2",
                "--out",
                "out.png",
            ],
        ),
        1,
        &["convolution or pool"],
    );
    fails(&viz(&dir, &["bogus"]), 2, &[]);

    // Outputs: missing folder, an input as output, a read-only folder, a folder as output.
    fails(
        &viz(
            &dir,
            &[
                "gradcam",
                img,
                "--weights",
                w,
                "--out",
                "no/such/dir/cam.png",
            ],
        ),
        1,
        &["does not exist"],
    );
    fails(
        &viz(&dir, &["gradcam", img, "--weights", w, "--out", img]),
        1,
        &["also an input"],
    );
    fails(
        &viz(&dir, &["convert", "torchvision", w, "--out", w]),
        1,
        &["also an input"],
    );
    fails(
        &viz(&dir, &["gradcam", img, "--weights", w, "--out", "."]),
        1,
        &["directory"],
    );
    let locked = dir.join("locked");
    std::fs::create_dir_all(&locked).unwrap();
    let mut perms = std::fs::metadata(&locked).unwrap().permissions();
    perms.set_readonly(true);
    std::fs::set_permissions(&locked, perms).unwrap();
    fails(
        &viz(
            &dir,
            &["gradcam", img, "--weights", w, "--out", "locked/cam.png"],
        ),
        1,
        &["not writable"],
    );
    untouched(&dir);
}

#[test]
fn nan_during_ascent_names_the_step() {
    let dir = temp_dir("nan-step");
    precious(&dir);
    // Start images so large that the first layer overflows to infinity.
    let image = tensor::Tensor::full(&[1, 3, 32, 32], 3.0e38);
    tensor::io::save(
        &dir.join("init.safetensors"),
        &[("image".to_string(), image)],
        &Default::default(),
    )
    .unwrap();
    let w = tiny();
    let out = viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block1_conv1",
            "--filter",
            "0",
            "--weights",
            w.to_str().unwrap(),
            "--init",
            "init.safetensors",
            "--out",
            "out.png",
            "--steps",
            "3",
        ],
    );
    fails(&out, 1, &["step 1 of 3"]);
    untouched(&dir);
}

#[test]
fn interrupted_grid_leaves_the_old_output() {
    let dir = temp_dir("ctrl-c");
    precious(&dir);
    let w = tiny();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_viz"))
        .args([
            "filters",
            "--layer",
            "block4_conv1",
            "--filters",
            "0..16",
            "--steps",
            "100000",
            "--weights",
        ])
        .arg(&w)
        .args(["--out", "out.png", "--quiet"])
        .current_dir(&dir)
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(700));
    let status = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // A shell that starts jobs in the background without job control makes them ignore
    // SIGINT; then the interruption comes as SIGTERM (what matters is the old output).
    let started = std::time::Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().unwrap() {
            break exit;
        }
        if started.elapsed() > std::time::Duration::from_secs(5) {
            std::process::Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status()
                .unwrap();
            break child.wait().unwrap();
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    assert!(!exit.success());
    untouched(&dir);
}
