//! `viz filters --recipe lucid` and `viz dream` as a user runs them, on the tiny random model.

mod common;

use common::{fails, json, ok, photo, png_size, precious, temp_dir, tiny, untouched, viz};

fn run(dir: &std::path::Path, args: &[&str]) -> serde_json::Value {
    let w = tiny();
    let mut all = args.to_vec();
    all.extend(["--weights", w.to_str().unwrap(), "--quiet"]);
    json(&viz(dir, &all))
}

#[test]
fn lucid_filters_grid_dump_quality_and_reproducibility() {
    let dir = temp_dir("lucid");
    let args = [
        "filters",
        "--recipe",
        "lucid",
        "--layer",
        "block2_conv1",
        "--filters",
        "0..3",
        "--size",
        "32",
        "--steps",
        "4",
        "--seed",
        "1",
        "--dump",
        "d.safetensors",
        "--out",
        "a.png",
        "--json",
    ];
    let v = run(&dir, &args);
    assert_eq!(v["recipe"], "lucid");
    assert_eq!(v["param"], "fft");
    assert_eq!(v["objective"], "channel");
    assert_eq!(v["final_objectives"].as_array().unwrap().len(), 3);
    for key in ["selectivity", "high_frequency_share", "colourfulness"] {
        let values = v["quality"][key].as_array().unwrap();
        assert_eq!(values.len(), 3, "{key}");
        assert!(
            values.iter().all(|x| x.as_f64().unwrap() > 0.0),
            "{key}: {values:?}"
        );
    }
    assert_eq!(png_size(&dir.join("a.png")), (3 * 32 + 2 * 5, 32));
    let dump = tensor::io::load(&dir.join("d.safetensors")).unwrap();
    assert_eq!(dump.tensors["rgb"].shape(), &[3, 3, 32, 32]);
    assert_eq!(dump.tensors["objectives"].shape(), &[3, 4]);
    // The same seed draws the same start and the same transforms: the same picture.
    let mut again = args;
    again[16] = "b.png";
    again[14] = "e.safetensors";
    run(&dir, &again);
    assert_eq!(
        std::fs::read(dir.join("a.png")).unwrap(),
        std::fs::read(dir.join("b.png")).unwrap()
    );
}

#[test]
fn lucid_variants_copies_diversity_class_and_book_rgb() {
    let dir = temp_dir("lucid-variants");
    let v = run(
        &dir,
        &[
            "filters",
            "--recipe",
            "lucid",
            "--layer",
            "block3_conv1",
            "--filter",
            "2",
            "--copies",
            "2",
            "--diversity",
            "50",
            "--size",
            "32",
            "--steps",
            "2",
            "--seed",
            "0",
            "--param",
            "pixel",
            "--objective",
            "neuron",
            "--no-decorrelate",
            "--out",
            "c.png",
            "--json",
        ],
    );
    assert_eq!(v["filters"], serde_json::json!([2, 2]));
    assert_eq!(v["diversity"], 50.0);
    assert_eq!(png_size(&dir.join("c.png")), (2 * 32 + 5, 32));
    // The class objective: --filters are classes, no --layer needed.
    let v = run(
        &dir,
        &[
            "filters",
            "--recipe",
            "lucid",
            "--objective",
            "class",
            "--filters",
            "0..2",
            "--size",
            "32",
            "--steps",
            "2",
            "--seed",
            "0",
            "--out",
            "k.png",
            "--json",
        ],
    );
    assert_eq!(v["objective"], "class");
    assert!(v["quality"]["selectivity"].is_null());
    // The book's recipe dumps its rendered pictures too.
    run(
        &dir,
        &[
            "filters",
            "--layer",
            "block1_conv1",
            "--filters",
            "0..2",
            "--size",
            "40",
            "--steps",
            "2",
            "--seed",
            "0",
            "--dump",
            "b.safetensors",
            "--out",
            "b.png",
            "--json",
        ],
    );
    let dump = tensor::io::load(&dir.join("b.safetensors")).unwrap();
    assert_eq!(dump.tensors["rgb"].shape(), &[2, 3, 40, 40]);
    assert_eq!(dump.tensors["images"].shape(), &[2, 3, 40, 40]);
}

#[test]
fn dream_keeps_the_photo_size_and_records_the_loss() {
    let dir = temp_dir("dream");
    let img = photo(&dir);
    let v = run(
        &dir,
        &[
            "dream",
            img.to_str().unwrap(),
            "--layers",
            "block3_conv1,block4_conv1=0.5",
            "--size",
            "96",
            "--octaves",
            "2",
            "--steps",
            "2",
            "--dump",
            "d.safetensors",
            "--out",
            "dream.png",
            "--json",
        ],
    );
    // 300 x 200 with its longer side at 96: 96 x 64; the first octave 1.4 times smaller.
    assert_eq!(png_size(&dir.join("dream.png")), (96, 64));
    assert_eq!(v["octaves"], serde_json::json!([[46, 69], [64, 96]]));
    let dump = tensor::io::load(&dir.join("d.safetensors")).unwrap();
    assert_eq!(dump.tensors["rgb"].shape(), &[1, 3, 64, 96]);
    assert_eq!(dump.tensors["losses"].shape(), &[4]);
    ok(&viz(
        &dir,
        &[
            "dream",
            img.to_str().unwrap(),
            "--weights",
            tiny().to_str().unwrap(),
            "--quiet",
            "--layers",
            "block3_conv1",
            "--size",
            "48",
            "--octaves",
            "1",
            "--steps",
            "1",
            "--transforms",
            "--out",
            "t.png",
        ],
    ));
    assert_eq!(png_size(&dir.join("t.png")), (48, 32));
}

#[test]
fn bad_recipe_options_and_dream_requests_fail_cleanly() {
    let dir = temp_dir("lucid-bad");
    precious(&dir);
    let img = photo(&dir);
    let img = img.to_str().unwrap();
    let w = tiny();
    let w = w.to_str().unwrap();
    let with = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--weights", w, "--out", "out.png", "--steps", "1"]);
        viz(&dir, &all)
    };
    let lucid = ["filters", "--recipe", "lucid", "--layer", "block1_conv1"];
    fails(
        &with(&["filters", "--layer", "block1_conv1", "--lr", "0.1"]),
        1,
        &["--lr belongs to the lucid recipe"],
    );
    fails(
        &with(&[&lucid[..], &["--revive"]].concat()),
        1,
        &["--revive belongs to the book"],
    );
    fails(
        &with(&[&lucid[..], &["--diversity", "5"]].concat()),
        1,
        &["add --copies"],
    );
    fails(
        &with(&[&lucid[..], &["--lr=-1"]].concat()),
        1,
        &["--lr must be a positive"],
    );
    fails(
        &with(&[&lucid[..], &["--decay", "9"]].concat()),
        1,
        &["--decay must be in [0, 4]"],
    );
    fails(
        &with(&[&lucid[..], &["--filter", "4"]].concat()),
        1,
        &["filter 4 does not exist"],
    );
    fails(
        &with(&["filters", "--recipe", "lucid"]),
        1,
        &["--layer is needed"],
    );
    fails(
        &with(&[
            "filters",
            "--recipe",
            "lucid",
            "--objective",
            "class",
            "--filter",
            "1000",
        ]),
        1,
        &["class 1000 does not exist"],
    );
    fails(
        &with(&["dream", img, "--layers", "block9_conv1"]),
        1,
        &["unknown layer"],
    );
    fails(
        &with(&["dream", img, "--layers", "block4_conv1=x"]),
        1,
        &["not a coefficient"],
    );
    fails(
        &with(&["dream", img, "--octaves", "0"]),
        1,
        &["--octaves must be 1 to 10"],
    );
    fails(
        &with(&["dream", img, "--size", "64", "--octaves", "4"]),
        1,
        &["fewer --octaves"],
    );
    fails(
        &with(&["dream", img, "--step", "0"]),
        1,
        &["--step must be a positive"],
    );
    fails(&with(&["dream", "missing.png"]), 1, &["missing.png"]);
    untouched(&dir);
}
