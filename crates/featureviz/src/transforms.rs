//! Random transforms, applied to the picture before the model sees it, a new draw every step.
//!
//! Why: an optimiser that may set every pixel exactly finds adversarial patterns, tiny
//! high-frequency textures that excite the filter only at one precise alignment. If the picture
//! must work when it is shifted, scaled and turned a little, those patterns stop paying off
//! and what remains are features that survive the jitter: shapes and textures a person sees
//! too (Olah et al., Distill 2017, "Transformation robustness").
//!
//! Each transform is a tape op with its own backward (in `tensor::ops`): pad (`pad2d`,
//! backward crops), jitter (`crop2d` at a random offset, backward pads with zeros), scale and
//! rotation (`warp`, bilinear, backward scatters with the same weights). The gradient reaches
//! the picture through whichever transforms were drawn, averaging over them in the long run.

use tensor::ops::warp::WarpMap;
use tensor::{Graph, Rng, Var};

#[derive(Clone, Debug, PartialEq)]
pub enum Transform {
    /// A border of `pixels` of the constant `value` (lucid: 0.5, mid-grey).
    Pad { pixels: usize, value: f32 },
    /// A random crop `pixels` smaller than the picture: a shift by 0..=pixels (lucid's
    /// original `jitter(d)`, a random crop of size `S - d`).
    Jitter { pixels: usize },
    /// Resize by one of `factors`, drawn uniformly (bilinear, corners on corners).
    Scale { factors: Vec<f64> },
    /// Rotate about the centre by one of `degrees`, drawn uniformly (bilinear, zero outside).
    Rotate { degrees: Vec<f64> },
}

/// Lucid's `standard_transforms`: pad 12 (grey), jitter 8, scale 0.90..1.10 in steps of 0.02,
/// rotate -10..10 degrees (with extra weight on 0), jitter 4.
pub fn standard() -> Vec<Transform> {
    let mut degrees: Vec<f64> = (-10..=10).map(f64::from).collect();
    degrees.extend([0.0; 5]);
    vec![
        Transform::Pad {
            pixels: 12,
            value: 0.5,
        },
        Transform::Jitter { pixels: 8 },
        Transform::Scale {
            factors: (0..11).map(|i| 1.0 + (i as f64 - 5.0) / 50.0).collect(),
        },
        Transform::Rotate { degrees },
        Transform::Jitter { pixels: 4 },
    ]
}

/// The side of the picture the model sees after `transforms` at their largest scale, for a
/// picture of side `size` (to check that the layer still has an output).
pub fn smallest_output(transforms: &[Transform], size: usize) -> usize {
    transforms.iter().fold(size, |s, t| match t {
        Transform::Pad { pixels, .. } => s + 2 * pixels,
        Transform::Jitter { pixels } => s.saturating_sub(*pixels),
        Transform::Scale { factors } => {
            let least = factors.iter().cloned().fold(f64::INFINITY, f64::min);
            scaled_size(s, least)
        }
        Transform::Rotate { .. } => s,
    })
}

/// The side after scaling by `factor` (rounded up, as lucid does).
pub fn scaled_size(size: usize, factor: f64) -> usize {
    ((size as f64 * factor) - 1e-9).ceil().max(1.0) as usize
}

fn pick<T: Copy>(rng: &mut Rng, options: &[T]) -> T {
    options[(rng.next_u64() % options.len() as u64) as usize]
}

/// One transform with its random choice made.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Drawn {
    Pad {
        pixels: usize,
        value: f32,
    },
    /// Keep the window at (`top`, `left`), `shrink` pixels smaller than the picture.
    Crop {
        top: usize,
        left: usize,
        shrink: usize,
    },
    Scale {
        factor: f64,
    },
    Rotate {
        degrees: f64,
    },
}

/// Makes the random choices of `transforms` for a picture of side `size` (the same draw for
/// every picture of a batch).
pub fn draw(transforms: &[Transform], size: usize, rng: &mut Rng) -> Vec<Drawn> {
    let mut side = size;
    transforms
        .iter()
        .map(|t| {
            let drawn = match t {
                Transform::Pad { pixels, value } => Drawn::Pad {
                    pixels: *pixels,
                    value: *value,
                },
                Transform::Jitter { pixels } => {
                    let shrink = (*pixels).min(side - 1);
                    let mut offset = || (rng.next_u64() % (shrink as u64 + 1)) as usize;
                    let (top, left) = (offset(), offset());
                    Drawn::Crop { top, left, shrink }
                }
                Transform::Scale { factors } => Drawn::Scale {
                    factor: pick(rng, factors),
                },
                Transform::Rotate { degrees } => Drawn::Rotate {
                    degrees: pick(rng, degrees),
                },
            };
            side = match drawn {
                Drawn::Pad { pixels, .. } => side + 2 * pixels,
                Drawn::Crop { shrink, .. } => side - shrink,
                Drawn::Scale { factor } => scaled_size(side, factor),
                Drawn::Rotate { .. } => side,
            };
            drawn
        })
        .collect()
}

/// Records the drawn transforms on `x` `[B, 3, H, W]`.
pub fn apply(g: &mut Graph, mut x: Var, drawn: &[Drawn]) -> Var {
    for t in drawn {
        let [_, _, h, w] = g.value(x).dims4();
        x = match *t {
            Drawn::Pad { pixels, value } => g.pad2d(x, pixels, value),
            Drawn::Crop { top, left, shrink } => g.crop2d(x, top, left, h - shrink, w - shrink),
            Drawn::Scale { factor } => {
                let (oh, ow) = (scaled_size(h, factor), scaled_size(w, factor));
                g.warp(x, WarpMap::resize_align_corners(h, w, oh, ow))
            }
            Drawn::Rotate { degrees } => g.warp(x, WarpMap::rotate(h, w, degrees)),
        };
    }
    x
}
