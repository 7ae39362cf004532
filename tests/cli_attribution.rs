//! The attribution commands as a user runs them: `attribute`, `compare`, `evaluate`,
//! `sanity` and `--trace`, their files, JSON and dumps, and their bad input (one-line errors,
//! nothing damaged).

mod common;

use common::{fails, json, ok, photo, png_size, precious, repo, temp_dir, tiny, untouched, viz};

#[test]
fn attribute_files_json_and_dump_contract() {
    let dir = temp_dir("attribute");
    let img = photo(&dir);
    let w = tiny();
    let run = |method: &str, extra: &[&str]| {
        let mut args = vec![
            "attribute",
            img.to_str().unwrap(),
            "--weights",
            w.to_str().unwrap(),
            "--method",
            method,
            "--class",
            "African_elephant",
            "--dump",
            "dump.safetensors",
            "--heatmap",
            "alone.png",
            "--json",
        ];
        args.extend_from_slice(extra);
        let v = json(&viz(&dir, &args));
        assert_eq!(v["method"], method);
        assert_eq!(v["class"], 386, "a label is taken as --class");
        let dump = tensor::io::load(&dir.join("dump.safetensors")).unwrap();
        assert_eq!(dump.tensors["logits"].shape(), &[1, 1000]);
        (v, dump.tensors)
    };

    // A CAM method: the map at the layer's resolution, weights per channel, the overlay at the
    // photo's size, the default name.
    let (v, t) = run("gradcam++", &[]);
    assert_eq!(v["layer"], "block5_conv3");
    assert_eq!(t["map"].shape(), &[1, 14, 14]);
    assert_eq!(t["weights"].shape(), &[1, 16]);
    assert_eq!(t["scaled"].shape(), &[1, 224, 224]);
    assert!(t["map"].data().iter().all(|&x| x >= 0.0 && x.is_finite()));
    assert_eq!(png_size(&dir.join("photo_gradcampp.png")), (300, 200));
    assert_eq!(png_size(&dir.join("alone.png")), (300, 200));

    // An input-space method: signed [N, 3, H, W], pictures at the input size.
    let (v, t) = run("integrated-gradients", &["--steps", "4", "--out", "ig.png"]);
    assert!(v["layer"].is_null());
    assert_eq!(t["map"].shape(), &[1, 3, 224, 224]);
    assert!(!t.contains_key("weights"));
    let map = t["map"].data();
    assert!(
        map.iter().any(|&x| x > 0.0) && map.iter().any(|&x| x < 0.0),
        "signed"
    );
    assert_eq!(png_size(&dir.join("ig.png")), (224, 224));

    // Same seed, same SmoothGrad; another seed, another one.
    let smooth =
        |seed: &str| run("smoothgrad", &["--samples", "2", "--seed", seed]).1["map"].clone();
    let (a, b, c) = (smooth("1"), smooth("1"), smooth("2"));
    assert_eq!(a.data(), b.data());
    assert_ne!(a.data(), c.data());
}

#[test]
fn compare_draws_every_method() {
    let dir = temp_dir("compare");
    let w = tiny();
    let v = json(&viz(
        &dir,
        &[
            "compare",
            "sample:coffee",
            "--weights",
            w.to_str().unwrap(),
            "--steps",
            "4",
            "--samples",
            "2",
            "--window",
            "56",
            "--stride",
            "56",
            "--json",
        ],
    ));
    let methods = v["methods"].as_array().unwrap();
    assert_eq!(methods.len(), 20);
    assert!(methods.iter().all(|m| m["ms"].as_f64().unwrap() >= 0.0));
    assert_eq!(methods[0]["method"], "gradcam");
    assert_eq!(methods[19]["method"], "occlusion");
    // 21 tiles (the photo and 20 methods), 6 per row: 4 rows of 224 px tiles with labels.
    let (width, height) = png_size(&dir.join("coffee_compare.png"));
    assert_eq!(width, 6 * 224 + 5 * 4);
    assert!(height > 4 * 224, "{height}");
}

#[test]
fn evaluate_curves_json_dump_and_plot() {
    let dir = temp_dir("evaluate");
    let w = tiny();
    let v = json(&viz(
        &dir,
        &[
            "evaluate",
            "sample:chelsea",
            "--weights",
            w.to_str().unwrap(),
            "--method",
            "gradcam++",
            "--step",
            "448",
            "--dump",
            "eval.safetensors",
            "--json",
        ],
    ));
    assert_eq!(v["method"], "gradcam++");
    assert_eq!(v["points"], 113, "224 * 224 / 448 + 1");
    let (del, ins) = (
        v["deletion_auc"][0].as_f64().unwrap(),
        v["insertion_auc"][0].as_f64().unwrap(),
    );
    assert!((0.0..=1.0).contains(&del) && (0.0..=1.0).contains(&ins));
    assert_eq!(
        v["road"][0]["most_relevant_first"]
            .as_array()
            .unwrap()
            .len(),
        9
    );
    assert!(v["average_drop_percent"][0].is_number());
    let dump = tensor::io::load(&dir.join("eval.safetensors")).unwrap();
    assert_eq!(dump.tensors["saliency"].shape(), &[1, 224, 224]);
    assert_eq!(dump.tensors["deletion"].shape(), &[1, 113]);
    assert_eq!(dump.tensors["insertion"].shape(), &[1, 113]);
    // Both curves end where the other starts: nothing deleted = everything inserted.
    let (d, i) = (
        dump.tensors["deletion"].data(),
        dump.tensors["insertion"].data(),
    );
    assert!((d[0] - i[112]).abs() < 1e-5, "{} vs {}", d[0], i[112]);
    let svg = std::fs::read_to_string(dir.join("chelsea_gradcampp_curves.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("<polyline") && svg.contains("insertion, AUC"));
}

#[test]
fn sanity_table_json_and_figure() {
    let dir = temp_dir("sanity");
    let w = tiny();
    let run = |method: &str| {
        json(&viz(
            &dir,
            &[
                "sanity",
                "sample:chelsea",
                "--weights",
                w.to_str().unwrap(),
                "--method",
                method,
                "--json",
            ],
        ))
    };
    let v = run("gradcam");
    let stages = v["stages"].as_array().unwrap();
    assert_eq!(stages.len(), 17, "the original and 16 layers with weights");
    assert_eq!(stages[0]["spearman"], 1.0);
    assert_eq!(stages[1]["randomized_down_to"], "predictions");
    assert_eq!(stages[16]["randomized_down_to"], "block1_conv1");
    assert_eq!(v["criterion_layer"], "block5_conv1");
    assert_eq!(v["passes"], true, "Grad-CAM depends on the top layers");
    // Guided backpropagation's map barely changes (Adebayo et al.'s finding).
    let v = run("guided-backprop");
    assert_eq!(v["passes"], false, "{v}");
    // Reproducible: the same seed gives the same numbers.
    assert_eq!(run("guided-backprop")["stages"], v["stages"]);
    assert!(png_size(&dir.join("chelsea_guided-backprop_sanity.png")).0 > 224 * 9);
}

#[test]
fn trace_shows_the_tape() {
    let dir = temp_dir("trace");
    let w = tiny();
    ok(&viz(
        &dir,
        &[
            "gradcam",
            "sample:chelsea",
            "--weights",
            w.to_str().unwrap(),
            "--dump",
            "cam.safetensors",
            "--trace",
            "trace.json",
        ],
    ));
    let trace: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("trace.json")).unwrap()).unwrap();
    let nodes = trace["nodes"].as_array().unwrap();
    for key in [
        "id",
        "op",
        "name",
        "inputs",
        "shape",
        "bytes",
        "forward_ms",
        "backward_ms",
        "value_norm",
        "grad_norm",
    ] {
        assert!(nodes[0].get(key).is_some(), "{key}");
    }
    // The target layer's gradient norm is the norm of the dumped gradients.
    let target = nodes.iter().find(|n| n["name"] == "block5_conv3").unwrap();
    let dump = tensor::io::load(&dir.join("cam.safetensors")).unwrap();
    let norm = tensor::trace::norm(&dump.tensors["gradients"]);
    let traced = target["grad_norm"].as_f64().unwrap();
    assert!((traced - norm).abs() <= 1e-6 * norm, "{traced} vs {norm}");
    // Weights get no gradient; the score is the last node, with gradient 1.
    let weight = nodes
        .iter()
        .find(|n| n["name"] == "fc1" && n["op"] == "leaf")
        .unwrap();
    assert!(weight["grad_norm"].is_null());
    let last = nodes.last().unwrap();
    assert_eq!(
        (last["op"].as_str(), last["name"].as_str()),
        (Some("sum"), Some("score"))
    );
    assert_eq!(last["grad_norm"], 1.0);

    // The table, for a forward only: no gradients anywhere.
    let out = viz(
        &dir,
        &[
            "predict",
            "sample:chelsea",
            "--weights",
            w.to_str().unwrap(),
            "--trace",
            "-",
        ],
    );
    ok(&out);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("frozen_conv2d") && text.contains("block1_conv1") && text.contains("|grad|"),
        "{text}"
    );
}

#[test]
fn bad_attribution_requests() {
    let dir = temp_dir("bad-attribute");
    precious(&dir);
    let w = tiny();
    let w = w.to_str().unwrap();
    let attribute = |extra: &[&str]| {
        let mut args = vec![
            "attribute",
            "sample:chelsea",
            "--weights",
            w,
            "--out",
            "out.png",
        ];
        args.extend_from_slice(extra);
        viz(&dir, &args)
    };
    fails(
        &attribute(&["--method", "grad-cam++"]),
        1,
        &["unknown method 'grad-cam++'", "did you mean 'gradcam++'"],
    );
    fails(
        &attribute(&["--method", "scorecam", "--layer", "fc1"]),
        1,
        &["needs a convolution or pool layer", "fc1"],
    );
    fails(
        &attribute(&["--method", "scorecam", "--layer", "block9_conv1"]),
        1,
        &["block9_conv1"],
    );
    fails(
        &attribute(&["--method", "scorecam", "--batch", "0"]),
        1,
        &["--batch"],
    );
    fails(
        &attribute(&["--method", "integrated-gradients", "--steps", "0"]),
        1,
        &["--steps"],
    );
    fails(
        &attribute(&["--method", "smoothgrad", "--samples", "0"]),
        1,
        &["--samples"],
    );
    fails(
        &attribute(&["--method", "occlusion", "--window", "500"]),
        1,
        &["--window 500"],
    );
    fails(
        &attribute(&["--method", "saliency", "--smooth", "aug"]),
        1,
        &["--smooth applies to the CAM methods"],
    );
    fails(
        &attribute(&["--method", "gradcam", "--class", "tabbby"]),
        1,
        &["did you mean 'tabby'"],
    );
    fails(
        &viz(
            &dir,
            &[
                "compare",
                "sample:chelsea",
                "--weights",
                w,
                "--methods",
                "gradcam,nope",
                "--out",
                "out.png",
            ],
        ),
        1,
        &["unknown method 'nope'"],
    );
    fails(
        &viz(
            &dir,
            &[
                "evaluate",
                "sample:chelsea",
                "--weights",
                w,
                "--step",
                "0",
                "--plot",
                "out.png",
            ],
        ),
        1,
        &["--step"],
    );
    fails(
        &viz(
            &dir,
            &[
                "sanity",
                "sample:chelsea",
                "--weights",
                w,
                "--method",
                "gradcamm",
                "--out",
                "out.png",
            ],
        ),
        1,
        &["did you mean 'gradcam'"],
    );
    fails(
        &viz(
            &dir,
            &[
                "compare",
                "sample:chelsea",
                "--weights",
                w,
                "--evaluate",
                "0",
                "--out",
                "out.png",
            ],
        ),
        1,
        &["--evaluate"],
    );
    // Conv-only weights cannot explain a class.
    let notop = repo().join("weights/vgg16_notop.safetensors");
    fails(
        &viz(
            &dir,
            &[
                "attribute",
                "sample:chelsea",
                "--method",
                "gradcam",
                "--weights",
                notop.to_str().unwrap(),
                "--out",
                "out.png",
            ],
        ),
        1,
        &["classifier"],
    );
    untouched(&dir);
}
