//! Per-channel bias: `y[n, c, i] = x[n, c, i] + b[c]` (`i` runs over the spatial positions).
//!
//! Backward: dy/dx = 1, so `dx = dy`. Each `b[c]` is added to every `y[n, c, i]`, so its
//! gradient collects all of them: `db[c] = sum over n, i of dy[n, c, i]`.

use crate::tensor::Tensor;

pub fn forward(x: &Tensor, b: &Tensor) -> Tensor {
    let (n, c) = (x.shape()[0], x.shape()[1]);
    assert_eq!(
        b.shape(),
        &[c],
        "bias shape {:?} for {c} channels",
        b.shape()
    );
    let plane = x.len() / (n * c).max(1);
    let mut y = x.data().to_vec();
    for (k, chunk) in y.chunks_mut(plane.max(1)).enumerate() {
        let bias = b.data()[k % c];
        chunk.iter_mut().for_each(|v| *v += bias);
    }
    Tensor::new(x.shape(), y)
}

pub fn backward(dy: &Tensor) -> (Tensor, Tensor) {
    let (n, c) = (dy.shape()[0], dy.shape()[1]);
    let plane = dy.len() / (n * c).max(1);
    let mut db = vec![0.0f64; c];
    for (k, chunk) in dy.data().chunks(plane.max(1)).enumerate() {
        db[k % c] += chunk.iter().map(|&v| v as f64).sum::<f64>();
    }
    let db = Tensor::new(&[c], db.into_iter().map(|v| v as f32).collect());
    (dy.clone(), db)
}
