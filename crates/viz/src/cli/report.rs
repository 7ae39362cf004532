//! Printing predictions, the same way in every command that shows them.

use serde_json::{json, Value};
use tensor::Tensor;
use vgg16::labels::{self, Prediction};
use vgg16::Vgg16;

/// The `k` most probable classes of the first image, named by the model (ImageNet's names
/// only for a 1000-class head).
pub fn top_k(model: &Vgg16, logits: &Tensor, probabilities: &Tensor, k: usize) -> Vec<Prediction> {
    labels::top_k(logits.data(), probabilities.data(), k, |c| {
        model.class_label(c)
    })
}

/// The predictions as JSON objects: class, label, probability, logit.
pub fn predictions_json(preds: &[Prediction]) -> Vec<Value> {
    preds
        .iter()
        .map(|p| json!({"class": p.class, "label": p.label, "probability": p.probability, "logit": p.logit}))
        .collect()
}

/// One line per prediction, ranked; with the logit when `with_logit`.
pub fn print_predictions(preds: &[Prediction], with_logit: bool) {
    for (rank, p) in preds.iter().enumerate() {
        let logit = if with_logit {
            format!("  logit {:.3}", p.logit)
        } else {
            String::new()
        };
        println!(
            "{:>2}. {:<24} class {:>4}  probability {:.4}{logit}",
            rank + 1,
            p.label,
            p.class,
            p.probability,
        );
    }
}
