//! Direct convolution (stride 1) with SIMD register tiles, for the forward pass and, through the
//! same kernel, for the gradient with respect to the input.
//!
//! ## The padded-flat trick
//! Each input channel is copied once into a zero-padded buffer of `hp = h + 2 pad` rows of
//! `wp = w + 2 pad` columns, stored flat. In that buffer, output position `(oy, ox)` is computed
//! at flat index `q = oy * wp + ox` as
//!
//! ```text
//!     out[q] = sum over ci, ky, kx of  w[co, ci, ky, kx] * padded[ci][q + ky * wp + kx]
//! ```
//!
//! i.e. a 1-D correlation with `k * k` fixed offsets. Consecutive `q` are consecutive in memory
//! across row ends, so `LANES` outputs are one SIMD load per tap whatever the image width: a 14x14
//! layer wastes only its 2 padding columns per row, not a part of every vector. The `k - 1` columns
//! of `q` that fall in the padding are computed and thrown away when the result is cropped.
//!
//! ## The register tile
//! One tile computes `CO_BLOCK` output channels x `Q_VECS * LANES` positions in
//! `CO_BLOCK * Q_VECS` SIMD accumulators (24 of AVX-512's 32 registers, 12 of AVX2's 16). Per
//! input channel and tap it loads `Q_VECS` input vectors and broadcasts `CO_BLOCK` weights, then
//! does `CO_BLOCK * Q_VECS` fused multiply-adds: the loads stay well under the FMA work. The
//! weights are packed (once per layer, on first use) so that the `CO_BLOCK` weights of one tap
//! sit side by side.
//!
//! ## Cache blocking
//! A parallel task owns up to `MAX_TILES_PER_TASK` tiles of positions and up to
//! `MAX_BLOCKS_PER_TASK` blocks of output channels. It walks the input channels in slices of
//! `CI_CHUNK`: within a slice, every (channel block, tile) pair of the task adds that slice's
//! contribution, so the slice's input rows (reused by every channel block) and its weights
//! (reused by every tile) stay in L1/L2. Partial sums wait in a small per-task buffer between
//! slices. Without this, the kernel ran at a third of the FMA peak, waiting on memory.
//!
//! ## The input gradient is the same kernel
//! For stride 1, `dx[ci, y, x] = sum over co, ky, kx of dy[co, y + pad - ky, x + pad - kx] *
//! w[co, ci, ky, kx]`. Substituting `ky' = k - 1 - ky` turns it into a correlation of `dy`, padded
//! by `k - 1 - pad`, with weights flipped in both spatial axes and input/output channels swapped:
//! [`PackedFilters::for_input_gradient`] packs exactly that.
//!
//! Every output value is computed by one task, always summing in the same order (input channels,
//! then taps), so the result does not depend on how the work is split over threads.

use rayon::prelude::*;

use super::gemm::{gemm, MatRef};
use super::simd::{load, store, SendPtr, Vf, LANES};
use crate::buffer::{self, Buffer};

/// Output channels per register tile (AVX-512: 8 x 3 = 24 of its 32 registers accumulate).
#[cfg(any(target_feature = "avx512f", wide16))]
pub const CO_BLOCK: usize = 8;
/// Output channels per register tile (AVX2: 4 x 3 = 12 of its 16 registers accumulate).
#[cfg(not(any(target_feature = "avx512f", wide16)))]
pub const CO_BLOCK: usize = 4;
/// SIMD vectors of output positions per register tile.
pub const Q_VECS: usize = 3;
/// Output positions per register tile.
pub(crate) const TILE: usize = Q_VECS * LANES;
/// Tiles of output positions per parallel task (at most).
const MAX_TILES_PER_TASK: usize = 16;
/// Output channel blocks per parallel task (at most).
const MAX_BLOCKS_PER_TASK: usize = 128 / CO_BLOCK;
/// Input channels per slice of the inner loop (their rows and weights stay in L1).
const CI_CHUNK: usize = 32;

/// Convolution weights rearranged for the kernel:
/// `[cout / CO_BLOCK][cin][k * k][CO_BLOCK]` (the last block padded with zero weights).
#[derive(Clone, Debug)]
pub struct PackedFilters {
    pub cout: usize,
    pub cin: usize,
    pub k: usize,
    data: Vec<f32>,
}

impl PackedFilters {
    fn pack(
        cout: usize,
        cin: usize,
        k: usize,
        weight: impl Fn(usize, usize, usize, usize) -> f32,
    ) -> Self {
        let blocks = cout.div_ceil(CO_BLOCK);
        let mut data = vec![0.0; blocks * cin * k * k * CO_BLOCK];
        for co in 0..cout {
            let (block, lane) = (co / CO_BLOCK, co % CO_BLOCK);
            for ci in 0..cin {
                for ky in 0..k {
                    for kx in 0..k {
                        let tap = ky * k + kx;
                        data[((block * cin + ci) * k * k + tap) * CO_BLOCK + lane] =
                            weight(co, ci, ky, kx);
                    }
                }
            }
        }
        PackedFilters { cout, cin, k, data }
    }

    /// The packed weights of output channel block `block` (`[cin][k * k][CO_BLOCK]`).
    pub(crate) fn block(&self, block: usize) -> &[f32] {
        let len = self.cin * self.k * self.k * CO_BLOCK;
        &self.data[block * len..(block + 1) * len]
    }

    /// Packs OIHW weights `[cout, cin, k, k]` for the forward convolution.
    pub fn for_forward(w: &[f32], cout: usize, cin: usize, k: usize) -> Self {
        assert_eq!(w.len(), cout * cin * k * k);
        Self::pack(cout, cin, k, |co, ci, ky, kx| {
            w[((co * cin + ci) * k + ky) * k + kx]
        })
    }

    /// Packs OIHW weights for the input gradient: channels swapped, taps flipped.
    pub fn for_input_gradient(w: &[f32], cout: usize, cin: usize, k: usize) -> Self {
        assert_eq!(w.len(), cout * cin * k * k);
        Self::pack(cin, cout, k, |ci, co, ky, kx| {
            w[((co * cin + ci) * k + (k - 1 - ky)) * k + (k - 1 - kx)]
        })
    }
}

/// Sizes of the padded-flat buffers for one image size.
#[derive(Clone, Copy, Debug)]
struct Layout {
    wp: usize,
    ho: usize,
    wo: usize,
    /// `ho * wp` flat output positions (including the discarded padding columns).
    q_len: usize,
    /// `q_len` rounded up to whole tiles.
    q_padded: usize,
    /// Floats per padded input channel: room for every read of every tile.
    channel_stride: usize,
}

impl Layout {
    fn new(h: usize, w: usize, k: usize, pad: usize) -> Layout {
        let (hp, wp) = (h + 2 * pad, w + 2 * pad);
        assert!(
            hp >= k && wp >= k,
            "a {k}x{k} kernel does not fit a {h}x{w} input padded by {pad}"
        );
        let (ho, wo) = (hp - k + 1, wp - k + 1);
        let q_len = ho * wp;
        let q_padded = q_len.next_multiple_of(TILE);
        // The last tile reads up to q_padded - 1 + (k - 1) * wp + (k - 1).
        let channel_stride = (q_padded + (k - 1) * wp + k).next_multiple_of(LANES);
        Layout {
            wp,
            ho,
            wo,
            q_len,
            q_padded,
            channel_stride,
        }
    }
}

/// Copies `planes` images of `h x w` into zero-bordered flat buffers of `stride` floats each:
/// image row `y` goes to `(y + pad) * wp + pad`, every other float is zero, and `slack` zeros
/// follow the last plane (for kernels that read a whole vector past a row's end). Used by the
/// direct and the Winograd kernels. Every float is written once (rows, borders, slack), so the
/// buffer is not zeroed first.
pub(crate) fn pad_planes(
    x: &[f32],
    planes: usize,
    [h, w]: [usize; 2],
    pad: usize,
    wp: usize,
    stride: usize,
    slack: usize,
) -> Buffer {
    assert!(wp >= w + pad && stride >= (h + pad) * wp && x.len() == planes * h * w);
    let len = planes * stride + slack;
    let zero = std::mem::MaybeUninit::new(0.0f32);
    let mut padded: Vec<f32> = buffer::take(len);
    let (planes_part, tail) = padded.spare_capacity_mut()[..len].split_at_mut(planes * stride);
    tail.fill(zero);
    planes_part
        .par_chunks_mut(stride)
        .zip(x.par_chunks(h * w))
        .for_each(|(dst, src)| {
            let (top, rest) = dst.split_at_mut(pad * wp);
            top.fill(zero);
            let (rows, bottom) = rest.split_at_mut(h * wp);
            for (dst_row, src_row) in rows.chunks_exact_mut(wp).zip(src.chunks_exact(w)) {
                dst_row[..pad].fill(zero);
                dst_row[pad..pad + w].write_copy_of_slice(src_row);
                dst_row[pad + w..].fill(zero);
            }
            bottom.fill(zero);
        });
    // SAFETY: all `len` floats were written just above.
    unsafe { padded.set_len(len) };
    Buffer::new(padded)
}

/// The accumulators of one register tile: `CO_BLOCK` output channels x `Q_VECS` vectors.
pub(crate) type Accumulators = [[Vf; Q_VECS]; CO_BLOCK];

/// One register tile: adds to `acc` the contributions of `channels` input channels to
/// `CO_BLOCK` output channels x `TILE` positions starting at `x_tile`.
///
/// # Safety
/// `x_tile` must point into a padded buffer with at least `channels` channels of
/// `channel_stride` floats such that every `x_tile + ci * channel_stride + tap_offset + TILE` is
/// readable, and `w_block` to `channels * taps.len() * CO_BLOCK` packed weights.
///
/// `Q` is the tile's width in vectors: `Q_VECS` everywhere but a last, narrower block of
/// positions (the Winograd kernel's last block of tiles), where fewer vectors do less work.
#[inline(always)]
pub(crate) unsafe fn tile<const Q: usize>(
    x_tile: *const f32,
    channel_stride: usize,
    channels: usize,
    w_block: *const f32,
    taps: &[usize],
    mut acc: [[Vf; Q]; CO_BLOCK],
) -> [[Vf; Q]; CO_BLOCK] {
    let mut w = w_block;
    for ci in 0..channels {
        let xc = x_tile.add(ci * channel_stride);
        for &offset in taps {
            let p = xc.add(offset);
            let xs: [Vf; Q] = std::array::from_fn(|v| load(p.add(v * LANES)));
            for row in acc.iter_mut() {
                let wv = Vf::splat(*w);
                w = w.add(1);
                for v in 0..Q {
                    row[v] = wv.mul_add(xs[v], row[v]);
                }
            }
        }
    }
    acc
}

/// Correlates `x` (`[n, cin, h, w]`) with packed filters, zero padding `pad`, stride 1.
/// Returns `[n, cout, ho, wo]`; adds `bias` and applies ReLU when asked.
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
    let lay = Layout::new(h, w, k, pad);
    let padded = pad_planes(x, n * cin, [h, w], pad, lay.wp, lay.channel_stride, 0);
    let (ho, wo) = (lay.ho, lay.wo);
    // Every element is written below (each output by exactly one task), so the buffer is not
    // zeroed first.
    let len = n * cout * ho * wo;
    let mut out: Vec<f32> = buffer::take(len);
    let taps: Vec<usize> = (0..k * k).map(|t| (t / k) * lay.wp + t % k).collect();
    let blocks = cout.div_ceil(CO_BLOCK);
    let q_tiles = lay.q_padded / TILE;
    // Cache blocking. A task computes a run of up to MAX_TILES_PER_TASK tiles for up to
    // MAX_BLOCKS_PER_TASK channel blocks. It walks the input channels in slices of CI_CHUNK:
    // for each slice, every (block, tile) pair of the task adds that slice's contribution, so the
    // slice's input rows are reused by all blocks and its weights by all tiles while both sit in
    // L1/L2. Partial sums wait in `partial` between slices.
    let q_chunks = q_tiles.div_ceil(MAX_TILES_PER_TASK);
    let tiles_per_chunk = q_tiles.div_ceil(q_chunks);
    let groups = blocks.div_ceil(MAX_BLOCKS_PER_TASK);
    let blocks_per_group = blocks.div_ceil(groups);
    let out_ptr = SendPtr(out.as_mut_ptr());
    let block_len = cin * k * k * CO_BLOCK;
    let zero: Accumulators = [[Vf::splat(0.0); Q_VECS]; CO_BLOCK];

    (0..n * q_chunks * groups).into_par_iter().for_each(|task| {
        let out_ptr = { out_ptr }.0;
        let (image, rest) = (task / (q_chunks * groups), task % (q_chunks * groups));
        let (chunk, group) = (rest / groups, rest % groups);
        let x_image = padded[image * cin * lay.channel_stride..].as_ptr();
        let tiles = chunk * tiles_per_chunk..((chunk + 1) * tiles_per_chunk).min(q_tiles);
        let task_blocks = group * blocks_per_group..((group + 1) * blocks_per_group).min(blocks);
        let tile_count = tiles.len();
        let mut partial = vec![zero; task_blocks.len() * tile_count];
        let mut results = [[0.0f32; TILE]; CO_BLOCK];
        for ci0 in (0..cin).step_by(CI_CHUNK) {
            let channels = CI_CHUNK.min(cin - ci0);
            let last_slice = ci0 + channels == cin;
            for (bi, block) in task_blocks.clone().enumerate() {
                let co0 = block * CO_BLOCK;
                let live = CO_BLOCK.min(cout - co0);
                let w_slice = filters.data[block * block_len + ci0 * k * k * CO_BLOCK..].as_ptr();
                for (ti, t) in tiles.clone().enumerate() {
                    let q0 = t * TILE;
                    let slot = bi * tile_count + ti;
                    let acc = if ci0 == 0 {
                        std::array::from_fn(|r| {
                            [Vf::splat(
                                bias.map_or(0.0, |b| if r < live { b[co0 + r] } else { 0.0 }),
                            ); Q_VECS]
                        })
                    } else {
                        partial[slot]
                    };
                    // SAFETY: `Layout::new` sized `channel_stride` so that every tile's reads
                    // stay inside its channel; `w_slice` holds `channels * k * k * CO_BLOCK`
                    // packed weights (input channels ci0.. of this block).
                    let acc = unsafe {
                        tile(
                            x_image.add(ci0 * lay.channel_stride + q0),
                            lay.channel_stride,
                            channels,
                            w_slice,
                            &taps,
                            acc,
                        )
                    };
                    if !last_slice {
                        partial[slot] = acc;
                        continue;
                    }
                    for (r, row) in acc.iter().enumerate() {
                        for (v, vec) in row.iter().enumerate() {
                            // SAFETY: `results[r]` has TILE = Q_VECS * LANES floats.
                            unsafe { store(results[r].as_mut_ptr().add(v * LANES), *vec) };
                        }
                    }
                    // Crop: keep the positions that are real outputs (not padding columns or the
                    // round-up past the last row).
                    let (mut oy, mut ox) = (q0 / lay.wp, q0 % lay.wp);
                    for j in 0..TILE {
                        if oy < ho && ox < wo {
                            for (r, res) in results.iter().enumerate().take(live) {
                                let v = if relu { res[j].max(0.0) } else { res[j] };
                                let index = ((image * cout + co0 + r) * ho + oy) * wo + ox;
                                // SAFETY: index < out.len(); (image, channel, position) belongs
                                // to this task alone, so no two threads write the same element.
                                unsafe { *out_ptr.add(index) = v };
                            }
                        }
                        ox += 1;
                        if ox == lay.wp {
                            (oy, ox) = (oy + 1, 0);
                        }
                    }
                }
            }
        }
    });
    // SAFETY: every one of the `len` outputs was written above.
    unsafe { out.set_len(len) };
    out
}

/// Gradient of a stride-1 convolution with respect to its input: the forward kernel applied to
/// `dy` (`[n, cout, ho, wo]`) padded by `k - 1 - pad`, with the flipped, swapped filters.
pub fn conv2d_input_gradient(
    dy: &[f32],
    n: usize,
    ho: usize,
    wo: usize,
    flipped: &PackedFilters,
    pad: usize,
) -> Vec<f32> {
    let k = flipped.k;
    assert!(
        pad < k,
        "the input gradient kernel needs padding < kernel size"
    );
    conv2d(dy, n, ho, wo, flipped, None, k - 1 - pad, false)
}

/// Gradient of a stride-1 convolution with respect to its weights:
/// `dw[co, ci, ky, kx] = sum over images and positions q of dy[co][q] * padded_x[ci][q + tap]`,
/// one matrix product `[cout x positions] @ [positions x cin]` per tap (with dy laid out
/// padded-flat too, its padding columns zero).
#[allow(clippy::too_many_arguments)]
pub fn conv2d_weight_gradient(
    x: &[f32],
    dy: &[f32],
    n: usize,
    cin: usize,
    h: usize,
    w: usize,
    cout: usize,
    k: usize,
    pad: usize,
) -> Vec<f32> {
    let lay = Layout::new(h, w, k, pad);
    let padded = pad_planes(x, n * cin, [h, w], pad, lay.wp, lay.channel_stride, 0);
    let (ho, wo, wp) = (lay.ho, lay.wo, lay.wp);
    assert_eq!(dy.len(), n * cout * ho * wo);
    let mut dy_flat = Buffer::new(buffer::zeroed(n * cout * lay.q_len));
    dy_flat
        .par_chunks_mut(lay.q_len)
        .zip(dy.par_chunks(ho * wo))
        .for_each(|(dst, src)| {
            for oy in 0..ho {
                dst[oy * wp..oy * wp + wo].copy_from_slice(&src[oy * wo..(oy + 1) * wo]);
            }
        });
    let kk = k * k;
    let mut dw = vec![0.0; cout * cin * kk];
    for image in 0..n {
        for tap in 0..kk {
            let offset = (tap / k) * wp + tap % k;
            let a = MatRef {
                data: &dy_flat,
                offset: image * cout * lay.q_len,
                row_stride: lay.q_len,
                col_stride: 1,
            };
            let b = MatRef {
                data: &padded,
                offset: image * cin * lay.channel_stride + offset,
                row_stride: 1,
                col_stride: lay.channel_stride,
            };
            gemm(cout, lay.q_len, cin, a, b, 1.0, &mut dw, tap, cin * kk, kk);
        }
    }
    dw
}
