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
    // forward_to (which frees intermediates on a no-grad tape) gives the same logits.
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
