//! Can a map be trusted? Measures of how well an attribution map explains the model, rather
//! than how convincing it looks:
//!
//! - [`deletion`]: deletion and insertion curves (Petsiuk et al. 2018, RISE): remove (or put
//!   back) pixels in the map's order and watch the class probability; the area under the
//!   curve is small for deletion and large for insertion when the map ranks the evidence well.
//! - [`road`]: ROAD (Rong et al. 2022): the same idea with the removed pixels filled in from
//!   their neighbours ([`imputer`]), so the model does not react to the holes themselves.
//! - [`confidence`]: average drop and increase in confidence (Chattopadhay et al. 2018): the
//!   class probability of the image multiplied by the map.
//! - [`sanity`]: Adebayo et al.'s (2018) cascading randomisation: re-draw the weights from the
//!   top layer down and compare each map with the original ([`similarity`]: Spearman rank
//!   correlation and SSIM). A method whose map survives the randomisation is not explaining
//!   the model.
//!
//! All of them look at a map through its per-pixel saliency ([`pixel_saliency`]) and score the
//! class by its probability.

pub mod confidence;
pub mod deletion;
pub mod imputer;
pub mod road;
pub mod sanity;
pub mod similarity;

use tensor::Tensor;

use crate::resize::bilinear_half_pixel;
use crate::Attribution;

/// The per-pixel saliency of an attribution at the input resolution `[N, H, W]`: a CAM map
/// resized bilinearly (OpenCV's rule, as the overlay); an input-space map as `|map|`, the
/// largest over the colour channels.
pub fn pixel_saliency(a: &Attribution, height: usize, width: usize) -> Tensor {
    let map = &a.map;
    if a.method.is_cam() {
        let (n, h, w) = (map.shape()[0], map.shape()[1], map.shape()[2]);
        let mut out = Vec::with_capacity(n * height * width);
        for m in map.data().chunks(h * w) {
            out.extend(bilinear_half_pixel(m, h, w, height, width));
        }
        Tensor::new(&[n, height, width], out)
    } else {
        let [n, c, h, w] = map.dims4();
        let plane = h * w;
        let mut out = Vec::with_capacity(n * plane);
        for img in map.data().chunks(c * plane) {
            out.extend(
                (0..plane).map(|p| (0..c).map(|k| img[k * plane + p].abs()).fold(0.0, f32::max)),
            );
        }
        Tensor::new(&[n, h, w], out)
    }
}

/// For each pixel of one saliency plane, its position in the ranking: 0 for the most salient.
/// A stable descending sort: equal values keep their row-major order.
pub fn rank_of_pixels(saliency: &[f32]) -> Vec<usize> {
    // -0.0 counts as 0.0 (`+ 0.0` turns it positive) and NaN as the least salient.
    let key: Vec<f32> = saliency
        .iter()
        .map(|&v| {
            if v.is_nan() {
                f32::NEG_INFINITY
            } else {
                v + 0.0
            }
        })
        .collect();
    let mut order: Vec<usize> = (0..saliency.len()).collect();
    order.sort_by(|&a, &b| key[b].total_cmp(&key[a]));
    let mut rank = vec![0; saliency.len()];
    for (r, &p) in order.iter().enumerate() {
        rank[p] = r;
    }
    rank
}

/// Each plane of `[N, H, W]` divided by its maximum (all zero stays all zero): values in [0, 1].
pub fn normalised(saliency: &Tensor) -> Tensor {
    let plane = saliency.shape()[1] * saliency.shape()[2];
    let mut out = saliency.data().to_vec();
    for p in out.chunks_mut(plane) {
        let max = p.iter().copied().fold(0.0f32, f32::max);
        p.iter_mut()
            .for_each(|v| *v = if max > 0.0 { (*v / max).max(0.0) } else { 0.0 });
    }
    Tensor::new(saliency.shape(), out)
}
