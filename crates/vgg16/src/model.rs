//! The VGG16 network: 13 convolutions with ReLU, 5 max-pools, and (optionally) the classifier:
//! flatten, fc1 + ReLU, fc2 + ReLU, predictions (logits; softmax is applied by the caller).
//!
//! The same `forward` code serves inference and gradients: it records on whatever [`Graph`] it
//! is given. The weights are recorded as constants, so backward computes gradients only for the
//! input image and the activations (what Grad-CAM and filter visualization need).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use tensor::testing::Rng;
use tensor::{ConvGeometry, Graph, PackedConv, Tensor, Var};

use crate::error::{Error, Result};
use crate::layers::{self, Layer, LayerKind, CONV_NAMES, DENSE_NAMES};
use crate::preprocess::Preprocessing;
use crate::weights::WeightFile;

/// A dense layer's weights: `weight` `[out, in]`, `bias` `[out]`.
#[derive(Clone)]
pub struct DenseWeights {
    pub weight: Tensor,
    pub bias: Tensor,
}

/// VGG16 with its weights.
pub struct Vgg16 {
    convs: Vec<Arc<PackedConv>>,
    dense: Option<Vec<DenseWeights>>,
    /// How images must be prepared for these weights.
    pub preprocessing: Preprocessing,
    /// Where the weights came from (the file's `source` metadata, or a description).
    pub source: String,
}

impl Vgg16 {
    /// Loads and validates a weights file (SPEC section 4, or torchvision names).
    pub fn load(path: &Path) -> Result<Vgg16> {
        let file = WeightFile::load(path)?;
        Vgg16::from_weights(file, &path.display().to_string())
    }

    /// Builds the model from loaded tensors, checking every name and shape. `origin` names the
    /// file in error messages.
    pub fn from_weights(file: WeightFile, origin: &str) -> Result<Vgg16> {
        let WeightFile {
            mut tensors,
            metadata,
            torchvision_names,
        } = file;
        let err = |m: String| Error::weights(origin, m);
        let has_classifier = DENSE_NAMES.iter().any(|n| {
            tensors.contains_key(&format!("{n}.weight"))
                || tensors.contains_key(&format!("{n}.bias"))
        });
        let mut take = |name: &str, expected: &[Option<usize>]| -> Result<Tensor> {
            let want = || {
                let dims: Vec<String> = expected
                    .iter()
                    .map(|d| d.map_or("_".into(), |d| d.to_string()))
                    .collect();
                format!("[{}]", dims.join(", "))
            };
            let t = tensors.remove(name).ok_or_else(|| {
                err(format!(
                    "missing tensor '{name}' (expected shape {})",
                    want()
                ))
            })?;
            let ok = t.shape().len() == expected.len()
                && t.shape()
                    .iter()
                    .zip(expected)
                    .all(|(&got, want)| want.is_none_or(|w| w == got))
                && t.shape().iter().all(|&d| d > 0);
            if !ok {
                return Err(err(format!(
                    "tensor '{name}' has shape {:?}, expected {}",
                    t.shape(),
                    want()
                )));
            }
            Ok(t)
        };

        let mut convs = Vec::with_capacity(13);
        let mut channels = 3;
        for name in CONV_NAMES {
            let w = take(
                &format!("{name}.weight"),
                &[None, Some(channels), Some(3), Some(3)],
            )?;
            let cout = w.shape()[0];
            let b = take(&format!("{name}.bias"), &[Some(cout)])?;
            convs.push(PackedConv::new(w, b, ConvGeometry::SAME_3X3));
            channels = cout;
        }

        let dense = if !has_classifier {
            None
        } else {
            let mut features = channels * 7 * 7;
            let mut layers = Vec::with_capacity(3);
            for name in DENSE_NAMES {
                let w = take(&format!("{name}.weight"), &[None, Some(features)])?;
                let out = w.shape()[0];
                let b = take(&format!("{name}.bias"), &[Some(out)])?;
                layers.push(DenseWeights { weight: w, bias: b });
                features = out;
            }
            Some(layers)
        };

        let default_prep = if torchvision_names { "torch" } else { "caffe" };
        let prep = metadata
            .get("preprocessing")
            .map(String::as_str)
            .unwrap_or(default_prep);
        let preprocessing = match prep {
            "caffe" => Preprocessing::Caffe,
            "torch" => Preprocessing::Torch,
            other => {
                return Err(err(format!(
                    "metadata preprocessing = '{other}'; expected 'caffe' or 'torch'"
                )))
            }
        };
        let source = metadata
            .get("source")
            .cloned()
            .unwrap_or_else(|| origin.to_string());
        Ok(Vgg16 {
            convs,
            dense,
            preprocessing,
            source,
        })
    }

    /// A VGG16 with seeded random weights (He-uniform init): for benchmarks and tests, so they need
    /// no download. `widths` are the 13 convolutions' output channels; `classifier` gives fc1/fc2
    /// widths and the number of classes.
    pub fn random(
        seed: u64,
        widths: &[usize; 13],
        classifier: Option<(usize, usize, usize)>,
    ) -> Vgg16 {
        let mut rng = Rng::new(seed);
        let mut he = |shape: &[usize], fan_in: usize| {
            let a = (6.0 / fan_in as f32).sqrt();
            rng.tensor(shape, -a, a)
        };
        let mut convs = Vec::new();
        let mut cin = 3;
        for &cout in widths {
            let w = he(&[cout, cin, 3, 3], cin * 9);
            let b = Tensor::full(&[cout], 0.01);
            convs.push(PackedConv::new(w, b, ConvGeometry::SAME_3X3));
            cin = cout;
        }
        let dense = classifier.map(|(f1, f2, classes)| {
            let mut layers = Vec::new();
            let mut fin = cin * 49;
            for out in [f1, f2, classes] {
                layers.push(DenseWeights {
                    weight: he(&[out, fin], fin),
                    bias: Tensor::full(&[out], 0.01),
                });
                fin = out;
            }
            layers
        });
        Vgg16 {
            convs,
            dense,
            preprocessing: Preprocessing::Caffe,
            source: format!("random weights (seed {seed})"),
        }
    }

    /// The standard VGG16 with random weights.
    pub fn random_standard(seed: u64, with_classifier: bool) -> Vgg16 {
        Vgg16::random(
            seed,
            &layers::VGG16_WIDTHS,
            with_classifier.then_some((4096, 4096, 1000)),
        )
    }

    pub fn has_classifier(&self) -> bool {
        self.dense.is_some()
    }

    /// Number of classes (0 without the classifier).
    pub fn num_classes(&self) -> usize {
        self.dense.as_ref().map_or(0, |d| d[2].weight.shape()[0])
    }

    /// The layers this model has (the classifier's only when loaded).
    pub fn layers(&self) -> &'static [Layer] {
        layers::layers(self.has_classifier())
    }

    /// Position of a layer by name; the error lists valid names and the closest one.
    pub fn layer_index(&self, name: &str) -> Result<usize> {
        layers::find(name, self.has_classifier()).map_err(Error::Invalid)
    }

    pub fn conv(&self, index: usize) -> &Arc<PackedConv> {
        &self.convs[index]
    }

    pub fn dense(&self, index: usize) -> Option<&DenseWeights> {
        self.dense.as_ref().map(|d| &d[index])
    }

    /// Output shape of layer `index` for one `h x w` image: `[C, H, W]`, or `[F]` after flatten.
    pub fn output_shape(&self, index: usize, h: usize, w: usize) -> Result<Vec<usize>> {
        let (mut c, mut h, mut w) = (3, h, w);
        let mut features = None;
        for layer in &self.layers()[..=index] {
            match layer.kind {
                LayerKind::Conv { index } => c = self.convs[index].weight.shape()[0],
                LayerKind::Pool => {
                    if h < 2 || w < 2 {
                        return Err(Error::Invalid(format!(
                            "input too small for layer '{}': {h}x{w} cannot be pooled 2x2 before it \
                             (each pool halves the size; use a larger --size)",
                            layer.name
                        )));
                    }
                    (h, w) = (h / 2, w / 2);
                }
                LayerKind::Flatten => {
                    if (h, w) != (7, 7) {
                        return Err(Error::Invalid(format!(
                            "the classifier needs a 224x224 input (block5_pool must be 7x7, got {h}x{w})"
                        )));
                    }
                    features = Some(c * h * w);
                }
                LayerKind::Dense { index } => {
                    features = Some(
                        self.dense.as_ref().expect("classifier")[index]
                            .weight
                            .shape()[0],
                    )
                }
            }
        }
        Ok(match features {
            Some(f) => vec![f],
            None => vec![c, h, w],
        })
    }

    /// Records the network on `g` from input `x` (`[N, 3, H, W]`, already preprocessed) up to and
    /// including layer `last`, returning every layer's output (index = layer position).
    pub fn forward_layers(&self, g: &mut Graph, x: Var, last: usize) -> Result<Vec<Var>> {
        self.check_input(g.value(x).shape(), last)?;
        let mut outputs = Vec::with_capacity(last + 1);
        let mut h = x;
        for layer in &self.layers()[..=last] {
            h = self.layer_forward(g, h, layer);
            outputs.push(h);
        }
        Ok(outputs)
    }

    /// Continues a forward pass: `h` is the output of layer `first - 1` (or the input when
    /// `first` is 0); records layers `first..=last` and returns their outputs. Grad-CAM uses this
    /// to start a tape at the target layer, so backward stops there.
    pub fn forward_range(
        &self,
        g: &mut Graph,
        h: Var,
        first: usize,
        last: usize,
    ) -> Result<Vec<Var>> {
        if first == 0 {
            return self.forward_layers(g, h, last);
        }
        if last >= self.layers().len() || first > last {
            return Err(Error::Invalid(format!("no layers {first}..={last}")));
        }
        let mut outputs = Vec::with_capacity(last + 1 - first);
        let mut h = h;
        for layer in &self.layers()[first..=last] {
            if layer.kind == LayerKind::Flatten && g.value(h).shape()[2..] != [7, 7] {
                return Err(Error::Invalid(format!(
                    "the classifier needs a 224x224 input (block5_pool must be 7x7, got {:?})",
                    &g.value(h).shape()[2..]
                )));
            }
            h = self.layer_forward(g, h, layer);
            outputs.push(h);
        }
        Ok(outputs)
    }

    /// The output of layer `last` only. On a no-grad graph, intermediate values are freed as soon
    /// as the next layer has used them.
    pub fn forward_to(&self, g: &mut Graph, x: Var, last: usize) -> Result<Var> {
        self.check_input(g.value(x).shape(), last)?;
        let mut h = x;
        for layer in &self.layers()[..=last] {
            let next = self.layer_forward(g, h, layer);
            if h != x {
                g.release(h);
            }
            h = next;
        }
        Ok(h)
    }

    /// The output of layer `last` (a convolution or pool), restricted to one channel per image:
    /// channel `channels[i]` for image `i`, shape `[N, 1, H, W]`. The last convolution computes
    /// only those channels, forward and backward (filter visualization needs nothing else).
    pub fn forward_to_channels(
        &self,
        g: &mut Graph,
        x: Var,
        last: usize,
        channels: &[usize],
    ) -> Result<Var> {
        self.check_input(g.value(x).shape(), last)?;
        let layers = self.layers();
        // The last convolution at or before `last`; only pools may follow it.
        let conv_at = (0..=last)
            .rev()
            .find(|&i| matches!(layers[i].kind, LayerKind::Conv { .. }))
            .ok_or_else(|| {
                Error::Invalid(format!("no convolution up to '{}'", layers[last].name))
            })?;
        if layers[conv_at + 1..=last]
            .iter()
            .any(|l| l.kind != LayerKind::Pool)
        {
            return Err(Error::Invalid(format!(
                "'{}' is not a convolution or pool layer",
                layers[last].name
            )));
        }
        let LayerKind::Conv { index } = layers[conv_at].kind else {
            unreachable!()
        };
        let channel_count = self.convs[index].weight.shape()[0];
        if let Some(&bad) = channels.iter().find(|&&c| c >= channel_count) {
            return Err(Error::Invalid(format!(
                "channel {bad} of a layer with {channel_count}"
            )));
        }
        let h = if conv_at == 0 {
            x
        } else {
            self.forward_to(g, x, conv_at - 1)?
        };
        let mut h = g.conv2d_selected(h, &self.convs[index], channels, true);
        for _ in conv_at + 1..=last {
            h = g.max_pool2x2(h);
        }
        Ok(h)
    }

    fn layer_forward(&self, g: &mut Graph, h: Var, layer: &Layer) -> Var {
        match layer.kind {
            LayerKind::Conv { index } => g.conv2d_packed_relu(h, &self.convs[index]),
            LayerKind::Pool => g.max_pool2x2(h),
            LayerKind::Flatten => g.flatten(h),
            LayerKind::Dense { index } => {
                let d = &self
                    .dense
                    .as_ref()
                    .expect("layer list has no classifier without weights")[index];
                let w = g.constant(d.weight.clone());
                let b = g.constant(d.bias.clone());
                let y = g.dense(h, w, Some(b));
                if index < 2 {
                    g.relu(y)
                } else {
                    y
                }
            }
        }
    }

    fn check_input(&self, shape: &[usize], last: usize) -> Result<()> {
        match shape {
            [n, 3, h, w] if *n > 0 => self.output_shape(last, *h, *w).map(|_| ()),
            _ => Err(Error::Invalid(format!(
                "the model takes [N, 3, H, W] images, got shape {shape:?}"
            ))),
        }
    }

    /// Parameters of layer `index`.
    pub fn layer_params(&self, index: usize) -> usize {
        match self.layers()[index].kind {
            LayerKind::Conv { index } => {
                self.convs[index].weight.len() + self.convs[index].bias.len()
            }
            LayerKind::Dense { index } => {
                let d = &self.dense.as_ref().expect("classifier")[index];
                d.weight.len() + d.bias.len()
            }
            _ => 0,
        }
    }

    /// A summary in the format of Keras's `model.summary()` (shapes channels-last, as Keras
    /// prints them), for an `h x w` input.
    pub fn summary(&self, h: usize, w: usize) -> Result<String> {
        let line = |c: char| c.to_string().repeat(65);
        let mut out = String::new();
        out += &format!(
            "Model: \"{}\"\n",
            if self.has_classifier() {
                "vgg16"
            } else {
                "vgg16 (no top)"
            }
        );
        out += &format!("{}\n", line('_'));
        out += &format!(
            " {:<28}{:<26}{}\n",
            "Layer (type)", "Output Shape", "Param #"
        );
        out += &format!("{}\n", line('='));
        out += &format!(
            " {:<28}{:<26}{}\n",
            "input_1 (InputLayer)",
            format!("[(None, {h}, {w}, 3)]"),
            0
        );
        let mut total = 0;
        for (i, layer) in self.layers().iter().enumerate() {
            let kind = match layer.kind {
                LayerKind::Conv { .. } => "Conv2D",
                LayerKind::Pool => "MaxPooling2D",
                LayerKind::Flatten => "Flatten",
                LayerKind::Dense { .. } => "Dense",
            };
            let shape = match self.output_shape(i, h, w)?[..] {
                [c, h, w] => format!("(None, {h}, {w}, {c})"),
                [f] => format!("(None, {f})"),
                _ => unreachable!(),
            };
            let params = self.layer_params(i);
            total += params;
            out += &format!(
                " {:<28}{:<26}{}\n",
                format!("{} ({kind})", layer.name),
                shape,
                params
            );
        }
        out += &format!("{}\n", line('='));
        out += &format!("Total params: {}\n", thousands(total));
        out += &format!("Trainable params: {}\n", thousands(total));
        out += "Non-trainable params: 0\n";
        out += &format!("{}\n", line('_'));
        Ok(out)
    }

    /// Total number of parameters.
    pub fn total_params(&self) -> usize {
        (0..self.layers().len()).map(|i| self.layer_params(i)).sum()
    }

    /// The weights as named tensors in the project's format (for saving).
    pub fn named_tensors(&self) -> Vec<(String, Tensor)> {
        let mut out = Vec::new();
        for (name, conv) in CONV_NAMES.iter().zip(&self.convs) {
            out.push((format!("{name}.weight"), conv.weight.clone()));
            out.push((format!("{name}.bias"), conv.bias.clone()));
        }
        if let Some(dense) = &self.dense {
            for (name, d) in DENSE_NAMES.iter().zip(dense) {
                out.push((format!("{name}.weight"), d.weight.clone()));
                out.push((format!("{name}.bias"), d.bias.clone()));
            }
        }
        out
    }

    /// Saves the weights in the project's format.
    pub fn save(&self, path: &Path) -> Result<()> {
        let mut meta = HashMap::new();
        meta.insert(
            "preprocessing".to_string(),
            self.preprocessing.name().to_string(),
        );
        meta.insert("source".to_string(), self.source.clone());
        crate::weights::save(path, &self.named_tensors(), &meta)
    }
}

/// `1234567` -> `"1,234,567"`.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}
