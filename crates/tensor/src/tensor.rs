//! The [`Tensor`] type: a shape and a buffer of `f32`.
//!
//! Tensors are immutable values that are cheap to clone (the buffer is reference counted), so the
//! tape can keep every intermediate value without copying it. Layout is always row-major
//! ("C order"): for an image batch `[N, C, H, W]` the last index moves fastest.

use std::fmt;
use std::sync::Arc;

use crate::buffer::{self, Buffer};

/// Where a tensor's numbers live.
#[derive(Clone)]
enum Storage {
    /// A buffer this process computed or copied (its memory returns to the buffer pool when
    /// the last clone is dropped: see [`crate::buffer`]).
    Owned(Arc<Buffer>),
    /// A buffer owned by someone else, for example a memory-mapped weights file. Read-only.
    Shared(Arc<dyn AsRef<[f32]> + Send + Sync>),
}

/// A row-major, immutable, cheaply clonable `f32` tensor.
#[derive(Clone)]
pub struct Tensor {
    shape: Vec<usize>,
    storage: Storage,
}

impl Tensor {
    /// A tensor of the given shape holding `data` (row-major). Panics if the sizes disagree,
    /// which is always a programming error inside this workspace.
    pub fn new(shape: &[usize], data: Vec<f32>) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            data.len(),
            "shape {shape:?} does not match {} values",
            data.len()
        );
        Tensor {
            shape: shape.to_vec(),
            storage: Storage::Owned(Arc::new(Buffer::new(data))),
        }
    }

    /// A tensor viewing a buffer owned elsewhere (for example a memory-mapped file) without copying.
    pub fn from_shared(shape: &[usize], data: Arc<dyn AsRef<[f32]> + Send + Sync>) -> Tensor {
        assert_eq!(shape.iter().product::<usize>(), (*data).as_ref().len());
        Tensor {
            shape: shape.to_vec(),
            storage: Storage::Shared(data),
        }
    }

    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::new(shape, buffer::filled(shape.iter().product(), value))
    }

    /// A scalar (a tensor of shape `[]`, holding one value).
    pub fn scalar(value: f32) -> Tensor {
        Tensor::new(&[], vec![value])
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The values, row-major.
    pub fn data(&self) -> &[f32] {
        match &self.storage {
            Storage::Owned(v) => v.as_slice(),
            Storage::Shared(s) => (**s).as_ref(),
        }
    }

    /// The values as a mutable slice; copies the buffer first if it is shared.
    pub fn data_mut(&mut self) -> &mut [f32] {
        if let Storage::Shared(s) = &self.storage {
            let mut copy = buffer::take(self.len());
            copy.extend_from_slice((**s).as_ref());
            self.storage = Storage::Owned(Arc::new(Buffer::new(copy)));
        }
        match &mut self.storage {
            Storage::Owned(v) => Arc::make_mut(v).as_mut_slice(),
            Storage::Shared(_) => unreachable!("converted to owned above"),
        }
    }

    /// The values as an owned vector (copies unless this is the only owner).
    pub fn into_vec(self) -> Vec<f32> {
        match self.storage {
            Storage::Owned(v) => Arc::try_unwrap(v)
                .unwrap_or_else(|v| (*v).clone())
                .into_vec(),
            Storage::Shared(s) => (*s).as_ref().to_vec(),
        }
    }

    /// The single value of a one-element tensor.
    pub fn item(&self) -> f32 {
        assert_eq!(
            self.len(),
            1,
            "item() of a tensor with shape {:?}",
            self.shape
        );
        self.data()[0]
    }

    /// The same values with another shape of the same size (no copy).
    pub fn reshape(&self, shape: &[usize]) -> Tensor {
        assert_eq!(
            shape.iter().product::<usize>(),
            self.len(),
            "cannot reshape {:?} to {shape:?}",
            self.shape
        );
        Tensor {
            shape: shape.to_vec(),
            storage: self.storage.clone(),
        }
    }

    /// A new tensor of the same shape with `f` applied to every value.
    pub fn map(&self, f: impl Fn(f32) -> f32) -> Tensor {
        let mut out = buffer::take(self.len());
        out.extend(self.data().iter().map(|&v| f(v)));
        Tensor::new(&self.shape, out)
    }

    /// `[N, C, H, W]` of a 4-D tensor.
    pub fn dims4(&self) -> [usize; 4] {
        match self.shape[..] {
            [n, c, h, w] => [n, c, h, w],
            _ => panic!("expected a 4-D [N, C, H, W] tensor, got {:?}", self.shape),
        }
    }

    /// `[rows, cols]` of a 2-D tensor.
    pub fn dims2(&self) -> [usize; 2] {
        match self.shape[..] {
            [r, c] => [r, c],
            _ => panic!("expected a 2-D tensor, got {:?}", self.shape),
        }
    }

    /// True when every value is finite (no NaN, no infinity).
    pub fn all_finite(&self) -> bool {
        self.data().iter().all(|v| v.is_finite())
    }

    /// Largest absolute difference to another tensor of the same shape.
    pub fn max_abs_diff(&self, other: &Tensor) -> f32 {
        assert_eq!(self.shape, other.shape, "shapes differ");
        self.data()
            .iter()
            .zip(other.data())
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }
}

impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.data();
        let shown: Vec<f32> = d.iter().take(8).copied().collect();
        write!(
            f,
            "Tensor{:?} {:?}{}",
            self.shape,
            shown,
            if d.len() > 8 { "..." } else { "" }
        )
    }
}
