//! General matrix products through `matrixmultiply` (which has AVX-512 kernels), split over
//! threads with rayon by blocks of output columns.

use rayon::prelude::*;

use super::simd::SendPtr;

/// A matrix operand: a pointer plus row and column strides (in elements), so transposes and
/// sub-matrices are free.
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    pub data: &'a [f32],
    pub offset: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major matrix with `cols` columns.
    pub fn row_major(data: &'a [f32], cols: usize) -> Self {
        MatRef {
            data,
            offset: 0,
            row_stride: cols,
            col_stride: 1,
        }
    }

    /// The transpose of a row-major matrix with `cols` columns.
    pub fn transposed(data: &'a [f32], cols: usize) -> Self {
        MatRef {
            data,
            offset: 0,
            row_stride: 1,
            col_stride: cols,
        }
    }

    fn check(&self, rows: usize, cols: usize) {
        if rows > 0 && cols > 0 {
            let last = self.offset + (rows - 1) * self.row_stride + (cols - 1) * self.col_stride;
            assert!(last < self.data.len(), "matrix operand out of bounds");
        }
    }
}

/// `c = a @ b + beta * c`, where `a` is `m x k`, `b` is `k x n` and `c` is `m x n` with row
/// stride `c_row_stride` and column stride `c_col_stride`.
#[allow(clippy::too_many_arguments)]
pub fn gemm(
    m: usize,
    k: usize,
    n: usize,
    a: MatRef,
    b: MatRef,
    beta: f32,
    c: &mut [f32],
    c_offset: usize,
    c_row_stride: usize,
    c_col_stride: usize,
) {
    a.check(m, k);
    b.check(k, n);
    if m > 0 && n > 0 {
        assert!(c_offset + (m - 1) * c_row_stride + (n - 1) * c_col_stride < c.len());
    }
    // Fixed block size (from n only): results do not depend on the number of threads.
    let block = n.div_ceil(16).next_multiple_of(16).max(64);
    let blocks = n.div_ceil(block);
    let c_ptr = SendPtr(c.as_mut_ptr());
    (0..blocks).into_par_iter().for_each(|j| {
        let col0 = j * block;
        let cols = block.min(n - col0);
        // SAFETY: the operands were bounds-checked above; column block `j` writes only the
        // columns col0..col0 + cols of `c`, which no other block touches.
        unsafe {
            matrixmultiply::sgemm(
                m,
                k,
                cols,
                1.0,
                a.data.as_ptr().add(a.offset),
                a.row_stride as isize,
                a.col_stride as isize,
                b.data.as_ptr().add(b.offset + col0 * b.col_stride),
                b.row_stride as isize,
                b.col_stride as isize,
                beta,
                { c_ptr }.0.add(c_offset + col0 * c_col_stride),
                c_row_stride as isize,
                c_col_stride as isize,
            );
        }
    });
}
