//! Winograd convolution F(2x2, 3x3) for 3x3, stride-1, padding-1 convolutions: the same result
//! as the direct convolution with 2.25x fewer multiplications.
//!
//! ## The idea
//! A 2x2 block of outputs reads a 4x4 patch `d` of the input. Winograd's minimal filtering
//! algorithm computes those 4 outputs of one (input channel, output channel) pair as
//!
//! ```text
//!     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//! ```
//!
//! with 16 elementwise multiplications instead of 36 (`⊙` is the elementwise product, `g` the
//! 3x3 kernel). The transforms are linear, so the sum over input channels can be done in the
//! transformed space, before `A`:
//!
//! ```text
//!     M[ξ][co][t] = Σ_ci U[ξ][co][ci] · V[ξ][ci][t]      U = G g Gᵀ,  V = Bᵀ d B,  ξ = 0..16
//! ```
//!
//! which is 16 matrix products (output channels x input channels x tiles). Those products run on
//! the same register tile as the direct convolution (one "tap" instead of nine); the filter
//! transform `U` is done once when the weights are packed, the input and output transforms are
//! a few additions per value.
//!
//! The input gradient of a 3x3 padding-1 convolution is a 3x3 padding-1 convolution (with the
//! flipped, channel-swapped kernel), so it uses this path too.
//!
//! Rounding differs from the direct convolution by a few units in the last place (the
//! transforms add and subtract before multiplying); the tests compare both with the reference.

use rayon::prelude::*;

use super::conv_direct::{tile, Accumulators, CO_BLOCK, Q_VECS, TILE};
use super::simd::{load, store, SendPtr, Vf, LANES};

/// Transformed 3x3 filters: for each of the 16 positions ξ of the 4x4 transformed tile, the
/// matrix `U[ξ]` (`cout x cin`) packed like the direct kernel's weights (`[cout / CO_BLOCK][cin]
/// [CO_BLOCK]`).
#[derive(Clone, Debug)]
pub struct WinogradFilters {
    pub cout: usize,
    pub cin: usize,
    data: Vec<f32>,
}

/// `G g Gᵀ` for one 3x3 kernel `g` (row-major), as 16 values (row-major 4x4). In f64.
fn transform_filter(g: [f64; 9]) -> [f64; 16] {
    const G: [[f64; 3]; 4] = [
        [1.0, 0.0, 0.0],
        [0.5, 0.5, 0.5],
        [0.5, -0.5, 0.5],
        [0.0, 0.0, 1.0],
    ];
    let mut gg = [[0.0; 3]; 4]; // G g: 4x3
    for i in 0..4 {
        for j in 0..3 {
            gg[i][j] = (0..3).map(|k| G[i][k] * g[k * 3 + j]).sum();
        }
    }
    let mut u = [0.0; 16]; // (G g) Gᵀ: 4x4
    for i in 0..4 {
        for j in 0..4 {
            u[i * 4 + j] = (0..3).map(|k| gg[i][k] * G[j][k]).sum();
        }
    }
    u
}

impl WinogradFilters {
    fn pack(cout: usize, cin: usize, kernel: impl Fn(usize, usize) -> [f64; 9]) -> Self {
        let blocks = cout.div_ceil(CO_BLOCK);
        let per_xi = blocks * cin * CO_BLOCK;
        let mut data = vec![0.0; 16 * per_xi];
        for co in 0..cout {
            for ci in 0..cin {
                let u = transform_filter(kernel(co, ci));
                for (xi, &v) in u.iter().enumerate() {
                    data[xi * per_xi + ((co / CO_BLOCK) * cin + ci) * CO_BLOCK + co % CO_BLOCK] =
                        v as f32;
                }
            }
        }
        WinogradFilters { cout, cin, data }
    }

    /// From OIHW weights `[cout, cin, 3, 3]`, for the forward convolution.
    pub fn for_forward(w: &[f32], cout: usize, cin: usize) -> Self {
        assert_eq!(w.len(), cout * cin * 9);
        Self::pack(cout, cin, |co, ci| {
            std::array::from_fn(|k| w[(co * cin + ci) * 9 + k] as f64)
        })
    }

    /// For the input gradient: channels swapped, taps flipped (see `conv_direct`).
    pub fn for_input_gradient(w: &[f32], cout: usize, cin: usize) -> Self {
        assert_eq!(w.len(), cout * cin * 9);
        Self::pack(cin, cout, |ci, co| {
            std::array::from_fn(|k| w[(co * cin + ci) * 9 + 8 - k] as f64)
        })
    }

    fn xi(&self, xi: usize) -> &[f32] {
        let per_xi = self.cout.div_ceil(CO_BLOCK) * self.cin * CO_BLOCK;
        &self.data[xi * per_xi..(xi + 1) * per_xi]
    }
}

thread_local! {
    /// Per-thread scratch buffers (transformed inputs V, products M), reused by every task that
    /// runs on the thread: no allocation and no zeroing per task.
    static SCRATCH: std::cell::RefCell<(Vec<f32>, Vec<f32>)> = const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
}

/// Padding between the 16 ξ planes of the scratch buffers (see their use).
const PLANE_PAD: usize = 80;

/// Floats of transformed input kept per input channel and ξ (the tile block), chosen so one
/// ξ's `cin x block` matrix stays in L2 while every output channel block uses it.
fn tiles_per_block(cin: usize) -> usize {
    ((48 * 1024 / cin.max(1)) / TILE * TILE).clamp(TILE, 8 * TILE)
}

/// 3x3 convolution, stride 1, zero padding 1, of `x` (`[n, cin, h, w]`) with transformed
/// filters; adds `bias` and applies ReLU when asked. Returns `[n, cout, h, w]`.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    filters: &WinogradFilters,
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    let (cin, cout) = (filters.cin, filters.cout);
    assert_eq!(x.len(), n * cin * h * w);
    // 2x2 output tiles; the padded input covers every tile's 4x4 patch.
    let (th, tw) = (h.div_ceil(2), w.div_ceil(2));
    let tiles = th * tw;
    let (hp, wp) = (2 * th + 2, 2 * tw + 2);
    let plane = hp * wp;
    let mut padded = vec![0.0f32; n * cin * plane];
    padded
        .par_chunks_mut(plane)
        .zip(x.par_chunks(h * w))
        .for_each(|(dst, src)| {
            for y in 0..h {
                dst[(y + 1) * wp + 1..(y + 1) * wp + 1 + w]
                    .copy_from_slice(&src[y * w..(y + 1) * w]);
            }
        });

    let block = tiles_per_block(cin);
    let tile_blocks = tiles.div_ceil(block);
    let co_blocks = cout.div_ceil(CO_BLOCK);
    // Split output channels too when there are few (image, tile block) pairs.
    let groups = (8 / (n * tile_blocks)).clamp(1, co_blocks);
    let blocks_per_group = co_blocks.div_ceil(groups);
    // Every element is written below (each output by exactly one task), so the buffer is not
    // zeroed first.
    let len = n * cout * h * w;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let out_ptr = SendPtr(out.as_mut_ptr());

    (0..n * tile_blocks * groups)
        .into_par_iter()
        .for_each(|task| {
            let out_ptr = { out_ptr }.0;
            let (image, rest) = (task / (tile_blocks * groups), task % (tile_blocks * groups));
            let (tb, group) = (rest / groups, rest % groups);
            let t0 = tb * block;
            let count = block.min(tiles - t0);
            let cols = count.next_multiple_of(TILE);

            // 1. Input transform: V[ξ][ci][j] = (Bᵀ d B)[ξ] for tile t0 + j (zero past `count`).
            // Each ξ plane is padded by PLANE_PAD floats: with a stride that is a multiple of 4 KiB,
            // the 16 planes written (and read) together would all fall in the same L1 cache set.
            let v_stride = cin * cols + PLANE_PAD;
            SCRATCH.with(|scratch| {
                let (v, m) = &mut *scratch.borrow_mut();
                v.resize(16 * v_stride, 0.0);
                if count < cols {
                    // Columns past the last tile are read by the products: they must be zero.
                    for xi in 0..16 {
                        for ci in 0..cin {
                            let start = xi * v_stride + ci * cols;
                            v[start + count..start + cols].fill(0.0);
                        }
                    }
                }
                let src = &padded[image * cin * plane..(image + 1) * cin * plane];
                let v_ptr = v.as_mut_ptr();
                for ci in 0..cin {
                    let p = &src[ci * plane..(ci + 1) * plane];
                    let (mut ty, mut tx) = (t0 / tw, t0 % tw);
                    let mut j = 0;
                    while j < count {
                        let base = 2 * ty * wp + 2 * tx;
                        // SAFETY (both paths): the stores go to (a * 4 + b) * v_stride + ci * cols
                        // + j.. with j + width <= cols, inside the 16 * v_stride buffer.
                        if (tw - tx).min(count - j) >= LANES {
                            // LANES tiles of one tile row at once: combine the 4 input rows over
                            // the 2 * LANES + 2 columns they cover (contiguous, vectorisable),
                            // then the columns of each tile (stride 2) into one vector per ξ.
                            let mut bt_d = [[0.0f32; 2 * LANES + 2]; 4];
                            for c in 0..2 * LANES + 2 {
                                let (d0, d1, d2, d3) = (
                                    p[base + c],
                                    p[base + wp + c],
                                    p[base + 2 * wp + c],
                                    p[base + 3 * wp + c],
                                );
                                bt_d[0][c] = d0 - d2;
                                bt_d[1][c] = d1 + d2;
                                bt_d[2][c] = d2 - d1;
                                bt_d[3][c] = d1 - d3;
                            }
                            for (a, row) in bt_d.iter().enumerate() {
                                let col = |shift: usize| {
                                    Vf::new(std::array::from_fn(|i| row[2 * i + shift]))
                                };
                                let (c0, c1, c2, c3) = (col(0), col(1), col(2), col(3));
                                let t = [c0 - c2, c1 + c2, c2 - c1, c1 - c3];
                                for (b, &val) in t.iter().enumerate() {
                                    unsafe {
                                        store(
                                            v_ptr.add((a * 4 + b) * v_stride + ci * cols + j),
                                            val,
                                        )
                                    };
                                }
                            }
                            j += LANES;
                            tx += LANES;
                        } else {
                            let d = &p[base..base + 3 * wp + 4];
                            let at = |k: usize, c: usize| d[k * wp + c];
                            // Bᵀ d: combine the 4 rows; then (Bᵀ d) B: combine the 4 columns of
                            // each row. columns[c][a] = (Bᵀ d)[a][c].
                            let columns: [[f32; 4]; 4] = std::array::from_fn(|c| {
                                let (d0, d1, d2, d3) = (at(0, c), at(1, c), at(2, c), at(3, c));
                                [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
                            });
                            for a in 0..4 {
                                let [c0, c1, c2, c3] = columns.map(|column| column[a]);
                                let t = [c0 - c2, c1 + c2, c2 - c1, c1 - c3];
                                for (b, &val) in t.iter().enumerate() {
                                    unsafe {
                                        *v_ptr.add((a * 4 + b) * v_stride + ci * cols + j) = val
                                    };
                                }
                            }
                            j += 1;
                            tx += 1;
                        }
                        if tx == tw {
                            (ty, tx) = (ty + 1, 0);
                        }
                    }
                }

                // 2. The 16 products M[ξ] = U[ξ] V[ξ]: ξ outer, so V[ξ] (cin x cols, sized for L2) is
                // reused by every output channel block while U[ξ] streams past once.
                let first = group * blocks_per_group;
                let last = ((group + 1) * blocks_per_group).min(co_blocks);
                let nb = last - first;
                let zero: Accumulators = [[Vf::splat(0.0); Q_VECS]; CO_BLOCK];
                let m_stride = nb * CO_BLOCK * cols + PLANE_PAD;
                m.resize(16 * m_stride, 0.0);
                let m_index = |xi: usize, cb: usize, r: usize, j: usize| {
                    xi * m_stride + ((cb - first) * CO_BLOCK + r) * cols + j
                };
                for xi in 0..16 {
                    let vx = &v[xi * v_stride..xi * v_stride + cin * cols];
                    let ux = filters.xi(xi);
                    for cb in first..last {
                        let u = &ux[cb * cin * CO_BLOCK..(cb + 1) * cin * CO_BLOCK];
                        for c0 in (0..cols).step_by(TILE) {
                            // SAFETY: `vx` holds `cin` rows of `cols` floats and c0 + TILE <= cols;
                            // `u` holds `cin * CO_BLOCK` weights.
                            let acc = unsafe {
                                tile(vx.as_ptr().add(c0), cols, cin, u.as_ptr(), &[0], zero)
                            };
                            for (r, row) in acc.iter().enumerate() {
                                for (q, vec) in row.iter().enumerate() {
                                    // SAFETY: m_index(..) + LANES <= m.len().
                                    unsafe {
                                        store(
                                            m.as_mut_ptr().add(m_index(xi, cb, r, c0 + q * LANES)),
                                            *vec,
                                        )
                                    };
                                }
                            }
                        }
                    }
                }

                // 3. Output transform Y = Aᵀ M A, bias, ReLU, and the write into the output.
                for cb in first..last {
                    let co0 = cb * CO_BLOCK;
                    for r in 0..CO_BLOCK.min(cout - co0) {
                        let co = co0 + r;
                        let b = bias.map_or(0.0, |b| b[co]);
                        let (mut ty, mut tx) = (t0 / tw, t0 % tw);
                        // LANES tiles at a time: M[ξ] is contiguous over tiles, so the transform
                        // is vector arithmetic; the 2x2 results are then written tile by tile.
                        for j0 in (0..count).step_by(LANES) {
                            // SAFETY: m_index(ξ, cb, r, j0) + LANES <= m.len(), as j0 + LANES <= cols.
                            let mv =
                                |xi: usize| unsafe { load(m.as_ptr().add(m_index(xi, cb, r, j0))) };
                            // Aᵀ M: two rows of 4; then (Aᵀ M) A: two columns.
                            let t0r: [Vf; 4] =
                                std::array::from_fn(|c| mv(c) + mv(4 + c) + mv(8 + c));
                            let t1r: [Vf; 4] =
                                std::array::from_fn(|c| mv(4 + c) - mv(8 + c) - mv(12 + c));
                            let bv = Vf::splat(b);
                            let finish = |v: Vf| {
                                let v = v + bv;
                                (if relu { v.max(Vf::splat(0.0)) } else { v }).to_array()
                            };
                            let y = [
                                [
                                    finish(t0r[0] + t0r[1] + t0r[2]),
                                    finish(t0r[1] - t0r[2] - t0r[3]),
                                ],
                                [
                                    finish(t1r[0] + t1r[1] + t1r[2]),
                                    finish(t1r[1] - t1r[2] - t1r[3]),
                                ],
                            ];
                            for i in 0..LANES.min(count - j0) {
                                for (dy, yrow) in y.iter().enumerate() {
                                    let oy = 2 * ty + dy;
                                    if oy >= h {
                                        continue;
                                    }
                                    for (dx, lanes) in yrow.iter().enumerate() {
                                        let ox = 2 * tx + dx;
                                        if ox < w {
                                            let index = ((image * cout + co) * h + oy) * w + ox;
                                            // SAFETY: in bounds; (image, co, oy, ox) belongs to
                                            // this task alone.
                                            unsafe { *out_ptr.add(index) = lanes[i] };
                                        }
                                    }
                                }
                                tx += 1;
                                if tx == tw {
                                    (ty, tx) = (ty + 1, 0);
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
