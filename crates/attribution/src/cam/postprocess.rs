//! From a CAM map to the picture's values, exactly as pytorch-grad-cam does it
//! (`scale_cam_image` twice: once per target layer with resizing, once after averaging the
//! layers): per image, `m = m - min(m)`, `m = m / (1e-7 + max(m))`, resize to the input size
//! with OpenCV's bilinear rule ([`crate::resize::bilinear_half_pixel`]), then the same min-max
//! normalisation again. All-zero maps stay all zero.

use tensor::Tensor;

use crate::resize::bilinear_half_pixel;

fn min_max(values: &mut [f32]) {
    let min = values.iter().copied().fold(f32::INFINITY, f32::min);
    values.iter_mut().for_each(|v| *v -= min);
    let max = values.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    values.iter_mut().for_each(|v| *v /= 1e-7 + max);
}

/// `[N, h, w]` maps to `[N, out_h, out_w]` pictures in [0, 1].
pub fn scale_cam(map: &Tensor, out_h: usize, out_w: usize) -> Tensor {
    let [n, h, w] = [map.shape()[0], map.shape()[1], map.shape()[2]];
    let mut out = Vec::with_capacity(n * out_h * out_w);
    for m in map.data().chunks(h * w) {
        let mut m = m.to_vec();
        min_max(&mut m);
        let mut big = bilinear_half_pixel(&m, h, w, out_h, out_w);
        min_max(&mut big);
        out.extend(big);
    }
    Tensor::new(&[n, out_h, out_w], out)
}
