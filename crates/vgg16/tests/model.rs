//! The network on small synthetic weights: forward against PyTorch, parameter counts, summary.

mod common;

use common::{assert_close, fixture, repo};
use tensor::Graph;
use vgg16::Vgg16;

#[test]
fn tiny_vgg16_forward_matches_pytorch() {
    let model = Vgg16::load(&repo().join("tests/fixtures/tiny_vgg16.safetensors")).unwrap();
    let expected = fixture("tiny_vgg16_expected.safetensors");
    let mut g = Graph::no_grad();
    let x = g.constant(expected["gradcam.input"].clone());
    let last = model.layers().len() - 1;
    let outputs = model.forward_all(&mut g, x, vgg16::Span::to(last)).unwrap();
    let block5_conv3 = model.layer_index("block5_conv3").unwrap();
    assert_close(
        "block5_conv3",
        g.value(outputs[block5_conv3]),
        &expected["gradcam.activations"],
        1e-4,
    );
    assert_close(
        "logits",
        g.value(outputs[last]),
        &expected["gradcam.logits"],
        1e-4,
    );
    // forward (which frees intermediates on a no-grad tape) gives the same logits.
    let mut g2 = Graph::no_grad();
    let x2 = g2.constant(expected["gradcam.input"].clone());
    let y = model.forward(&mut g2, x2, vgg16::Span::to(last)).unwrap();
    assert_eq!(g2.value(y).data(), g.value(outputs[last]).data());
}

#[test]
fn parameter_counts_and_summary() {
    let notop = Vgg16::random_standard(1, false);
    assert_eq!(notop.total_params(), 14_714_688);
    let summary = notop.summary(224, 224).unwrap();
    assert!(summary.contains("Total params: 14,714,688"), "{summary}");
    assert!(
        summary.contains(" block5_pool (MaxPooling2D)  (None, 7, 7, 512)"),
        "{summary}"
    );
    let full = Vgg16::random_standard(2, true);
    assert_eq!(full.total_params(), 138_357_544);
    let summary = full.summary(224, 224).unwrap();
    assert!(summary.contains("Total params: 138,357,544"));
    assert!(
        summary.contains(" fc1 (Dense)                 (None, 4096)              102764544"),
        "{summary}"
    );
    assert_eq!(
        summary.lines().filter(|l| l.contains("(Conv2D)")).count(),
        13
    );
}

#[test]
fn layer_names_errors_and_shapes() {
    let model = Vgg16::random(3, &[2; 13], None);
    let err = model.layer_index("block3_conv4").unwrap_err().to_string();
    assert!(
        err.contains("did you mean 'block3_conv3'") && err.contains("block1_conv1"),
        "{err}"
    );
    let err = model.layer_index("fc1").unwrap_err().to_string();
    assert!(err.contains("conv-only"), "{err}");
    assert_eq!(
        model
            .output_shape(model.layer_index("block3_conv1").unwrap(), 150, 150)
            .unwrap(),
        vec![2, 37, 37]
    );
    let err = model
        .output_shape(model.layer_index("block5_conv1").unwrap(), 8, 8)
        .unwrap_err()
        .to_string();
    assert!(err.contains("input too small"), "{err}");
}

#[test]
fn classifier_needs_224_inputs() {
    let model = Vgg16::random(4, &[2; 13], Some((4, 4, 10)));
    let mut g = Graph::no_grad();
    let x = g.constant(tensor::Tensor::zeros(&[1, 3, 160, 160]));
    let last = model.layers().len() - 1;
    let err = model
        .forward(&mut g, x, vgg16::Span::to(last))
        .unwrap_err()
        .to_string();
    assert!(err.contains("224x224"), "{err}");
}

/// A tiny VGG16 body (2 channels everywhere) with the given head layers and tensors, saved and
/// loaded back through a weights file (so the head goes through the file's metadata).
fn with_head(head: &str, extra: Vec<(String, tensor::Tensor)>, dir: &str) -> Vgg16 {
    let body = Vgg16::random(7, &[2; 13], None);
    let mut tensors = body.named_tensors();
    tensors.extend(extra);
    let mut meta = body.metadata();
    meta.insert("head".into(), head.into());
    let dir = common::temp_dir(dir);
    let path = dir.join("head.safetensors");
    tensor::io::save(&path, &tensors, &meta).unwrap();
    let model = Vgg16::load(&path).unwrap();
    // Saving the model again keeps its head.
    model.save(&dir.join("again.safetensors")).unwrap();
    let again = Vgg16::load(&dir.join("again.safetensors")).unwrap();
    assert_eq!(again.layers().len(), model.layers().len());
    model
}

#[test]
fn a_head_described_as_data_computes_what_it_says() {
    use tensor::{Rng, Tensor};
    let mut rng = Rng::new(8);
    let w1 = rng.tensor(&[3, 8], -1.0, 1.0); // flatten of [2, 2, 2] = 8 features -> 3
    let b1 = rng.tensor(&[3], -0.1, 0.1);
    let scale = rng.tensor(&[3], 0.5, 1.5);
    let shift = rng.tensor(&[3], -0.5, 0.5);
    let w2 = rng.tensor(&[1, 3], -1.0, 1.0);
    let b2 = rng.tensor(&[1], -0.1, 0.1);
    let head = r#"[{"name": "flatten", "type": "flatten", "order": "hwc"},
        {"name": "dense", "type": "dense", "activation": "relu"},
        {"name": "bn", "type": "batchnorm"}, {"name": "drop", "type": "dropout"},
        {"name": "out", "type": "dense", "activation": "sigmoid"}]"#;
    let tensors = vec![
        ("dense.weight".to_string(), w1.clone()),
        ("dense.bias".to_string(), b1.clone()),
        ("bn.scale".to_string(), scale.clone()),
        ("bn.shift".to_string(), shift.clone()),
        ("out.weight".to_string(), w2.clone()),
        ("out.bias".to_string(), b2.clone()),
    ];
    let model = with_head(head, tensors, "head-flatten");
    assert_eq!(
        model.input_size(),
        64,
        "a 2x2 block5_pool means 64 px inputs"
    );
    // One sigmoid unit: a binary classifier, presented as two classes.
    assert!(model.is_binary());
    assert_eq!(model.num_classes(), 2);
    let summary = model.summary(64, 64).unwrap();
    assert!(
        summary.contains("custom head") && summary.contains("bn (BatchNormalization)"),
        "{summary}"
    );
    let err = model
        .output_shape(model.layers().len() - 1, 96, 96)
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs a 64x64 input"), "{err}");

    // By hand: the body's output, flattened channels-last, then the head's arithmetic.
    let x = Rng::new(9).tensor(&[1, 3, 64, 64], -100.0, 100.0);
    let mut g = Graph::no_grad();
    let xv = g.constant(x.clone());
    let body_span = model.span("block1_conv1", "block5_pool").unwrap();
    let body = model.forward(&mut g, xv, body_span).unwrap();
    let a = g.value(body).clone(); // [1, 2, 2, 2]
    let hwc: Vec<f32> = (0..4)
        .flat_map(|p| (0..2).map(move |c| (c, p)))
        .map(|(c, p)| a.data()[c * 4 + p])
        .collect();
    let mut z = 0.0f32;
    for o in 0..3 {
        let d: f32 = (0..8).map(|i| w1.data()[o * 8 + i] * hwc[i]).sum::<f32>() + b1.data()[o];
        let bn = d.max(0.0) * scale.data()[o] + shift.data()[o];
        z += w2.data()[o] * bn;
    }
    let want = 1.0 / (1.0 + (-(z + b2.data()[0])).exp());
    // The logits leave the last activation out: class 1 has the unit's z, class 0 has -z. The
    // probabilities put the sigmoid back (not a softmax): sigmoid(-z) = 1 - sigmoid(z).
    let logits = model.logits(&x).unwrap();
    assert_eq!(logits.shape(), &[1, 2]);
    let zb = z + b2.data()[0];
    assert!((logits.data()[1] - zb).abs() < 1e-4 && (logits.data()[0] + zb).abs() < 1e-4);
    assert_eq!(model.output_activation(), vgg16::Activation::Sigmoid);
    let got = model.probabilities(&logits);
    assert!(
        (got.data()[1] - want).abs() < 1e-5 && (got.data()[0] - (1.0 - want)).abs() < 1e-5,
        "{:?} vs {want}",
        got.data()
    );
    // The rest of the network from the body's output: the same number.
    let mut g = Graph::no_grad();
    let av = g.constant(a);
    let rest = model
        .forward(&mut g, av, model.span("flatten", "out").unwrap())
        .unwrap();
    assert!((g.value(rest).data()[0] - got.data()[1]).abs() < 1e-6);
    assert!(model.span("out", "flatten").is_err());
    let _ = Tensor::zeros(&[1]);
}

#[test]
fn global_pooling_heads() {
    use tensor::Rng;
    let mut rng = Rng::new(10);
    let w = rng.tensor(&[3, 2], -1.0, 1.0);
    let b = rng.tensor(&[3], -0.1, 0.1);
    for (kind, pick) in [("global_average_pool", 0), ("global_max_pool", 1)] {
        let head = format!(
            r#"[{{"name": "pool", "type": "{kind}"}}, {{"name": "fc", "type": "dense", "activation": "softmax"}}]"#
        );
        let tensors = vec![
            ("fc.weight".into(), w.clone()),
            ("fc.bias".into(), b.clone()),
        ];
        let model = with_head(&head, tensors, kind);
        // Any input size works with a global pool.
        let x = Rng::new(11).tensor(&[2, 3, 96, 80], -100.0, 100.0);
        let mut g = Graph::no_grad();
        let xv = g.constant(x.clone());
        let conv = model.layer_index("block5_pool").unwrap();
        let a = model.forward(&mut g, xv, vgg16::Span::to(conv)).unwrap();
        let a = g.value(a).clone();
        let [n, c, h, wd] = a.dims4();
        let got = model.probabilities(&model.logits(&x).unwrap());
        for img in 0..n {
            let feats: Vec<f32> = (0..c)
                .map(|ch| {
                    let plane = &a.data()[(img * c + ch) * h * wd..][..h * wd];
                    if pick == 0 {
                        plane.iter().sum::<f32>() / plane.len() as f32
                    } else {
                        plane.iter().copied().fold(f32::MIN, f32::max)
                    }
                })
                .collect();
            let logits: Vec<f32> = (0..3)
                .map(|o| (0..c).map(|i| w.data()[o * c + i] * feats[i]).sum::<f32>() + b.data()[o])
                .collect();
            let max = logits.iter().copied().fold(f32::MIN, f32::max);
            let total: f32 = logits.iter().map(|l| (l - max).exp()).sum();
            for (o, logit) in logits.iter().enumerate() {
                let want = (logit - max).exp() / total;
                let got = got.data()[img * 3 + o];
                assert!((got - want).abs() < 1e-5, "{kind}: {got} vs {want}");
            }
        }
    }
}

#[test]
fn a_bad_head_is_refused_with_its_reason() {
    let body = Vgg16::random(7, &[2; 13], None);
    let dir = common::temp_dir("bad-head");
    for (head, expect) in [
        (r#"[{"name": "x", "type": "conv3d"}]"#, "type 'conv3d'"),
        (
            r#"[{"name": "fc", "type": "dense"}]"#,
            "missing tensor 'fc.weight'",
        ),
        ("not json", "not JSON"),
        (
            r#"[{"name": "block5_pool", "type": "dropout"}]"#,
            "'block5_pool' is used twice",
        ),
    ] {
        let mut meta = body.metadata();
        meta.insert("head".into(), head.into());
        let path = dir.join("bad.safetensors");
        tensor::io::save(&path, &body.named_tensors(), &meta).unwrap();
        let err = Vgg16::load(&path).err().expect("refused").to_string();
        assert!(err.contains(expect), "{err}");
    }
}
