//! Re-drawing a model's weights at random, layer by layer: the "model randomisation test" of
//! Adebayo et al. (2018, "Sanity Checks for Saliency Maps"). An explanation that stays the same
//! when the weights it explains are replaced by noise is not explaining the model.
//!
//! Each re-drawn layer gets He-uniform weights (`U(-a, a)`, `a = sqrt(6 / fan_in)`, as
//! [`Vgg16::random`]) and zero biases, from a generator seeded by the seed and the layer's
//! index: the same layer is re-drawn the same way in every copy, so the stages of a cascade
//! (top layer, then the top two, ...) differ only by the layers added.

use tensor::{PackedConv, Rng, Tensor};

use crate::model::Vgg16;
use crate::module::Module;

impl Vgg16 {
    /// The layers with weights (convolutions and dense layers), from the output down to the
    /// input: the order of the cascading randomisation.
    pub fn weighted_layers_top_down(&self) -> Vec<usize> {
        (0..self.layers.len())
            .rev()
            .filter(|&i| {
                matches!(
                    self.layers[i].module,
                    Module::Conv(_) | Module::Dense { .. }
                )
            })
            .collect()
    }

    /// A copy with the weights of `layers` re-drawn at random (see the module docs).
    pub fn with_random_layers(&self, layers: &[usize], seed: u64) -> Vgg16 {
        let mut copy = Vgg16 {
            layers: self.layers.clone(),
            preprocessing: self.preprocessing,
            preprocessing_guessed: self.preprocessing_guessed,
            source: self.source.clone(),
            trained_size: self.trained_size,
            labels: self.labels.clone(),
        };
        for &i in layers {
            let mut rng = Rng::new(seed ^ (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            let mut he = |shape: &[usize], fan_in: usize| {
                let a = (6.0 / fan_in as f32).sqrt();
                rng.tensor(shape, -a, a)
            };
            let module = &mut copy.layers[i].module;
            match module {
                Module::Conv(conv) => {
                    let [cout, cin, kh, kw] = conv.weight.dims4();
                    let weight = he(&[cout, cin, kh, kw], cin * kh * kw);
                    let geometry = conv.geometry;
                    *module =
                        Module::Conv(PackedConv::new(weight, Tensor::zeros(&[cout]), geometry));
                }
                Module::Dense { weight, bias, .. } => {
                    let [out, inputs] = weight.dims2();
                    *weight = he(&[out, inputs], inputs);
                    *bias = Tensor::zeros(&[out]);
                }
                _ => {}
            }
        }
        copy.source = format!(
            "{} with {} layer(s) re-drawn at random (seed {seed})",
            self.source,
            layers.len()
        );
        copy
    }
}
