//! Adam (Kingma & Ba, 2015): gradient descent with a per-parameter step size.
//!
//! For each parameter it keeps running averages of the gradient (`m`, momentum) and of its
//! square (`v`), corrects both for starting at zero, and steps by `lr * m / (sqrt(v) + eps)`:
//! about `lr` per step wherever the gradient is consistent, whatever its scale. That matters
//! here: a deep filter's gradient is orders of magnitude smaller than a shallow one's, and the
//! Fourier scaling makes the spectrum's gradients differ by frequency; Adam needs no step size
//! per layer (the book's recipe normalises the gradient by hand instead).

use tensor::Tensor;

/// PyTorch's defaults: betas (0.9, 0.999), eps 1e-8.
pub struct Adam {
    pub lr: f32,
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    m: Vec<f32>,
    v: Vec<f32>,
    t: i32,
}

impl Adam {
    pub fn new(lr: f32, len: usize) -> Adam {
        Adam {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            m: vec![0.0; len],
            v: vec![0.0; len],
            t: 0,
        }
    }

    /// One step downhill: `params -= lr * m_hat / (sqrt(v_hat) + eps)`, with `grad` =
    /// d loss / d params (to climb an objective, pass the gradient of its negative).
    pub fn step(&mut self, params: &mut Tensor, grad: &Tensor) {
        assert_eq!(params.len(), self.m.len(), "Adam built for another size");
        self.t += 1;
        let correct1 = 1.0 - self.beta1.powi(self.t);
        let correct2 = 1.0 - self.beta2.powi(self.t);
        let (b1, b2) = (self.beta1, self.beta2);
        for (((p, &g), m), v) in params
            .data_mut()
            .iter_mut()
            .zip(grad.data())
            .zip(&mut self.m)
            .zip(&mut self.v)
        {
            *m = b1 * *m + (1.0 - b1) * g;
            *v = b2 * *v + (1.0 - b2) * g * g;
            let m_hat = *m / correct1;
            let v_hat = *v / correct2;
            *p -= self.lr * m_hat / (v_hat.sqrt() + self.eps);
        }
    }
}
