//! Keras files read in pure Rust (hdf5-reader, zip) against Keras's own `predict` (fixtures by
//! tools/make_keras_fixtures.py, Keras 3 on the torch backend): the official weights-only
//! layout, a legacy whole-model `.h5` with a nested base, batch norm and a sigmoid unit, and a
//! `.keras` archive with global average pooling.

mod common;

use std::path::{Path, PathBuf};

use common::{load_err, picture};

use convert::Format;
use vgg16::{Preprocessing, Vgg16};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/keras")
        .join(name)
}

fn load(name: &str) -> Vgg16 {
    let path = fixture(name);
    let format = Format::of(&path).expect("readable");
    let converted = convert::read(&path, format, Some("scale")).expect("reads");
    convert::to_model(converted, name).expect("builds")
}

#[test]
fn keras_files_predict_what_keras_predicts() {
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("outputs.json")).unwrap()).unwrap();
    assert_eq!(Format::of(&fixture("official.h5")), Some(Format::KerasH5));
    assert_eq!(
        Format::of(&fixture("gap_softmax.keras")),
        Some(Format::KerasArchive)
    );
    for name in ["official.h5", "nested_bn_sigmoid.h5", "gap_softmax.keras"] {
        let model = load(name);
        let want = &outputs[name];
        let size = want["size"].as_u64().unwrap() as u32;
        assert_eq!(model.input_size(), size as usize, "{name}: input size");
        let input = vgg16::preprocess::to_input(&picture(size, 0), Preprocessing::Scale);
        let p = model.probabilities(&model.logits(&input).unwrap());
        let want: Vec<f64> = want["output"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        // A sigmoid unit is class 1 of two.
        let got: Vec<f32> = if model.is_binary() {
            vec![p.data()[1]]
        } else {
            p.data().to_vec()
        };
        assert_eq!(got.len(), want.len(), "{name}");
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (*g as f64 - w).abs() < 1e-5,
                "{name}: {got:?} against {want:?}"
            );
        }
    }
    // The official layout's head is the canonical ImageNet one (fc1's rows permuted).
    let official = load("official.h5");
    assert_eq!(
        vgg16::Head::of_layers(official.head()),
        vgg16::Head::imagenet()
    );
}

#[test]
fn broken_keras_files_fail_with_one_line() {
    let h5 = std::fs::read(fixture("nested_bn_sigmoid.h5")).unwrap();
    // Truncated at several places, a bad superblock, garbage: errors, never panics.
    for cut in [8, 100, 2000, h5.len() / 2, h5.len() - 100] {
        load_err(&h5[..cut], "h5");
    }
    let mut bad = h5.clone();
    bad[8] = 0x7f; // superblock version
    load_err(&bad, "h5");
    for seed in 0..20u64 {
        // Random bytes written over the file's structures.
        let mut rng = tensor::Rng::new(seed);
        let mut copy = h5.clone();
        for _ in 0..64 {
            let at = (rng.next_u64() % copy.len() as u64) as usize;
            copy[at] = rng.next_u64() as u8;
        }
        let dir = std::env::temp_dir().join(format!("convert-keras-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("fuzz-{seed}.h5"));
        std::fs::write(&path, &copy).unwrap();
        let _ = convert::read(&path, Format::KerasH5, None);
    }
    let archive = std::fs::read(fixture("gap_softmax.keras")).unwrap();
    assert!(load_err(&archive[..archive.len() / 2], "keras").contains("zip"));
    assert!(load_err(b"PK\x03\x04 not really a zip", "keras").contains("zip"));
    assert!(load_err(b"\x89HDF\r\n\x1a\n and nothing else", "h5").contains("HDF5"));
}

/// A zip with the given entries (stored, no compression).
fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    use std::io::Write;
    let mut out = std::io::Cursor::new(Vec::new());
    let mut z = zip::ZipWriter::new(&mut out);
    let opts =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, data) in entries {
        z.start_file(*name, opts).unwrap();
        z.write_all(data).unwrap();
    }
    z.finish().unwrap();
    out.into_inner()
}

#[test]
fn archives_without_their_parts_or_with_path_tricks_are_refused() {
    let err = load_err(&zip_of(&[("config.json", b"{}")]), "keras");
    assert!(err.contains("no 'model.weights.h5'"), "{err}");
    let err = load_err(
        &zip_of(&[("../config.json", b"{}"), ("/model.weights.h5", b"x")]),
        "keras",
    );
    assert!(err.contains("no 'config.json'"), "{err}");
    let err = load_err(
        &zip_of(&[("config.json", b"not json"), ("model.weights.h5", b"x")]),
        "keras",
    );
    assert!(err.contains("not JSON"), "{err}");
}

#[test]
fn an_archive_claiming_gigabytes_is_refused_before_reading() {
    // The central directory says the weights hold 3 GB (a zip bomb announces itself there, or
    // lies: then reading stops at the declared size).
    let mut bomb = zip_of(&[("config.json", b"{}"), ("model.weights.h5", &[0u8; 64])]);
    let at = bomb
        .windows(4)
        .enumerate()
        .filter(|(_, w)| *w == b"PK\x01\x02")
        .map(|(i, _)| i)
        .nth(1)
        .expect("two central directory entries");
    bomb[at + 24..at + 28].copy_from_slice(&0xC000_0000u32.to_le_bytes());
    let err = load_err(&bomb, "keras");
    assert!(err.contains("claims 3221225472 bytes"), "{err}");
}
