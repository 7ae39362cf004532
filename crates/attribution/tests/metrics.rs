//! The evaluation metrics on cases computable by hand: a linear "network" (the score of an
//! image is `sum over channels and pixels of weight[p] * x`), so deleting a pixel removes
//! exactly its weight; and small known values for the rank helpers.

use attribution::metrics::deletion::{auc, curves_with, points};
use attribution::metrics::rank_of_pixels;
use tensor::Tensor;

/// 2 x 3 pixels, weights not in row-major order.
const WEIGHTS: [f32; 6] = [1.0, 6.0, 2.0, 5.0, 3.0, 4.0];

fn linear_curves(saliency: [f32; 6]) -> (Vec<f32>, Vec<f32>, f32, f32) {
    let input = Tensor::full(&[1, 3, 2, 3], 1.0);
    let saliency = Tensor::new(&[1, 2, 3], saliency.to_vec());
    let curves = curves_with(&input, &saliency, 2, &mut |count, shape, make_row| {
        let len: usize = shape.iter().product();
        let mut row = vec![0.0; len];
        Ok((0..count)
            .map(|r| {
                make_row(r, &mut row);
                row.chunks(6)
                    .map(|plane| plane.iter().zip(WEIGHTS).map(|(x, w)| x * w).sum::<f32>())
                    .sum()
            })
            .collect())
    })
    .unwrap();
    (
        curves.deletion.data().to_vec(),
        curves.insertion.data().to_vec(),
        curves.deletion_auc[0],
        curves.insertion_auc[0],
    )
}

#[test]
fn deletion_by_hand() {
    // 3 channels x sum of weights 21 = 63 at first; 2 pixels per step: 4 points.
    // A perfect map removes 6, 5 | 4, 3 | 2, 1.
    let (deletion, _, area, _) = linear_curves(WEIGHTS);
    assert_eq!(deletion, [63.0, 30.0, 9.0, 0.0]);
    assert!((area - (63.0 + 30.0 + 30.0 + 9.0 + 9.0) / 6.0).abs() < 1e-5);
    // The reversed map removes 1, 2 | 3, 4 | 5, 6.
    let reversed = WEIGHTS.map(|w| -w);
    let (deletion, _, worst, _) = linear_curves(reversed);
    assert_eq!(deletion, [63.0, 54.0, 33.0, 0.0]);
    // A constant map removes pixels in row-major order (stable sort): 1, 6 | 2, 5 | 3, 4.
    let (deletion, _, middle, _) = linear_curves([0.5; 6]);
    assert_eq!(deletion, [63.0, 42.0, 21.0, 0.0]);
    assert!(area < middle && middle < worst);
}

#[test]
fn insertion_by_hand() {
    // Insertion starts from the blurred image (a 2 x 3 image of ones blurred with zero padding
    // is smaller than 1 everywhere) and puts the best pixels back first.
    let (_, perfect, _, best) = linear_curves(WEIGHTS);
    let (_, reversed, _, worst) = linear_curves(WEIGHTS.map(|w| -w));
    assert_eq!(perfect.len(), 4);
    assert!(
        perfect[0] < 63.0 && (perfect[0] - reversed[0]).abs() < 1e-4,
        "same start"
    );
    assert!(
        (perfect[3] - 63.0).abs() < 1e-4 && (reversed[3] - 63.0).abs() < 1e-4,
        "same end"
    );
    assert!(perfect[1] > reversed[1] && perfect[2] > reversed[2]);
    assert!(best > worst);
}

#[test]
fn rank_and_area_helpers() {
    // Most salient first; equal values keep their row-major order.
    assert_eq!(rank_of_pixels(&[1.0, 3.0, 3.0, 2.0, 3.0]), [4, 0, 1, 3, 2]);
    assert_eq!(points(224 * 224, 224), 225);
    assert_eq!(points(10, 3), 5);
    assert!((auc(&[1.0, 1.0]) - 1.0).abs() < 1e-7);
    let ramp: Vec<f32> = (0..=10).map(|i| i as f32 / 10.0).collect();
    assert!((auc(&ramp) - 0.5).abs() < 1e-6);
}
