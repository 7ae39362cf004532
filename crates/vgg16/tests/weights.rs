//! Loading and saving weights: round trips, other dtypes and names, and every kind of bad file.

mod common;

use std::collections::HashMap;

use common::temp_dir;
use vgg16::names::{CONV_NAMES, TORCHVISION_CONV_INDEX};
use vgg16::{Preprocessing, Vgg16};

fn small() -> Vgg16 {
    Vgg16::random(
        7,
        &[3, 3, 4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5],
        Some((6, 6, 10)),
    )
}

#[test]
fn save_and_load_round_trip() {
    let dir = temp_dir("roundtrip");
    let path = dir.join("w.safetensors");
    let model = small();
    model.save(&path).unwrap();
    let back = Vgg16::load(&path).unwrap();
    assert!(back.has_classifier());
    assert_eq!(back.preprocessing, Preprocessing::Caffe);
    for ((n1, t1), (n2, t2)) in model
        .named_tensors()
        .iter()
        .zip(back.named_tensors().iter())
    {
        assert_eq!(n1, n2);
        assert_eq!(t1.data(), t2.data(), "{n1}");
    }
    // Deterministic bytes: saving again gives the same file.
    let again = dir.join("w2.safetensors");
    back.save(&again).unwrap();
    assert_eq!(
        std::fs::read(&path).unwrap(),
        std::fs::read(&again).unwrap()
    );
}

/// Writes tensors with the safetensors crate in any dtype.
fn write_raw(
    path: &std::path::Path,
    tensors: &[(String, safetensors::Dtype, Vec<usize>, Vec<u8>)],
    meta: Option<HashMap<String, String>>,
) {
    let views: Vec<(String, safetensors::tensor::TensorView)> = tensors
        .iter()
        .map(|(n, d, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(*d, s.clone(), b).unwrap(),
            )
        })
        .collect();
    let bytes = safetensors::tensor::serialize(views, meta).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn as_raw(
    model: &Vgg16,
    dtype: safetensors::Dtype,
    rename: impl Fn(&str) -> String,
) -> Vec<(String, safetensors::Dtype, Vec<usize>, Vec<u8>)> {
    model
        .named_tensors()
        .into_iter()
        .map(|(n, t)| {
            let bytes: Vec<u8> = match dtype {
                safetensors::Dtype::F16 => t
                    .data()
                    .iter()
                    .flat_map(|v| half::f16::from_f32(*v).to_le_bytes())
                    .collect(),
                safetensors::Dtype::BF16 => t
                    .data()
                    .iter()
                    .flat_map(|v| half::bf16::from_f32(*v).to_le_bytes())
                    .collect(),
                _ => t.data().iter().flat_map(|v| v.to_le_bytes()).collect(),
            };
            (rename(&n), dtype, t.shape().to_vec(), bytes)
        })
        .collect()
}

#[test]
fn f16_and_bf16_files_are_converted() {
    let dir = temp_dir("halves");
    let model = small();
    for (dtype, tol) in [
        (safetensors::Dtype::F16, 1e-3),
        (safetensors::Dtype::BF16, 1e-2),
    ] {
        let path = dir.join(format!("{dtype:?}.safetensors"));
        write_raw(&path, &as_raw(&model, dtype, str::to_string), None);
        let back = Vgg16::load(&path).unwrap();
        for ((name, a), (_, b)) in model
            .named_tensors()
            .iter()
            .zip(back.named_tensors().iter())
        {
            let err = a.max_abs_diff(b);
            assert!(err <= tol, "{dtype:?} {name}: {err}");
        }
    }
}

#[test]
fn torchvision_names_are_accepted() {
    let dir = temp_dir("torchvision");
    let path = dir.join("tv.safetensors");
    let model = small();
    let rename = |n: &str| {
        let (layer, kind) = n.split_once('.').unwrap();
        if let Some(i) = CONV_NAMES.iter().position(|c| *c == layer) {
            format!("features.{}.{kind}", TORCHVISION_CONV_INDEX[i])
        } else {
            let idx = match layer {
                "fc1" => 0,
                "fc2" => 3,
                _ => 6,
            };
            format!("classifier.{idx}.{kind}")
        }
    };
    write_raw(
        &path,
        &as_raw(&model, safetensors::Dtype::F32, rename),
        None,
    );
    let back = Vgg16::load(&path).unwrap();
    assert!(back.has_classifier());
    // torchvision names without metadata mean torchvision weights: "torch" preprocessing.
    assert_eq!(back.preprocessing, Preprocessing::Torch);
    assert_eq!(
        back.named_tensors()[0].1.data(),
        model.named_tensors()[0].1.data()
    );
}

fn load_err(bytes: &[u8], name: &str) -> String {
    let dir = temp_dir(name);
    let path = dir.join("bad.safetensors");
    std::fs::write(&path, bytes).unwrap();
    match Vgg16::load(&path) {
        Ok(_) => panic!("{name}: loaded a bad file"),
        Err(e) => e.to_string(),
    }
}

fn good_bytes() -> Vec<u8> {
    let dir = temp_dir("good");
    let path = dir.join("w.safetensors");
    small().save(&path).unwrap();
    std::fs::read(path).unwrap()
}

#[test]
fn bad_files_give_clear_errors() {
    let missing = Vgg16::load(std::path::Path::new("/nonexistent/w.safetensors"))
        .err()
        .unwrap()
        .to_string();
    assert!(
        missing.contains("cannot open") && missing.contains("fetch-weights"),
        "{missing}"
    );

    let e = load_err(b"", "empty");
    assert!(e.contains("too small"), "{e}");
    let good = good_bytes();
    let e = load_err(&good[..good.len() / 2], "truncated");
    assert!(e.contains("truncated") || e.contains("shorter"), "{e}");
    let mut absurd = good.clone();
    absurd[..8].copy_from_slice(&(u64::MAX / 2).to_le_bytes());
    let e = load_err(&absurd, "absurd");
    assert!(e.contains("header length"), "{e}");
    let mut not_json = 16u64.to_le_bytes().to_vec();
    not_json.extend_from_slice(b"this is not json");
    let e = load_err(&not_json, "notjson");
    assert!(e.contains("JSON"), "{e}");
}

#[test]
fn bad_tensors_are_named() {
    let dir = temp_dir("tensors");
    let model = small();
    let raw = as_raw(&model, safetensors::Dtype::F32, str::to_string);

    // A missing tensor.
    let path = dir.join("missing.safetensors");
    let fewer: Vec<_> = raw
        .iter()
        .filter(|t| t.0 != "block2_conv1.bias")
        .cloned()
        .collect();
    write_raw(&path, &fewer, None);
    let e = Vgg16::load(&path).err().unwrap().to_string();
    assert!(e.contains("missing tensor 'block2_conv1.bias'"), "{e}");

    // A wrong shape.
    let path = dir.join("shape.safetensors");
    let mut wrong = raw.clone();
    let i = wrong
        .iter()
        .position(|t| t.0 == "block3_conv1.weight")
        .unwrap();
    wrong[i].2 = vec![4, 5, 3, 3];
    wrong[i].3 = vec![0; 4 * 5 * 9 * 4];
    write_raw(&path, &wrong, None);
    let e = Vgg16::load(&path).err().unwrap().to_string();
    assert!(
        e.contains("'block3_conv1.weight' has shape [4, 5, 3, 3], expected [_, 4, 3, 3]"),
        "{e}"
    );

    // A wrong dtype.
    let path = dir.join("dtype.safetensors");
    let mut wrong = raw.clone();
    wrong[0].1 = safetensors::Dtype::I32;
    write_raw(&path, &wrong, None);
    let e = Vgg16::load(&path).err().unwrap().to_string();
    assert!(e.contains("dtype I32") && e.contains(&wrong[0].0), "{e}");

    // NaN and infinity.
    for (label, bad) in [("nan", f32::NAN), ("inf", f32::INFINITY)] {
        let path = dir.join(format!("{label}.safetensors"));
        let mut wrong = raw.clone();
        let i = wrong.iter().position(|t| t.0 == "fc2.weight").unwrap();
        wrong[i].3[8..12].copy_from_slice(&bad.to_le_bytes());
        write_raw(&path, &wrong, None);
        let e = Vgg16::load(&path).err().unwrap().to_string();
        assert!(
            e.contains("'fc2.weight'") && e.contains("index 2"),
            "{label}: {e}"
        );
    }

    // Half a classifier.
    let path = dir.join("half.safetensors");
    let half: Vec<_> = raw
        .iter()
        .filter(|t| !t.0.starts_with("fc2"))
        .cloned()
        .collect();
    write_raw(&path, &half, None);
    let e = Vgg16::load(&path).err().unwrap().to_string();
    assert!(e.contains("missing tensor 'fc2.weight'"), "{e}");

    // Unknown preprocessing.
    let path = dir.join("prep.safetensors");
    let mut meta = HashMap::new();
    meta.insert("preprocessing".to_string(), "tensorflow".to_string());
    write_raw(&path, &raw, Some(meta));
    let e = Vgg16::load(&path).err().unwrap().to_string();
    assert!(e.contains("'tensorflow'"), "{e}");
}

#[test]
fn conv_only_files_load_without_classifier() {
    let dir = temp_dir("notop");
    let path = dir.join("notop.safetensors");
    let model = Vgg16::random(9, &[2; 13], None);
    model.save(&path).unwrap();
    let back = Vgg16::load(&path).unwrap();
    assert!(!back.has_classifier());
    assert_eq!(back.layers().len(), 18);
}
