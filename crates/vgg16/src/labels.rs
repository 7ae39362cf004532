//! The 1000 ImageNet classes in Keras's index order (built into the binary), and top-k decoding
//! like Keras's `decode_predictions`.

const CLASSES: &str = include_str!("imagenet_classes.txt");

/// `(wordnet id, label)` of class `index` (0..1000).
pub fn class(index: usize) -> Option<(&'static str, &'static str)> {
    CLASSES.lines().nth(index).and_then(|l| l.split_once('\t'))
}

/// The label of class `index`, or `class_<index>` for models with other classes.
pub fn label(index: usize) -> String {
    class(index).map_or_else(|| format!("class_{index}"), |(_, l)| l.to_string())
}

/// One ranked prediction.
#[derive(Clone, Debug, PartialEq)]
pub struct Prediction {
    pub class: usize,
    pub label: String,
    pub probability: f32,
    pub logit: f32,
}

/// The `k` most probable classes, most probable first (ties: lower index first), named by
/// `name` (e.g. [`label`], or `Vgg16::class_label` for the model's own classes).
pub fn top_k(
    logits: &[f32],
    probabilities: &[f32],
    k: usize,
    name: impl Fn(usize) -> String,
) -> Vec<Prediction> {
    let mut order: Vec<usize> = (0..probabilities.len()).collect();
    order.sort_by(|&a, &b| {
        probabilities[b]
            .total_cmp(&probabilities[a])
            .then(a.cmp(&b))
    });
    order
        .into_iter()
        .take(k)
        .map(|i| Prediction {
            class: i,
            label: name(i),
            probability: probabilities[i],
            logit: logits[i],
        })
        .collect()
}
