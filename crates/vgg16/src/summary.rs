//! A summary of the network in the format of Keras's `model.summary()`.

use crate::error::Result;
use crate::head::Head;
use crate::model::Vgg16;

impl Vgg16 {
    /// Layers, output shapes (channels-last, as Keras prints them) and parameter counts for an
    /// `h x w` input.
    pub fn summary(&self, h: usize, w: usize) -> Result<String> {
        let line = |c: char| c.to_string().repeat(65);
        let row = |a: &str, b: &str, c: &str| format!(" {a:<28}{b:<26}{c}\n");
        let name = if !self.has_classifier() {
            "vgg16 (no top)"
        } else if Head::of_layers(self.head()) == Head::imagenet() {
            "vgg16"
        } else {
            "vgg16 (custom head)"
        };
        let mut out = format!("Model: \"{name}\"\n{}\n", line('_'));
        out += &row("Layer (type)", "Output Shape", "Param #");
        out += &format!("{}\n", line('='));
        out += &row(
            "input_1 (InputLayer)",
            &format!("[(None, {h}, {w}, 3)]"),
            "0",
        );
        for (i, layer) in self.layers().iter().enumerate() {
            let shape = match self.output_shape(i, h, w)?[..] {
                [c, h, w] => format!("(None, {h}, {w}, {c})"),
                [f] => format!("(None, {f})"),
                ref other => format!("{other:?}"),
            };
            let kind = format!("{} ({})", layer.name, layer.module.keras_type());
            out += &row(&kind, &shape, &layer.module.params().to_string());
        }
        let fixed: usize = self
            .layers()
            .iter()
            .map(|l| l.module.non_trainable_params())
            .sum();
        let total = self.total_params();
        out += &format!("{}\n", line('='));
        out += &format!(
            "Total params: {}\nTrainable params: {}\n",
            thousands(total),
            thousands(total - fixed)
        );
        out += &format!(
            "Non-trainable params: {}\n{}\n",
            thousands(fixed),
            line('_')
        );
        Ok(out)
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
