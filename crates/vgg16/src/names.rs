//! VGG16's layer names (Keras's), torchvision's names for the same tensors, and "did you mean"
//! for a mistyped layer name.

/// The 18 layers of the VGG16 body in order: 13 convolutions (3x3, stride 1, padding 1, then
/// ReLU) and 5 max-pools (2x2, stride 2).
pub const BODY_NAMES: [&str; 18] = [
    "block1_conv1",
    "block1_conv2",
    "block1_pool",
    "block2_conv1",
    "block2_conv2",
    "block2_pool",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block3_pool",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block4_pool",
    "block5_conv1",
    "block5_conv2",
    "block5_conv3",
    "block5_pool",
];

/// Names of the 13 convolutions, in order.
pub const CONV_NAMES: [&str; 13] = [
    "block1_conv1",
    "block1_conv2",
    "block2_conv1",
    "block2_conv2",
    "block3_conv1",
    "block3_conv2",
    "block3_conv3",
    "block4_conv1",
    "block4_conv2",
    "block4_conv3",
    "block5_conv1",
    "block5_conv2",
    "block5_conv3",
];

/// The dense layers of the ImageNet classifier head, in order.
pub const DENSE_NAMES: [&str; 3] = ["fc1", "fc2", "predictions"];

/// Output channels of the 13 convolutions of the standard VGG16.
pub const VGG16_WIDTHS: [usize; 13] = [
    64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
];

/// torchvision's `features.N` index of each convolution.
pub const TORCHVISION_CONV_INDEX: [usize; 13] = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
/// torchvision's `classifier.N` index of each dense layer.
pub const TORCHVISION_DENSE_INDEX: [usize; 3] = [0, 3, 6];

/// The error for a name that is not among `available`: the closest name, and every valid one.
pub fn unknown_layer(name: &str, available: &[&str]) -> String {
    let closest = available
        .iter()
        .min_by_key(|l| (edit_distance(l, name), first_difference(l, name)))
        .copied()
        .unwrap_or("block1_conv1");
    format!(
        "unknown layer '{name}' (did you mean '{closest}'?); valid layers: {}",
        available.join(", ")
    )
}

/// Tie-breaker among equally distant names: how far apart the first differing characters are
/// (so `block3_conv4` suggests `block3_conv3`, not `block3_conv1`).
fn first_difference(a: &str, b: &str) -> u32 {
    a.chars()
        .zip(b.chars())
        .find(|(x, y)| x != y)
        .map_or(0, |(x, y)| (x as u32).abs_diff(y as u32))
}

/// Levenshtein distance, for "did you mean".
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}
