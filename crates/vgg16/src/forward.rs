//! Running the network: one [`Vgg16::forward`] between any two layers, recording on whatever
//! [`Graph`] it is given (a no-grad tape for inference, a recording one for gradients; the
//! weights are always constants, so backward computes gradients only for the input and the
//! activations), and the shape every layer makes of an input.

use tensor::{Graph, ReluRule, Tensor, Var};

use crate::error::{Error, Result};
use crate::model::{Vgg16, BODY_LEN};
use crate::module::{Activation, Module};

/// Which layers to run, and how their ReLUs go backward.
#[derive(Clone, Copy, Debug)]
pub struct Span {
    /// The first layer to run; the input is that layer's input (the image when 0).
    pub from: usize,
    /// The last layer to run (inclusive).
    pub to: usize,
    /// The backward rule of every ReLU in the span (guided backprop changes it).
    pub relu: ReluRule,
}

impl Span {
    /// Layers `from..=to` with the standard ReLU.
    pub fn new(from: usize, to: usize) -> Span {
        Span {
            from,
            to,
            relu: ReluRule::Standard,
        }
    }

    /// From the image up to and including layer `to`.
    pub fn to(to: usize) -> Span {
        Span::new(0, to)
    }

    pub fn with_relu(self, relu: ReluRule) -> Span {
        Span { relu, ..self }
    }
}

impl Vgg16 {
    /// The layers from `from` to `to` (inclusive) by name, e.g. `model.span("block5_pool",
    /// "fc2")`; the errors name the closest valid layer.
    pub fn span(&self, from: &str, to: &str) -> Result<Span> {
        let (from, to) = (self.layer_index(from)?, self.layer_index(to)?);
        if from > to {
            return Err(Error::Invalid(format!(
                "layer '{}' comes after '{}'",
                self.layers()[from].name,
                self.layers()[to].name
            )));
        }
        Ok(Span::new(from, to))
    }

    /// Records layers `span.from..=span.to` on `g` from `x` (the input of layer `from`: for 0,
    /// `[N, 3, H, W]` images already preprocessed) and returns the last layer's output. On a
    /// no-grad tape each intermediate value is freed as soon as the next layer has used it.
    pub fn forward(&self, g: &mut Graph, x: Var, span: Span) -> Result<Var> {
        self.check_span(g, x, span)?;
        Ok(self.record_checked(g, x, span))
    }

    /// [`Vgg16::forward`] for a span whose input was already checked by the caller (shape
    /// inference runs once per call, not once per nested span).
    fn record_checked(&self, g: &mut Graph, x: Var, span: Span) -> Var {
        let mut h = x;
        for layer in &self.layers()[span.from..=span.to] {
            let start = g.len();
            let next = layer.module.record(g, h, span.relu);
            g.name_from(start, &layer.name);
            if h != x && h != next {
                g.release(h);
            }
            h = next;
        }
        h
    }

    /// The class scores before the head's final softmax or sigmoid ("logits"; for the
    /// ImageNet head, its output) for preprocessed images `[N, 3, H, W]`, without a tape.
    pub fn logits(&self, input: &Tensor) -> Result<Tensor> {
        let mut g = Graph::no_grad();
        let x = g.constant(input.clone());
        let y = self.forward_logits(&mut g, x, 0)?;
        Ok(g.value(y).clone())
    }

    /// Records layers `from..` to the last, leaving out the last layer's activation: the
    /// logits. `x` is the input of layer `from`.
    pub fn forward_logits(&self, g: &mut Graph, x: Var, from: usize) -> Result<Var> {
        self.forward_logits_with(g, x, from, ReluRule::Standard)
    }

    /// [`Vgg16::forward_logits`] with every ReLU going backward by `relu` (guided
    /// backpropagation and deconvnet change the rule of all of them, the head's included).
    pub fn forward_logits_with(
        &self,
        g: &mut Graph,
        x: Var,
        from: usize,
        relu: ReluRule,
    ) -> Result<Var> {
        let last = self.layers().len() - 1;
        self.check_span(g, x, Span::new(from, last))?;
        let h = if from < last {
            self.record_checked(g, x, Span::new(from, last - 1).with_relu(relu))
        } else {
            x
        };
        let (start, layer) = (g.len(), &self.layers()[last]);
        let mut logits = layer.module.record_without_activation(g, h, relu);
        if self.is_binary() {
            // One sigmoid unit z as two classes: logits [-z, z] (sigmoid of each gives
            // 1 - sigmoid(z) and sigmoid(z)); backward of class 0 differentiates -z.
            logits = g.channel_mix(logits, &Tensor::new(&[2, 1], vec![-1.0, 1.0]));
        }
        g.name_from(start, &layer.name);
        Ok(logits)
    }

    /// The activation that turns the logits into the model's output: `Sigmoid` for a sigmoid
    /// head (one probability per output), else `Softmax` (over the classes; the ImageNet head's
    /// logits are turned into probabilities this way too).
    pub fn output_activation(&self) -> Activation {
        match self.layers().last().map(|l| l.module.activation()) {
            Some(Activation::Sigmoid) => Activation::Sigmoid,
            _ => Activation::Softmax,
        }
    }

    /// The probabilities of `logits` `[N, classes]` (see [`Vgg16::output_activation`]).
    pub fn probabilities(&self, logits: &Tensor) -> Tensor {
        match self.output_activation() {
            Activation::Sigmoid => tensor::ops::elementwise::sigmoid_forward(logits),
            _ => tensor::ops::softmax::softmax_forward(logits),
        }
    }

    /// Like [`Vgg16::forward`], keeping and returning every layer's output (index 0 is layer
    /// `span.from`'s).
    pub fn forward_all(&self, g: &mut Graph, x: Var, span: Span) -> Result<Vec<Var>> {
        self.check_span(g, x, span)?;
        let mut outputs = Vec::with_capacity(span.to + 1 - span.from);
        let mut h = x;
        for layer in &self.layers()[span.from..=span.to] {
            let start = g.len();
            h = layer.module.record(g, h, span.relu);
            g.name_from(start, &layer.name);
            outputs.push(h);
        }
        Ok(outputs)
    }

    /// The output of layer `last` (a convolution, or pools after one), restricted to one
    /// channel per image: channel `channels[i]` for image `i`, shape `[N, 1, H, W]`. The last
    /// convolution computes only those channels, forward and backward (filter visualization
    /// needs nothing else): the same values as `forward` then selecting the channels, faster.
    pub fn forward_channels(
        &self,
        g: &mut Graph,
        x: Var,
        last: usize,
        channels: &[usize],
    ) -> Result<Var> {
        self.forward_channels_with(g, x, last, channels, Some(ReluRule::Standard))
    }

    /// [`Vgg16::forward_channels`] with the last convolution's ReLU given by `relu`: `None`
    /// leaves it out, so the channels are taken before the ReLU (as lucid's objectives do:
    /// a channel that is negative everywhere still has a gradient to climb). Earlier layers
    /// keep theirs.
    pub fn forward_channels_with(
        &self,
        g: &mut Graph,
        x: Var,
        last: usize,
        channels: &[usize],
        relu: Option<ReluRule>,
    ) -> Result<Var> {
        self.check_span(g, x, Span::to(last))?;
        let images = g.value(x).shape()[0];
        if channels.len() != images {
            return Err(Error::Invalid(format!(
                "{} channels given for {images} images (one per image)",
                channels.len()
            )));
        }
        let (conv_at, conv) = self.last_convolution(last)?;
        if let Some(&bad) = channels.iter().find(|&&c| c >= conv.channels()) {
            return Err(Error::Invalid(format!(
                "channel {bad} of a layer with {}",
                conv.channels()
            )));
        }
        let h = self.up_to(g, x, conv_at);
        let start = g.len();
        let h = g.frozen_conv2d_channels(h, conv, channels, relu);
        g.name_from(start, &self.layers()[conv_at].name);
        Ok(self.pools_after(g, h, conv_at, last))
    }

    /// Layer `last`'s whole output (a convolution, or pools after one) with the last
    /// convolution's ReLU left out: the pre-activations, `[N, C, H, W]`.
    pub fn forward_before_relu(&self, g: &mut Graph, x: Var, last: usize) -> Result<Var> {
        self.check_span(g, x, Span::to(last))?;
        let (conv_at, conv) = self.last_convolution(last)?;
        let h = self.up_to(g, x, conv_at);
        let start = g.len();
        let h = g.frozen_conv2d(h, conv, None);
        g.name_from(start, &self.layers()[conv_at].name);
        Ok(self.pools_after(g, h, conv_at, last))
    }

    /// The last convolution at or before `last` (only pools may follow it up to `last`).
    fn last_convolution(
        &self,
        last: usize,
    ) -> Result<(usize, &std::sync::Arc<tensor::PackedConv>)> {
        let layers = self.layers();
        let conv_at = (0..=last)
            .rev()
            .find(|&i| matches!(layers[i].module, Module::Conv(_)))
            .ok_or_else(|| {
                Error::Invalid(format!("no convolution up to '{}'", layers[last].name))
            })?;
        if layers[conv_at + 1..=last]
            .iter()
            .any(|l| !matches!(l.module, Module::MaxPool2x2))
        {
            return Err(Error::Invalid(format!(
                "'{}' is not a convolution or pool layer",
                layers[last].name
            )));
        }
        let Module::Conv(conv) = &layers[conv_at].module else {
            unreachable!("found as a convolution above")
        };
        Ok((conv_at, conv))
    }

    /// The layers before layer `index` (the input itself for 0), already checked.
    fn up_to(&self, g: &mut Graph, x: Var, index: usize) -> Var {
        if index == 0 {
            x
        } else {
            self.record_checked(g, x, Span::to(index - 1))
        }
    }

    /// The pools from `conv_at + 1` to `last`.
    fn pools_after(&self, g: &mut Graph, mut h: Var, conv_at: usize, last: usize) -> Var {
        for pool in conv_at + 1..=last {
            let start = g.len();
            h = g.max_pool2x2(h);
            g.name_from(start, &self.layers()[pool].name);
        }
        h
    }

    /// Output shape of layer `index` for one `h x w` image: `[C, H, W]`, or `[F]` once
    /// flattened or pooled globally.
    pub fn output_shape(&self, index: usize, h: usize, w: usize) -> Result<Vec<usize>> {
        self.shapes_from(0, index, vec![3, h, w])
            .map(|mut s| s.pop().expect("at least one layer"))
    }

    /// The shape after each of layers `from..=to` for one image whose shape at layer `from`'s
    /// input is `input`.
    fn shapes_from(&self, from: usize, to: usize, input: Vec<usize>) -> Result<Vec<Vec<usize>>> {
        let layers = self.layers();
        if to >= layers.len() || from > to {
            return Err(Error::Invalid(format!(
                "no layers {from}..={to} (the model has {})",
                layers.len()
            )));
        }
        // shapes[0] is the input, shapes[k] the output of layer from + k - 1.
        let mut shapes: Vec<Vec<usize>> = Vec::with_capacity(to + 2 - from);
        shapes.push(input.clone());
        let mut shape = input;
        for (i, layer) in layers.iter().enumerate().take(to + 1).skip(from) {
            shape = match layer.module.output_shape(&layer.name, &shape) {
                Ok(s) => s,
                Err(e) => {
                    // The input of the layer before (a flatten, when the size is the problem).
                    let before = i.checked_sub(from + 1).map(|k| shapes[k].as_slice());
                    return Err(self.explain_input_size(i, before).unwrap_or(e));
                }
            };
            shapes.push(shape.clone());
        }
        shapes.remove(0);
        Ok(shapes)
    }

    /// When a dense layer right after a flatten gets the wrong number of features, the cause is
    /// the image size: say which size the classifier needs. `flatten_input` is the flatten's
    /// input shape.
    fn explain_input_size(
        &self,
        dense_at: usize,
        flatten_input: Option<&[usize]>,
    ) -> Option<Error> {
        let layers = self.layers();
        let Module::Dense { weight, .. } = &layers[dense_at].module else {
            return None;
        };
        let flatten_at = dense_at.checked_sub(1)?;
        let &[c, h, w] = flatten_input? else {
            return None;
        };
        if !matches!(layers[flatten_at].module, Module::Flatten(_)) {
            return None;
        }
        let features = weight.shape()[1];
        let side = ((features / c.max(1)) as f64).sqrt().round() as usize;
        if side * side * c != features {
            return None;
        }
        let pools = layers[..flatten_at]
            .iter()
            .filter(|l| matches!(l.module, Module::MaxPool2x2))
            .count();
        Some(Error::Invalid(format!(
            "the classifier needs a {s}x{s} input ({} must be {side}x{side}, got {h}x{w})",
            layers[flatten_at - 1].name,
            s = side << pools,
        )))
    }

    /// Checks that `x` fits the span before anything is recorded.
    fn check_span(&self, g: &Graph, x: Var, span: Span) -> Result<()> {
        let shape = g.value(x).shape();
        if span.from == 0 {
            match shape {
                [n, 3, _, _] if *n > 0 => {}
                _ => {
                    return Err(Error::Invalid(format!(
                        "the model takes [N, 3, H, W] images, got shape {shape:?}"
                    )))
                }
            }
        }
        if shape.first().is_none_or(|&n| n == 0) {
            return Err(Error::Invalid(format!("empty batch: shape {shape:?}")));
        }
        self.shapes_from(span.from, span.to, shape[1..].to_vec())
            .map(|_| ())
    }

    /// Checks the head against the body: finds an input size it accepts (see
    /// [`Vgg16::input_size`]) and runs the shape rules through every layer.
    pub(crate) fn check_head(&self) -> Result<()> {
        if self.layers().len() > BODY_LEN {
            let s = self.input_size();
            self.output_shape(self.layers().len() - 1, s, s)?;
        }
        Ok(())
    }

    /// The image side the model expects: the file's `input_size` when it says, else what a
    /// flatten + dense head was trained on (224 for the ImageNet classifier), else 224 (any
    /// size works).
    pub fn input_size(&self) -> usize {
        if let Some(size) = self.trained_size {
            return size;
        }
        let layers = self.layers();
        for i in BODY_LEN..layers.len().saturating_sub(1) {
            if let (Module::Flatten(_), Module::Dense { weight, .. }) =
                (&layers[i].module, &layers[i + 1].module)
            {
                let channels = self
                    .output_shape(BODY_LEN - 1, 224, 224)
                    .map_or(0, |s| s[0]);
                let side = ((weight.shape()[1] / channels.max(1)) as f64)
                    .sqrt()
                    .round() as usize;
                return (side << 5).max(32);
            }
        }
        224
    }
}
