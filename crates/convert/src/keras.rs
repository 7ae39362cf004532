//! Keras's own layout, as `tools/keras_h5_to_safetensors.py` dumps it from the official `.h5`
//! file: conv kernels `[3, 3, Cin, Cout]` (HWIO), dense kernels `[in, out]`, and fc1's input rows
//! in Keras's (H, W, C) flatten order.
//!
//! The fc1 permutation: Keras flattens `block5_pool` (7 x 7 x C, channels last) as index
//! `(h * 7 + w) * C + c`; this project flattens `[C, 7, 7]` as `c * 49 + h * 7 + w`. So
//! `fc1.weight[o][c * 49 + h * 7 + w] = kernel[(h * 7 + w) * C + c][o]`.

use std::collections::HashMap;
use std::path::Path;

use tensor::Tensor;
use vgg16::names::{CONV_NAMES, DENSE_NAMES};
use vgg16::weights::WeightFile;
use vgg16::{Error, Result};

use crate::{finish, Converted};

/// Converts Keras-layout tensors (`<layer>.kernel`, `<layer>.bias`) to the project's layout.
pub fn from_keras_layout(
    keras: &HashMap<String, Tensor>,
    origin: &str,
) -> Result<Vec<(String, Tensor)>> {
    let get = |name: String| {
        keras.get(&name).ok_or_else(|| {
            Error::weights(origin, format!("missing tensor '{name}' in the Keras dump"))
        })
    };
    let mut out = Vec::new();
    let mut last_channels = 0;
    for layer in CONV_NAMES {
        let k = get(format!("{layer}.kernel"))?;
        let [kh, kw, cin, cout] = match k.shape() {
            &[a, b, c, d] => [a, b, c, d],
            s => {
                return Err(Error::weights(
                    origin,
                    format!("'{layer}.kernel' has shape {s:?}, expected [3, 3, Cin, Cout]"),
                ))
            }
        };
        // HWIO -> OIHW: weight[o][i][y][x] = kernel[y][x][i][o].
        let kd = k.data();
        let mut w = vec![0.0; cout * cin * kh * kw];
        for o in 0..cout {
            for i in 0..cin {
                for y in 0..kh {
                    for x in 0..kw {
                        w[((o * cin + i) * kh + y) * kw + x] =
                            kd[((y * kw + x) * cin + i) * cout + o];
                    }
                }
            }
        }
        out.push((
            format!("{layer}.weight"),
            Tensor::new(&[cout, cin, kh, kw], w),
        ));
        out.push((
            format!("{layer}.bias"),
            get(format!("{layer}.bias"))?.clone(),
        ));
        last_channels = cout;
    }
    if !keras.contains_key("fc1.kernel") {
        return Ok(out);
    }
    for (index, layer) in DENSE_NAMES.iter().enumerate() {
        let k = get(format!("{layer}.kernel"))?;
        let [inp, outp] = match k.shape() {
            &[a, b] => [a, b],
            s => {
                return Err(Error::weights(
                    origin,
                    format!("'{layer}.kernel' has shape {s:?}, expected [in, out]"),
                ))
            }
        };
        let kd = k.data();
        let mut w = vec![0.0; outp * inp];
        if index == 0 {
            let c_count = last_channels;
            if inp != c_count * 49 {
                return Err(Error::weights(
                    origin,
                    format!("'fc1.kernel' has {inp} inputs, expected {c_count} * 7 * 7"),
                ));
            }
            for o in 0..outp {
                for c in 0..c_count {
                    for hw in 0..49 {
                        w[o * inp + c * 49 + hw] = kd[(hw * c_count + c) * outp + o];
                    }
                }
            }
        } else {
            for o in 0..outp {
                for i in 0..inp {
                    w[o * inp + i] = kd[i * outp + o];
                }
            }
        }
        out.push((format!("{layer}.weight"), Tensor::new(&[outp, inp], w)));
        out.push((
            format!("{layer}.bias"),
            get(format!("{layer}.bias"))?.clone(),
        ));
    }
    Ok(out)
}

/// Reads a Keras-layout safetensors dump and converts it.
pub fn from_keras_file(path: &Path) -> Result<Converted> {
    let origin = path.display().to_string();
    let file = WeightFile::load(path)?;
    let tensors = from_keras_layout(&file.tensors, &origin)?;
    finish(
        tensors,
        "Keras VGG16 ImageNet weights (Simonyan & Zisserman, CC BY 4.0), vgg16_weights_tf_dim_ordering_tf_kernels.h5",
        &origin,
    )
}
