//! The lucid chain against PyTorch (`tools/lucid_pytorch.py --fixture`, float64): from a
//! spectrum through the Fourier picture, decorrelated colour, sigmoid, fixed transform draws and
//! caffe preprocessing to the model input; the gradient of a random weighting of that input
//! back to the spectrum; and one Adam step.

use std::path::Path;

use featureviz::adam::Adam;
use featureviz::color;
use featureviz::param::{ImageParam, Parameterisation};
use featureviz::transforms::{self, Drawn};
use tensor::testing::assert_close;
use tensor::Graph;
use vgg16::Preprocessing;

#[test]
fn the_chain_forward_backward_and_adam_equal_pytorch() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/lucid_chain.safetensors");
    let f = tensor::io::load(&path).expect("fixture").tensors;
    let spectrum = f["spectrum"].clone();
    let mut param = ImageParam::new(Parameterisation::Fourier { decay: 1.0 }, 2, 20, 0);
    param.values = spectrum.clone();
    let drawn = [
        Drawn::Pad {
            pixels: 4,
            value: 0.5,
        },
        Drawn::Crop {
            top: 1,
            left: 3,
            shrink: 3,
        },
        Drawn::Scale { factor: 1.1 },
        Drawn::Rotate { degrees: 7.0 },
        Drawn::Crop {
            top: 2,
            left: 0,
            shrink: 2,
        },
    ];

    let mut g = Graph::new();
    let p = g.input(spectrum);
    let picture = param.record(&mut g, p);
    let rgb = color::to_rgb(&mut g, picture, true);
    let seen = transforms::apply(&mut g, rgb, &drawn);
    let input = color::to_model_input(&mut g, seen, Preprocessing::Caffe);
    assert_close("picture", g.value(picture), &f["picture"], 1e-5);
    assert_close("rgb", g.value(rgb), &f["rgb"], 1e-5);
    assert_close("model input", g.value(input), &f["model_input"], 1e-5);

    let w = g.constant(f["weighting"].clone());
    let weighted = g.mul(input, w);
    let total = g.sum(weighted);
    let grad = g.backward(total).wrt(p).clone();
    assert_close("gradient", &grad, &f["grad"], 1e-4);

    let mut adam = Adam::new(0.05, grad.len());
    adam.step(&mut param.values, &grad.map(|v| -v));
    assert_close("after one Adam step", &param.values, &f["after_adam"], 1e-5);
}
