//! Convolution as one matrix product over unrolled patches ("im2col"), for layers with few input
//! channels: VGG16's first layer, with its 3.
//!
//! ## Why
//! The direct kernel's register tile sums over input channels x taps before it writes its
//! `CO_BLOCK x TILE` results out; with 3 input channels that is only 27 multiply-adds per
//! accumulator, and writing the results (cropping the padded-flat layout, value by value) costs
//! as much as the arithmetic. Winograd does not pay off either: its transforms are per input
//! channel and there are too few output products to share them.
//!
//! ## How
//! Every output position's receptive field (`cin x k x k` values) becomes one column of a matrix
//! `X` (`cin k² x positions`, the positions in the output's own row-major order):
//!
//! ```text
//!     out[co][q] = bias[co] + Σ_r W[co][r] · X[r][q],      r = (ci, ky, kx)
//! ```
//!
//! one matrix product on the same register tile as the other kernels, with the weights packed
//! exactly as for the direct kernel (`[cout / CO_BLOCK][cin][k * k][CO_BLOCK]`, that is, rows
//! `r` in the same order). The columns of a tile are consecutive output positions, so its
//! results are stored as whole vectors straight into the output.
//!
//! A task unrolls the patches of one block of positions of one image into a per-thread buffer
//! (`cin k²` rows of `POSITIONS_PER_TASK`: 41 KiB for the first layer with AVX2, 81 KiB with
//! AVX-512; it stays in L2) and
//! runs every output channel block over it.

use rayon::prelude::*;

use super::conv_direct::{tile, Accumulators, PackedFilters, CO_BLOCK, Q_VECS, TILE};
use super::simd::{store, SendPtr, Vf, LANES};
use crate::buffer;

/// Output positions per task: 16 register tiles.
const POSITIONS_PER_TASK: usize = 16 * TILE;

thread_local! {
    /// Per-thread buffer for the unrolled patches, reused by every task on the thread.
    static UNROLLED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Correlates `x` (`[n, cin, h, w]`) with packed filters, stride 1, zero padding `pad`; adds
/// `bias` and applies ReLU when asked. Returns `[n, cout, ho, wo]`.
#[allow(clippy::too_many_arguments)]
pub fn conv2d(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    filters: &PackedFilters,
    bias: Option<&[f32]>,
    pad: usize,
    relu: bool,
) -> Vec<f32> {
    let (cin, cout, k) = (filters.cin, filters.cout, filters.k);
    assert_eq!(x.len(), n * cin * h * w);
    assert!(
        h + 2 * pad >= k && w + 2 * pad >= k,
        "a {k}x{k} kernel does not fit a {h}x{w} input padded by {pad}"
    );
    let (ho, wo) = (h + 2 * pad - k + 1, w + 2 * pad - k + 1);
    let positions = ho * wo;
    let rows = cin * k * k;
    let blocks = cout.div_ceil(CO_BLOCK);
    let chunks = positions.div_ceil(POSITIONS_PER_TASK);
    // Every element is written below (each output by exactly one task), so the buffer is not
    // zeroed first.
    let len = n * cout * positions;
    let mut out: Vec<f32> = buffer::take(len);
    let out_ptr = SendPtr(out.as_mut_ptr());
    let zero = Vf::splat(0.0);

    (0..n * chunks).into_par_iter().for_each(|task| {
        let out_ptr = { out_ptr }.0;
        let (image, chunk) = (task / chunks, task % chunks);
        let q_start = chunk * POSITIONS_PER_TASK;
        let count = POSITIONS_PER_TASK.min(positions - q_start);
        let x_image = &x[image * cin * h * w..][..cin * h * w];
        UNROLLED.with(|unrolled| {
            let unrolled = &mut *unrolled.borrow_mut();
            unrolled.resize(rows * POSITIONS_PER_TASK, 0.0);
            unroll(x_image, [h, w], k, pad, wo, q_start, count, unrolled);
            for block in 0..blocks {
                let co0 = block * CO_BLOCK;
                let live = CO_BLOCK.min(cout - co0);
                let weights = &filters.block(block)[..rows * CO_BLOCK];
                for t0 in (0..count).step_by(TILE) {
                    let mut acc: Accumulators = [[zero; Q_VECS]; CO_BLOCK];
                    for (r, row) in acc.iter_mut().enumerate().take(live) {
                        *row = [Vf::splat(bias.map_or(0.0, |b| b[co0 + r])); Q_VECS];
                    }
                    // SAFETY: `unrolled` holds `rows` rows of POSITIONS_PER_TASK floats and
                    // t0 + TILE <= POSITIONS_PER_TASK; `weights` holds `rows * CO_BLOCK` floats.
                    let acc = unsafe {
                        tile(
                            unrolled.as_ptr().add(t0),
                            POSITIONS_PER_TASK,
                            rows,
                            weights.as_ptr(),
                            &[0],
                            acc,
                        )
                    };
                    let valid = TILE.min(count - t0);
                    for (r, row) in acc.iter().enumerate().take(live) {
                        let at = (image * cout + co0 + r) * positions + q_start + t0;
                        for (v, vec) in row.iter().enumerate() {
                            let vec = if relu { vec.max(zero) } else { *vec };
                            let first = v * LANES;
                            if first + LANES <= valid {
                                // SAFETY: positions q_start + t0 + first.. + LANES are inside
                                // this image's channel co0 + r, and positions q_start..q_start +
                                // count of that channel belong to this task alone.
                                unsafe { store(out_ptr.add(at + first), vec) };
                            } else {
                                for (i, &value) in vec
                                    .as_array()
                                    .iter()
                                    .enumerate()
                                    .take(valid.saturating_sub(first))
                                {
                                    // SAFETY: as above, for the positions before `valid`.
                                    unsafe { *out_ptr.add(at + first + i) = value };
                                }
                            }
                        }
                    }
                }
            }
        });
    });
    // SAFETY: every one of the `len` outputs was written above.
    unsafe { out.set_len(len) };
    out
}

/// Fills `unrolled[r][j]` (rows of POSITIONS_PER_TASK) with the input value that weight row
/// `r = (ci, ky, kx)` meets at output position `q_start + j`: `x[ci][oy + ky - pad][ox + kx -
/// pad]`, zero outside the image and for `j >= count`. Row by row of the output, so each piece
/// is a copy of part of an input row.
#[allow(clippy::too_many_arguments)]
fn unroll(
    x_image: &[f32],
    [h, w]: [usize; 2],
    k: usize,
    pad: usize,
    wo: usize,
    q_start: usize,
    count: usize,
    unrolled: &mut [f32],
) {
    for (r, dst) in unrolled.chunks_exact_mut(POSITIONS_PER_TASK).enumerate() {
        let (ci, ky, kx) = (r / (k * k), r / k % k, r % k);
        let channel = &x_image[ci * h * w..][..h * w];
        let (mut oy, mut ox) = (q_start / wo, q_start % wo);
        let mut j = 0;
        while j < count {
            // Positions j..j + run share output row oy: they read input row iy, columns
            // ox + kx - pad.. (those outside the image are zero).
            let run = (wo - ox).min(count - j);
            let piece = &mut dst[j..j + run];
            match (oy + ky).checked_sub(pad).filter(|&iy| iy < h) {
                None => piece.fill(0.0),
                Some(iy) => {
                    let row = &channel[iy * w..][..w];
                    // Input column of piece[t]: ox + t + kx - pad, inside [0, w) for t in
                    // [first, end).
                    let shift = ox + kx;
                    let first = pad.saturating_sub(shift).min(run);
                    let end = (w + pad).saturating_sub(shift).clamp(first, run);
                    piece[..first].fill(0.0);
                    // (With padding >= 2 the range can be empty, and then its bounds may fall
                    // outside the row: copy only when there is something to copy.)
                    if first < end {
                        piece[first..end]
                            .copy_from_slice(&row[shift + first - pad..shift + end - pad]);
                    }
                    piece[end..].fill(0.0);
                }
            }
            j += run;
            (oy, ox) = (oy + 1, 0);
        }
        dst[count..].fill(0.0);
    }
}
