//! Keras's own layout, as `tools/keras_h5_to_safetensors.py` dumps it from the official `.h5`
//! file: conv kernels `[3, 3, Cin, Cout]` (HWIO), dense kernels `[in, out]`, and fc1's input rows
//! in Keras's (H, W, C) flatten order.
//!
//! The fc1 permutation: Keras flattens `block5_pool` (7 x 7 x C, channels last) as index
//! `(h * 7 + w) * C + c`; this project flattens `[C, 7, 7]` as `c * 49 + h * 7 + w`. So
//! `fc1.weight[o][c * 49 + h * 7 + w] = kernel[(h * 7 + w) * C + c][o]`.

use std::collections::HashMap;

use rayon::prelude::*;
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
        let w =
            conv_kernel(k).map_err(|m| Error::weights(origin, format!("'{layer}.kernel': {m}")))?;
        last_channels = w.shape()[0];
        out.push((format!("{layer}.weight"), w));
        out.push((
            format!("{layer}.bias"),
            get(format!("{layer}.bias"))?.clone(),
        ));
    }
    if !keras.contains_key("fc1.kernel") {
        return Ok(out);
    }
    for (index, layer) in DENSE_NAMES.iter().enumerate() {
        let k = get(format!("{layer}.kernel"))?;
        let inp = k.shape().first().copied().unwrap_or(0);
        if index == 0 && inp != last_channels * 49 {
            return Err(Error::weights(
                origin,
                format!("'fc1.kernel' has {inp} inputs, expected {last_channels} * 7 * 7"),
            ));
        }
        // fc1's rows come in Keras's (H, W, C) flatten order; ours are (C, H, W).
        let w = dense_kernel(k, (index == 0).then_some(last_channels))
            .map_err(|m| Error::weights(origin, format!("'{layer}.kernel': {m}")))?;
        out.push((format!("{layer}.weight"), w));
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

/// HWIO `[3, 3, Cin, Cout]` -> OIHW.
pub(crate) fn conv_kernel(k: &Tensor) -> std::result::Result<Tensor, String> {
    let &[kh, kw, cin, cout] = k.shape() else {
        return Err(format!(
            "a conv kernel of shape {:?}, expected [3, 3, Cin, Cout]",
            k.shape()
        ));
    };
    let kd = k.data();
    let mut w = vec![0.0; cout * cin * kh * kw];
    for o in 0..cout {
        for i in 0..cin {
            for y in 0..kh {
                for x in 0..kw {
                    w[((o * cin + i) * kh + y) * kw + x] = kd[((y * kw + x) * cin + i) * cout + o];
                }
            }
        }
    }
    Ok(Tensor::new(&[cout, cin, kh, kw], w))
}

/// `[in, out]` -> `[out, in]`, with `in` optionally re-ordered from (H, W, C) to (C, H, W) for
/// `channels` channels. Transposed in 64 x 64 tiles: fc1 of the ImageNet head is 25088 x 4096,
/// and an element-by-element transpose of it misses the cache on every write.
pub(crate) fn dense_kernel(
    k: &Tensor,
    hwc_to_chw: Option<usize>,
) -> std::result::Result<Tensor, String> {
    let &[inp, out] = k.shape() else {
        return Err(format!(
            "a dense kernel of shape {:?}, expected [in, out]",
            k.shape()
        ));
    };
    // Our row r = c * P + p (channel c, position p) is Keras's row p * C + c.
    let positions = match hwc_to_chw {
        Some(c) if c > 0 && inp % c == 0 => Some((c, inp / c)),
        _ => None,
    };
    let source_of = |r: usize| positions.map_or(r, |(c, p)| (r % p) * c + r / p);
    const TILE: usize = 64;
    let mut w = vec![0.0; out * inp];
    let kd = k.data();
    // Output rows in blocks of TILE, one block per task; within a block, TILE x TILE tiles.
    w.par_chunks_mut(TILE * inp)
        .enumerate()
        .for_each(|(block, rows)| {
            let o0 = block * TILE;
            let mut sources = [0usize; TILE];
            for r0 in (0..inp).step_by(TILE) {
                let r1 = (r0 + TILE).min(inp);
                for (s, r) in sources.iter_mut().zip(r0..r1) {
                    *s = source_of(r) * out;
                }
                for (k_row, row) in rows.chunks_mut(inp).enumerate() {
                    let o = o0 + k_row;
                    for (d, s) in row[r0..r1].iter_mut().zip(&sources) {
                        *d = kd[s + o];
                    }
                }
            }
        });
    Ok(Tensor::new(&[out, inp], w))
}
