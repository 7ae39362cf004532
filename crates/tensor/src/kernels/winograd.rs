//! Winograd convolution for 3x3, stride-1, padding-1 convolutions: the same result as the
//! direct convolution with fewer multiplications. Two tile sizes: F(2x2, 3x3) (2.25x fewer
//! multiplications) and F(4x4, 3x3) (4x fewer).
//!
//! ## The idea
//! An `m x m` block of outputs reads an `(m + 2) x (m + 2)` patch `d` of the input. Winograd's
//! minimal filtering algorithm computes those outputs of one (input channel, output channel) pair
//! as
//!
//! ```text
//!     Y = Aᵀ [ (G g Gᵀ) ⊙ (Bᵀ d B) ] A
//! ```
//!
//! with `(m + 2)²` elementwise multiplications instead of `9 m²` (`⊙` is the elementwise product,
//! `g` the 3x3 kernel): 16 instead of 36 for m = 2, 36 instead of 144 for m = 4. The transforms
//! are linear, so the sum over input channels can be done in the transformed space, before `A`:
//!
//! ```text
//!     M[ξ][co][t] = Σ_ci U[ξ][co][ci] · V[ξ][ci][t]      U = G g Gᵀ,  V = Bᵀ d B
//! ```
//!
//! for every position ξ of the transformed tile: `(m + 2)²` matrix products (output channels x
//! input channels x tiles). Those products run on the same register tile as the direct
//! convolution (one "tap" instead of nine); the filter transform `U` is done once when the
//! weights are packed; the input and output transforms are a few additions per value.
//!
//! Every 2-D transform here is a 1-D transform applied to the columns and then to the rows
//! (`Bᵀ d B = (Bᵀ (Bᵀ d)ᵀ)ᵀ`), so each tiling is defined by three small 1-D functions
//! ([`Tiling`]).
//!
//! Tiles are numbered across the whole batch (image by image, row by row), and a task takes a
//! block of consecutive tiles, which may span several images: small images still fill the
//! blocks.
//!
//! The input gradient of a 3x3 padding-1 convolution is a 3x3 padding-1 convolution (with the
//! flipped, channel-swapped kernel), so it uses this path too.
//!
//! Rounding differs from the direct convolution (the transforms add, subtract and scale before
//! multiplying; more so for the larger tile); the tests compare both with the reference.

use rayon::prelude::*;

use super::conv_direct::{pad_planes, tile, CO_BLOCK, Q_VECS, TILE};
use super::simd::{load_slice, SendPtr, Vf, LANES};
use crate::buffer;
use wide::f32x8 as V8;

/// Which Winograd algorithm: the output tile size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tiling {
    /// F(2x2, 3x3): 4x4 input patches, 16 products per tile; smallest rounding error.
    F2x2,
    /// F(4x4, 3x3): 6x6 input patches, 36 products per tile of 16 outputs.
    F4x4,
}

/// The 1-D transforms of one tiling, `OUT` outputs from `IN = OUT + 2` inputs.
///
/// The input transform works on 8 tiles at a time ([`V8`]) in every SIMD configuration: its
/// patches are gathered with 8 x 8 transposes, which `wide` does with shuffles (its 16 x 16
/// transpose moves one float at a time).
trait Transforms<const OUT: usize, const IN: usize> {
    /// `G g`: a 3-tap kernel to its IN transformed values (in f64, done once at packing).
    fn filter(g: [f64; 3]) -> [f64; IN];
    /// `Bᵀ d`: IN input values to IN transformed values.
    fn input(d: [V8; IN]) -> [V8; IN];
    /// `Aᵀ m`: IN products to OUT outputs.
    fn output(m: [Vf; IN]) -> [Vf; OUT];
}

/// F(2, 3) on the points 0, 1, -1 and ∞ (Lavin & Gray 2015).
struct F2;

impl Transforms<2, 4> for F2 {
    // G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
    fn filter([g0, g1, g2]: [f64; 3]) -> [f64; 4] {
        [g0, 0.5 * (g0 + g1 + g2), 0.5 * (g0 - g1 + g2), g2]
    }
    // Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
    #[inline(always)]
    fn input([d0, d1, d2, d3]: [V8; 4]) -> [V8; 4] {
        [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
    }
    // Aᵀ = [1 1 1 0; 0 1 -1 -1]
    #[inline(always)]
    fn output([m0, m1, m2, m3]: [Vf; 4]) -> [Vf; 2] {
        [m0 + m1 + m2, m1 - m2 - m3]
    }
}

/// F(4, 3) on the points 0, 1, -1, 2, -2 and ∞ (Lavin & Gray 2015).
struct F4;

impl Transforms<4, 6> for F4 {
    // G = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
    fn filter([g0, g1, g2]: [f64; 3]) -> [f64; 6] {
        [
            g0 / 4.0,
            -(g0 + g1 + g2) / 6.0,
            -(g0 - g1 + g2) / 6.0,
            g0 / 24.0 + g1 / 12.0 + g2 / 6.0,
            g0 / 24.0 - g1 / 12.0 + g2 / 6.0,
            g2,
        ]
    }
    // Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0;
    //       0 4 0 -5 0 1]
    #[inline(always)]
    fn input([d0, d1, d2, d3, d4, d5]: [V8; 6]) -> [V8; 6] {
        let (two, four, five) = (V8::splat(2.0), V8::splat(4.0), V8::splat(5.0));
        let (s12, d12) = (d1 + d2, d1 - d2);
        let d4m2 = d4 - d2;
        [
            four * d0 - five * d2 + d4,
            d3 + d4 - four * s12,
            four * d12 + d4 - d3,
            two * (d3 - d1) + d4m2,
            two * (d1 - d3) + d4m2,
            four * d1 - five * d3 + d5,
        ]
    }
    // Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
    #[inline(always)]
    fn output([m0, m1, m2, m3, m4, m5]: [Vf; 6]) -> [Vf; 4] {
        let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
        [
            m0 + s12 + s34,
            d12 + Vf::splat(2.0) * d34,
            s12 + Vf::splat(4.0) * s34,
            d12 + Vf::splat(8.0) * d34 + m5,
        ]
    }
}

impl Tiling {
    /// 0 for F(2x2), 1 for F(4x4): where per-tiling caches keep their entry.
    pub fn index(self) -> usize {
        match self {
            Tiling::F2x2 => 0,
            Tiling::F4x4 => 1,
        }
    }

    /// Outputs per tile side.
    pub fn out(self) -> usize {
        match self {
            Tiling::F2x2 => 2,
            Tiling::F4x4 => 4,
        }
    }
    /// Positions ξ of the transformed tile: `(out + 2)²`.
    pub fn planes(self) -> usize {
        (self.out() + 2) * (self.out() + 2)
    }
}

/// `G g Gᵀ` for one 3x3 kernel `g` (row-major): transform the 3 columns, then the IN rows.
fn transform_filter_with<T: Transforms<OUT, IN>, const OUT: usize, const IN: usize>(
    g: [f64; 9],
) -> [[f64; IN]; IN] {
    let g_columns: [[f64; IN]; 3] = std::array::from_fn(|j| T::filter([g[j], g[3 + j], g[6 + j]]));
    std::array::from_fn(|i| T::filter([g_columns[0][i], g_columns[1][i], g_columns[2][i]]))
}

/// `G g Gᵀ` row-major in the first `tiling.planes()` values.
fn transform_filter(tiling: Tiling, g: [f64; 9]) -> [f64; 36] {
    let mut u = [0.0; 36];
    match tiling {
        Tiling::F2x2 => {
            u[..16].copy_from_slice(transform_filter_with::<F2, 2, 4>(g).as_flattened())
        }
        Tiling::F4x4 => u.copy_from_slice(transform_filter_with::<F4, 4, 6>(g).as_flattened()),
    }
    u
}

/// Transformed 3x3 filters: for each position ξ of the transformed tile, the matrix `U[ξ]`
/// (`cout x cin`) packed like the direct kernel's weights (`[cout / CO_BLOCK][cin][CO_BLOCK]`).
#[derive(Clone, Debug)]
pub struct WinogradFilters {
    pub cout: usize,
    pub cin: usize,
    pub tiling: Tiling,
    data: Vec<f32>,
}

impl WinogradFilters {
    fn pack(
        tiling: Tiling,
        cout: usize,
        cin: usize,
        kernel: impl Fn(usize, usize) -> [f64; 9],
    ) -> Self {
        let per_xi = cout.div_ceil(CO_BLOCK) * cin * CO_BLOCK;
        let mut data = vec![0.0; tiling.planes() * per_xi];
        for co in 0..cout {
            for ci in 0..cin {
                let u = transform_filter(tiling, kernel(co, ci));
                for (xi, &v) in u[..tiling.planes()].iter().enumerate() {
                    data[xi * per_xi + ((co / CO_BLOCK) * cin + ci) * CO_BLOCK + co % CO_BLOCK] =
                        v as f32;
                }
            }
        }
        WinogradFilters {
            cout,
            cin,
            tiling,
            data,
        }
    }

    /// From OIHW weights `[cout, cin, 3, 3]`, for the forward convolution.
    pub fn for_forward(w: &[f32], cout: usize, cin: usize, tiling: Tiling) -> Self {
        assert_eq!(w.len(), cout * cin * 9);
        Self::pack(tiling, cout, cin, |co, ci| {
            std::array::from_fn(|k| w[(co * cin + ci) * 9 + k] as f64)
        })
    }

    /// For the input gradient: channels swapped, taps flipped (see `conv_direct`).
    pub fn for_input_gradient(w: &[f32], cout: usize, cin: usize, tiling: Tiling) -> Self {
        assert_eq!(w.len(), cout * cin * 9);
        Self::pack(tiling, cin, cout, |ci, co| {
            std::array::from_fn(|k| w[(co * cin + ci) * 9 + 8 - k] as f64)
        })
    }

    fn xi(&self, xi: usize) -> &[f32] {
        let per_xi = self.cout.div_ceil(CO_BLOCK) * self.cin * CO_BLOCK;
        &self.data[xi * per_xi..(xi + 1) * per_xi]
    }
}

/// Applies a 1-D transform `f` (R values to C) to every column of `x` (R rows of K values):
/// the first half of every 2-D transform.
#[inline(always)]
fn transform_columns<V: Copy + Default, const R: usize, const C: usize, const K: usize>(
    x: &[[V; K]; R],
    f: impl Fn([V; R]) -> [V; C],
) -> [[V; K]; C] {
    // Plain loops, not `array::from_fn`/`map`: those are not always inlined, and a call per
    // vector costs more than the transform.
    let mut out = [[V::default(); K]; C];
    for b in 0..K {
        let mut column = [V::default(); R];
        for (value, row) in column.iter_mut().zip(x) {
            *value = row[b];
        }
        for (out_row, value) in out.iter_mut().zip(f(column)) {
            out_row[b] = value;
        }
    }
    out
}

/// One tile: where its input patch starts in the padded input (channel 0), and where its
/// outputs go (image, and the top-left output's row and column).
#[derive(Clone, Copy, Debug)]
struct TileOrigin {
    patch: usize,
    image: usize,
    y: usize,
    x: usize,
}

/// Per-thread scratch buffers (transformed inputs V, products M, tile origins), reused by
/// every task that runs on the thread: no allocation and no zeroing per task.
type Scratch = (Vec<f32>, Vec<f32>, Vec<TileOrigin>);

thread_local! {
    static SCRATCH: std::cell::RefCell<Scratch> =
        const { std::cell::RefCell::new((Vec::new(), Vec::new(), Vec::new())) };
}

/// Padding between the ξ planes of the scratch buffers: with a stride that is a multiple of
/// 4 KiB, the planes written (and read) together would all fall in the same L1 cache set.
const PLANE_PAD: usize = 80;

/// 3x3 convolution, stride 1, zero padding 1, of `x` (`[n, cin, h, w]`) with transformed
/// filters; adds `bias` and applies ReLU when asked. Returns `[n, cout, h, w]`.
pub fn conv3x3(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    filters: &WinogradFilters,
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    match filters.tiling {
        Tiling::F2x2 => conv3x3_tiled::<F2, 2, 4>(x, n, h, w, filters, bias, relu),
        Tiling::F4x4 => conv3x3_tiled::<F4, 4, 6>(x, n, h, w, filters, bias, relu),
    }
}

fn conv3x3_tiled<T: Transforms<OUT, IN>, const OUT: usize, const IN: usize>(
    x: &[f32],
    n: usize,
    h: usize,
    w: usize,
    filters: &WinogradFilters,
    bias: Option<&[f32]>,
    relu: bool,
) -> Vec<f32> {
    const {
        assert!(
            IN == OUT + 2 && IN <= LANES,
            "a tile's patch must fit one vector"
        )
    };
    let (cin, cout) = (filters.cin, filters.cout);
    assert_eq!(x.len(), n * cin * h * w);
    if n * cout * h * w == 0 {
        return Vec::new();
    }
    let planes = IN * IN;
    let (th, tw) = (h.div_ceil(OUT), w.div_ceil(OUT));
    let tiles = n * th * tw;
    // A task takes TILE consecutive tiles: one register tile's width, so the products need one
    // pass over the input channels per output channel block, and the task's transformed inputs
    // and products (ξ planes of `cin x TILE` and `cout x TILE`) stay in L2. (Wider blocks reuse
    // each transformed filter more, but measured slower: their scratch spills to L3.)
    let tile_blocks = tiles.div_ceil(TILE);
    let co_blocks = cout.div_ceil(CO_BLOCK);
    // Split output channels too when there are few tile blocks, so that there are at least
    // MIN_TASKS tasks to share among the threads.
    const MIN_TASKS: usize = 8;
    let groups = (MIN_TASKS / tile_blocks).clamp(1, co_blocks);
    let blocks_per_group = co_blocks.div_ceil(groups);
    // Every element is written below (each output by exactly one task), so the buffer is not
    // zeroed first.
    let len = n * cout * h * w;
    let mut out: Vec<f32> = buffer::take(len);
    let out_ptr = SendPtr(out.as_mut_ptr());

    // The input with a zero border, sized so every tile's patch is inside: no bounds checks in
    // the input transform. LANES floats of slack at the end: the transform reads LANES floats
    // from each patch row's start (and uses the first IN).
    let (hp, wp) = (OUT * th + 2, OUT * tw + 2);
    let plane = hp * wp;
    let padded = pad_planes(x, n * cin, [h, w], 1, wp, plane, LANES);

    (0..tile_blocks * groups).into_par_iter().for_each(|task| {
        let (tb, group) = (task / groups, task % groups);
        let first = group * blocks_per_group;
        let last = ((group + 1) * blocks_per_group).min(co_blocks);
        if first >= last {
            return;
        }
        let t0 = tb * TILE;
        let count = TILE.min(tiles - t0);
        SCRATCH.with(|scratch| {
            let (v, m, origins) = &mut *scratch.borrow_mut();
            origins.clear();
            origins.extend((t0..t0 + count).map(|t| {
                let (image, t) = (t / (th * tw), t % (th * tw));
                let (y, x) = (OUT * (t / tw), OUT * (t % tw));
                TileOrigin {
                    patch: image * cin * plane + y * wp + x,
                    image,
                    y,
                    x,
                }
            }));
            let v_stride = cin * TILE + PLANE_PAD;
            v.resize(planes * v_stride, 0.0);
            input_transform::<T, OUT, IN>(&padded, cin, plane, wp, origins, v, v_stride);

            let m_stride = (last - first) * CO_BLOCK * TILE + PLANE_PAD;
            m.resize(planes * m_stride, 0.0);
            // A last block with fewer tiles runs a narrower register tile: only the vectors
            // that hold tiles are multiplied (the last block of a 14 x 14 layer may hold 1
            // tile of 48).
            let co = first..last;
            match count.div_ceil(LANES) {
                1 => products::<1>(filters, planes, v, v_stride, co, m, m_stride),
                2 => products::<2>(filters, planes, v, v_stride, co, m, m_stride),
                _ => products::<Q_VECS>(filters, planes, v, v_stride, co, m, m_stride),
            }

            let out = Output {
                ptr: out_ptr,
                cout,
                h,
                w,
                bias,
                relu,
            };
            output_transform::<T, OUT, IN>(m, m_stride, first..last, origins, &out);
        });
    });
    // SAFETY: every one of the `len` outputs was written above.
    unsafe { out.set_len(len) };
    out
}

/// Step 1, input transform: `V[ξ][ci][j] = (Bᵀ d B)[ξ]` for the patch `d` of tile `j` in channel `ci`.
/// The columns past the last tile, up to the end of its group of 8, repeat the last tile; the
/// products may read a few more (up to a whole vector), left from an earlier block. Either way
/// each column of `M` depends only on the same column of `V`, and those are never written out.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn input_transform<T: Transforms<OUT, IN>, const OUT: usize, const IN: usize>(
    padded: &[f32],
    cin: usize,
    plane: usize,
    wp: usize,
    origins: &[TileOrigin],
    v: &mut [f32],
    v_stride: usize,
) {
    // Where each column's patch starts (channel 0); the columns past the last tile repeat it.
    let last = origins.len() - 1;
    let mut patch_starts = [0usize; TILE];
    for (j, start) in patch_starts.iter_mut().enumerate() {
        *start = origins[j.min(last)].patch;
    }
    // Only the 8-tile groups that hold tiles are transformed (a last block may be narrower).
    let groups = origins.len().div_ceil(8);
    // Channel outer: the tiles of a block are consecutive, so their patches in one channel
    // plane are read in order, while the plane is in cache.
    for ci in 0..cin {
        for (j0, patches) in (0..TILE)
            .step_by(8)
            .zip(patch_starts.chunks_exact(8))
            .take(groups)
        {
            // d[a][b]: row a, column b of the patches, one tile per lane. Row a of every patch
            // is loaded as one vector (its first IN lanes are the patch row); transposing the
            // 8 vectors gives, in vector b, column b of the 8 tiles.
            let mut d = [[V8::splat(0.0); IN]; IN];
            for (a, d_row) in d.iter_mut().enumerate() {
                let mut rows = [V8::splat(0.0); 8];
                for (row, &patch) in rows.iter_mut().zip(patches) {
                    let at = ci * plane + patch + a * wp;
                    let values: &[f32; 8] = padded[at..at + 8].try_into().expect("8 floats");
                    *row = V8::new(*values);
                }
                d_row.copy_from_slice(&V8::transpose(rows)[..IN]);
            }
            // Bᵀ d: transform every column.
            let bt_d = transform_columns(&d, T::input);
            // (Bᵀ d) B: transform every row.
            for (a, row) in bt_d.iter().enumerate() {
                for (b, value) in T::input(*row).iter().enumerate() {
                    let at = (a * IN + b) * v_stride + ci * TILE + j0;
                    v[at..at + 8].copy_from_slice(value.as_array());
                }
            }
        }
    }
}

/// Step 2, the products `M[ξ] = U[ξ] V[ξ]` for the output channel blocks `co_blocks`: ξ outer, so
/// `V[ξ]` (`cin x TILE`) is reused by every output channel block while `U[ξ]` streams past.
/// The register tile is `Q` vectors wide: the first `Q * LANES` columns are computed.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
fn products<const Q: usize>(
    filters: &WinogradFilters,
    planes: usize,
    v: &[f32],
    v_stride: usize,
    co_blocks: std::ops::Range<usize>,
    m: &mut [f32],
    m_stride: usize,
) {
    let cin = filters.cin;
    let zero = [[Vf::splat(0.0); Q]; CO_BLOCK];
    for xi in 0..planes {
        let vx = &v[xi * v_stride..][..cin * TILE];
        let ux = filters.xi(xi);
        for cb in co_blocks.clone() {
            let u = &ux[cb * cin * CO_BLOCK..][..cin * CO_BLOCK];
            // SAFETY: `vx` holds `cin` rows of TILE >= Q * LANES floats; `u` holds
            // `cin * CO_BLOCK` weights.
            let acc = unsafe { tile::<Q>(vx.as_ptr(), TILE, cin, u.as_ptr(), &[0], zero) };
            for (r, row) in acc.iter().enumerate() {
                let at = xi * m_stride + ((cb - co_blocks.start) * CO_BLOCK + r) * TILE;
                for (q, vec) in row.iter().enumerate() {
                    m[at + q * LANES..at + (q + 1) * LANES].copy_from_slice(vec.as_array());
                }
            }
        }
    }
}

/// Where the output transform writes.
struct Output<'a> {
    ptr: SendPtr,
    cout: usize,
    h: usize,
    w: usize,
    bias: Option<&'a [f32]>,
    relu: bool,
}

/// Step 3, output transform `Y = Aᵀ M A`, bias, ReLU, and the write of each tile into the output.
#[inline(never)]
fn output_transform<T: Transforms<OUT, IN>, const OUT: usize, const IN: usize>(
    m: &[f32],
    m_stride: usize,
    co_blocks: std::ops::Range<usize>,
    origins: &[TileOrigin],
    out: &Output,
) {
    let Output {
        cout, h, w, relu, ..
    } = *out;
    let zero = Vf::splat(0.0);
    for cb in co_blocks.clone() {
        let co0 = cb * CO_BLOCK;
        for r in 0..CO_BLOCK.min(cout - co0) {
            let co = co0 + r;
            let bias = Vf::splat(out.bias.map_or(0.0, |b| b[co]));
            let row = ((cb - co_blocks.start) * CO_BLOCK + r) * TILE;
            // LANES tiles at a time: M[ξ] is contiguous over tiles, so the transform is vector
            // arithmetic; the results are then written tile by tile.
            for j0 in (0..origins.len()).step_by(LANES) {
                let mv = |xi: usize| load_slice(m, xi * m_stride + row + j0);
                // Aᵀ M: transform every column.
                let mut m_tile = [[zero; IN]; IN];
                for (a, m_row) in m_tile.iter_mut().enumerate() {
                    for (b, value) in m_row.iter_mut().enumerate() {
                        *value = mv(a * IN + b);
                    }
                }
                let at_m = transform_columns(&m_tile, T::output);
                // (Aᵀ M) A: transform every row; bias; ReLU.
                let mut y = [[zero; OUT]; OUT];
                for (y_row, at_m_row) in y.iter_mut().zip(&at_m) {
                    for (value, t) in y_row.iter_mut().zip(T::output(*at_m_row)) {
                        let t = t + bias;
                        *value = if relu { t.max(zero) } else { t };
                    }
                }
                // Row a of every tile: y[a][b] holds column b of row a for all the tiles (one
                // per lane); transposed, vector `lane` holds the row of tile j0 + lane.
                // (8 tiles at a time: wide's 8 x 8 transpose uses shuffles.)
                for ((a, y_row), half) in y
                    .iter()
                    .enumerate()
                    .flat_map(|row| (0..LANES / 8).map(move |half| (row, half)))
                {
                    let mut columns = [V8::splat(0.0); 8];
                    for (column, value) in columns.iter_mut().zip(y_row) {
                        let lanes: &[f32; 8] = value.as_array()[8 * half..8 * half + 8]
                            .try_into()
                            .expect("8 lanes");
                        *column = V8::new(*lanes);
                    }
                    let tile_rows = V8::transpose(columns);
                    for (o, tile_row) in origins.iter().skip(j0 + 8 * half).zip(&tile_rows) {
                        if o.y + a >= h {
                            continue;
                        }
                        let at = (o.image * cout + co) * h * w + (o.y + a) * w + o.x;
                        let values = tile_row.as_array();
                        // SAFETY: in bounds (the tile's outputs inside the image); outputs
                        // (image, co, y, x..) belong to this task alone.
                        unsafe {
                            let dst = out.ptr.0.add(at);
                            if o.x + OUT <= w {
                                // A whole row of the tile: one fixed-size copy.
                                let row: [f32; OUT] =
                                    values[..OUT].try_into().expect("OUT <= LANES");
                                std::ptr::write_unaligned(dst as *mut [f32; OUT], row);
                            } else {
                                for (b, &value) in values[..w - o.x].iter().enumerate() {
                                    *dst.add(b) = value;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
