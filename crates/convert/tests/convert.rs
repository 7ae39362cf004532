//! The Keras-layout converter, checked against independent computations in Keras's own layout.

use std::collections::HashMap;

use convert::from_keras_layout;
use tensor::Rng;
use tensor::{Graph, Tensor};
use vgg16::model::Vgg16;
use vgg16::names::{CONV_NAMES, DENSE_NAMES};
use vgg16::weights::WeightFile;

const WIDTHS: [usize; 13] = [2, 2, 3, 3, 3, 3, 3, 4, 4, 4, 3, 3, 3];

fn keras_tensors(rng: &mut Rng) -> HashMap<String, Tensor> {
    let mut t = HashMap::new();
    let mut cin = 3;
    for (name, &cout) in CONV_NAMES.iter().zip(&WIDTHS) {
        t.insert(
            format!("{name}.kernel"),
            rng.tensor(&[3, 3, cin, cout], -0.5, 0.5),
        );
        t.insert(format!("{name}.bias"), rng.tensor(&[cout], 0.0, 0.1));
        cin = cout;
    }
    let mut fin = cin * 49;
    for (name, out) in DENSE_NAMES.iter().zip([5, 4, 10]) {
        t.insert(format!("{name}.kernel"), rng.tensor(&[fin, out], -0.5, 0.5));
        t.insert(format!("{name}.bias"), rng.tensor(&[out], -0.1, 0.1));
        fin = out;
    }
    t
}

fn model_from(keras: &HashMap<String, Tensor>) -> Vgg16 {
    let converted = from_keras_layout(keras, "test").unwrap();
    let file = WeightFile {
        tensors: converted.into_iter().collect(),
        metadata: HashMap::new(),
        torchvision_names: false,
    };
    Vgg16::from_weights(file, "test").unwrap()
}

/// fc1 in Keras: flatten block5_pool channels-last, `(h * 7 + w) * C + c`, then `x @ kernel`.
#[test]
fn fc1_rows_are_permuted_from_hwc_to_chw() {
    let mut rng = Rng::new(1);
    let keras = keras_tensors(&mut rng);
    let model = model_from(&keras);
    let c = WIDTHS[12];
    let pooled = rng.tensor(&[1, c, 7, 7], 0.0, 1.0);

    // Keras's way, written out independently.
    let kernel = &keras["fc1.kernel"];
    let out = kernel.shape()[1];
    let mut keras_flat = vec![0.0f32; c * 49];
    for ch in 0..c {
        for h in 0..7 {
            for w in 0..7 {
                keras_flat[(h * 7 + w) * c + ch] = pooled.data()[(ch * 7 + h) * 7 + w];
            }
        }
    }
    let keras_y: Vec<f32> = (0..out)
        .map(|o| {
            let s: f32 = (0..c * 49)
                .map(|i| keras_flat[i] * kernel.data()[i * out + o])
                .sum();
            (s + keras["fc1.bias"].data()[o]).max(0.0)
        })
        .collect();

    // Ours: the model from block5_pool on (flatten in C, H, W order, fc1, ReLU).
    let mut g = Graph::no_grad();
    let x = g.constant(pooled);
    let first = model.layer_index("flatten").unwrap();
    let fc1 = model.layer_index("fc1").unwrap();
    let outs = model
        .forward_all(&mut g, x, vgg16::Span::new(first, fc1))
        .unwrap();
    let ours = g.value(*outs.last().unwrap());
    for (a, b) in ours.data().iter().zip(&keras_y) {
        assert!((a - b).abs() < 1e-4, "{a} vs {b}");
    }
}

/// A Keras conv kernel `[kh, kw, cin, cout]` applied the Keras way (channels-last) equals the
/// converted OIHW kernel applied by our engine.
#[test]
fn conv_kernels_are_transposed_from_hwio() {
    let mut rng = Rng::new(2);
    let keras = keras_tensors(&mut rng);
    let model = model_from(&keras);
    let (h, w) = (5, 6);
    let x = rng.tensor(&[1, 3, h, w], -1.0, 1.0);
    let k = &keras["block1_conv1.kernel"];
    let b = &keras["block1_conv1.bias"];
    let cout = WIDTHS[0];
    let mut expected = vec![0.0f32; cout * h * w];
    for o in 0..cout {
        for y in 0..h {
            for xx in 0..w {
                let mut s = b.data()[o];
                for ky in 0..3 {
                    for kx in 0..3 {
                        let (iy, ix) =
                            (y as isize + ky as isize - 1, xx as isize + kx as isize - 1);
                        if iy < 0 || ix < 0 || iy >= h as isize || ix >= w as isize {
                            continue;
                        }
                        for i in 0..3 {
                            let v = x.data()[(i * h + iy as usize) * w + ix as usize];
                            s += v * k.data()[((ky * 3 + kx) * 3 + i) * cout + o];
                        }
                    }
                }
                expected[(o * h + y) * w + xx] = s.max(0.0);
            }
        }
    }
    let mut g = Graph::no_grad();
    let xv = g.constant(x);
    let y = model.forward(&mut g, xv, vgg16::Span::to(0)).unwrap();
    for (a, b) in g.value(y).data().iter().zip(&expected) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}

#[test]
fn missing_keras_tensor_is_named() {
    let mut rng = Rng::new(3);
    let mut keras = keras_tensors(&mut rng);
    keras.remove("block4_conv2.kernel");
    let err = from_keras_layout(&keras, "dump.safetensors")
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("block4_conv2.kernel"), "{err}");
}
