//! Many passes, bounded memory: the perturbation methods (Score-CAM, Ablation-CAM, occlusion)
//! and the path and noise methods (integrated gradients, SmoothGrad) all run the network on
//! many variants ("rows") of the same input. The rows are built one batch at a time by a
//! closure, so at most `batch` of them exist at once, and each batch is one forward (and, for
//! gradients, one backward) through the engine, which parallelises inside every layer.
//!
//! Results do not depend on `batch`: rows never interact, and each is built from its index
//! alone.

use rayon::prelude::*;
use tensor::{Graph, ReluRule, Tensor};
use vgg16::{Error, Result, Vgg16};

use crate::target::{record_score, score_values, Score};

/// What a batched run needs to know about its rows.
pub struct Rows<'a> {
    /// How many rows.
    pub count: usize,
    /// The shape of one row: the input of the first layer run, without the batch axis.
    pub shape: &'a [usize],
    /// Rows per pass (at least 1).
    pub batch: usize,
    /// The class whose score is wanted, per row.
    pub class_of_row: &'a (dyn Fn(usize) -> usize + Sync),
}

impl Rows<'_> {
    fn len_of_row(&self) -> usize {
        self.shape.iter().product()
    }

    /// Builds rows `start..start + n` with `make_row(index, values)`, in parallel.
    fn build(
        &self,
        start: usize,
        n: usize,
        make_row: &(dyn Fn(usize, &mut [f32]) + Sync),
    ) -> Tensor {
        let len = self.len_of_row();
        let mut data = vec![0.0f32; n * len];
        data.par_chunks_mut(len)
            .enumerate()
            .for_each(|(i, row)| make_row(start + i, row));
        let mut shape = vec![n];
        shape.extend_from_slice(self.shape);
        Tensor::new(&shape, data)
    }

    fn check(&self) -> Result<()> {
        if self.batch == 0 {
            return Err(Error::Invalid("--batch must be at least 1".into()));
        }
        Ok(())
    }
}

/// The score of every row, running layers `from..` (the row is layer `from`'s input; 0: a
/// preprocessed image). Forward only: no tape is recorded.
pub fn scores_of_rows(
    model: &Vgg16,
    from: usize,
    rows: &Rows,
    make_row: &(dyn Fn(usize, &mut [f32]) + Sync),
    score: Score,
) -> Result<Vec<f32>> {
    rows.check()?;
    let mut scores = Vec::with_capacity(rows.count);
    for start in (0..rows.count).step_by(rows.batch) {
        let n = rows.batch.min(rows.count - start);
        let mut g = Graph::no_grad();
        let x = g.constant(rows.build(start, n, make_row));
        let logits = model.forward_logits(&mut g, x, from)?;
        let classes: Vec<usize> = (start..start + n).map(rows.class_of_row).collect();
        scores.extend(score_values(model, g.value(logits), &classes, score));
    }
    Ok(scores)
}

/// For every row (a preprocessed image), the gradient of its class score with respect to the
/// row, handed to `consume(index, gradient)` in order. ReLUs go backward by `relu`.
pub fn gradients_of_rows(
    model: &Vgg16,
    rows: &Rows,
    make_row: &(dyn Fn(usize, &mut [f32]) + Sync),
    relu: ReluRule,
    score: Score,
    consume: &mut dyn FnMut(usize, &[f32]),
) -> Result<()> {
    rows.check()?;
    let len = rows.len_of_row();
    for start in (0..rows.count).step_by(rows.batch) {
        let n = rows.batch.min(rows.count - start);
        let mut g = Graph::new();
        let x = g.input(rows.build(start, n, make_row));
        g.name_from(0, "input");
        let logits = model.forward_logits_with(&mut g, x, 0, relu)?;
        let classes: Vec<usize> = (start..start + n).map(rows.class_of_row).collect();
        let total = record_score(&mut g, model, logits, &classes, score);
        let grads = g.backward(total);
        for (i, gradient) in grads.wrt(x).data().chunks(len).enumerate() {
            consume(start + i, gradient);
        }
    }
    Ok(())
}
