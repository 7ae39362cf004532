//! What is being explained: one class per image, and the number ("score") of that class that
//! every method differentiates or watches.
//!
//! The score of a batch is the sum over its rows of `score[row, class_of_row]`. Rows do not
//! interact in the network, so one backward of that sum gives every row its own gradient.

use tensor::{Graph, Tensor, Var};
use vgg16::{Activation, Error, Result, Vgg16};

/// Which number of the target class to explain.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Score {
    /// The pre-softmax score: the Grad-CAM paper, pytorch-grad-cam's and captum's default.
    #[default]
    Logit,
    /// The softmax (or, for a sigmoid head, sigmoid) probability: Deep Learning with Python.
    Probability,
}

/// The classes to explain: `given` (one per image, checked against the model), or each image's
/// top-1 class by its `logits` `[N, classes]`.
pub fn resolve_classes(logits: &Tensor, given: Option<&[usize]>) -> Result<Vec<usize>> {
    let [n, num_classes] = logits.dims2();
    match given {
        Some(c) => {
            if c.len() != n {
                return Err(Error::Invalid(format!(
                    "{} classes given for {n} images",
                    c.len()
                )));
            }
            if let Some(&bad) = c.iter().find(|&&c| c >= num_classes) {
                return Err(Error::Invalid(format!(
                    "class {bad} is outside 0..{}",
                    num_classes - 1
                )));
            }
            Ok(c.to_vec())
        }
        None => Ok((0..n)
            .map(|i| argmax(&logits.data()[i * num_classes..(i + 1) * num_classes]))
            .collect()),
    }
}

/// The index of the largest value (the first one on ties).
pub fn argmax(row: &[f32]) -> usize {
    (0..row.len()).fold(0, |best, j| if row[j] > row[best] { j } else { best })
}

/// Records `sum over rows r of score(logits)[r, classes[r]]` on the tape: the one number whose
/// backward gives every row the gradient of its own class score.
pub fn record_score(
    g: &mut Graph,
    model: &Vgg16,
    logits: Var,
    classes: &[usize],
    score: Score,
) -> Var {
    let start = g.len();
    let [rows, num_classes] = g.value(logits).dims2();
    debug_assert_eq!(rows, classes.len());
    let mut mask = vec![0.0; rows * num_classes];
    for (r, &c) in classes.iter().enumerate() {
        mask[r * num_classes + c] = 1.0;
    }
    let mask = g.constant(Tensor::new(&[rows, num_classes], mask));
    let scores = match score {
        Score::Logit => logits,
        Score::Probability => match model.output_activation() {
            Activation::Sigmoid => g.sigmoid(logits),
            _ => g.softmax(logits),
        },
    };
    let picked = g.mul(scores, mask);
    let total = g.sum(picked);
    g.name_from(start, "score");
    total
}

/// `score(logits)[r, classes[r]]` for every row, without a tape.
pub fn score_values(model: &Vgg16, logits: &Tensor, classes: &[usize], score: Score) -> Vec<f32> {
    let values = match score {
        Score::Logit => logits.clone(),
        Score::Probability => model.probabilities(logits),
    };
    let num_classes = logits.dims2()[1];
    classes
        .iter()
        .enumerate()
        .map(|(r, &c)| values.data()[r * num_classes + c])
        .collect()
}
