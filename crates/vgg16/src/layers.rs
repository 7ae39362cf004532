//! The layers of VGG16, with Keras's names, in order.

/// What a layer does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// 3x3 convolution, stride 1, padding 1, then ReLU (`index` = 0..13 among the convolutions).
    Conv { index: usize },
    /// 2x2 max-pool, stride 2.
    Pool,
    /// `[N, C, H, W]` -> `[N, C*H*W]` in (C, H, W) order.
    Flatten,
    /// Dense layer (`index` = 0 fc1, 1 fc2, 2 predictions); ReLU after fc1 and fc2.
    Dense { index: usize },
}

/// One layer: its Keras name and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layer {
    pub name: &'static str,
    pub kind: LayerKind,
}

const fn conv(name: &'static str, index: usize) -> Layer {
    Layer {
        name,
        kind: LayerKind::Conv { index },
    }
}

const fn pool(name: &'static str) -> Layer {
    Layer {
        name,
        kind: LayerKind::Pool,
    }
}

/// All 22 layers in order: 13 convolutions and 5 pools (the "notop" part), then the classifier.
pub const LAYERS: [Layer; 22] = [
    conv("block1_conv1", 0),
    conv("block1_conv2", 1),
    pool("block1_pool"),
    conv("block2_conv1", 2),
    conv("block2_conv2", 3),
    pool("block2_pool"),
    conv("block3_conv1", 4),
    conv("block3_conv2", 5),
    conv("block3_conv3", 6),
    pool("block3_pool"),
    conv("block4_conv1", 7),
    conv("block4_conv2", 8),
    conv("block4_conv3", 9),
    pool("block4_pool"),
    conv("block5_conv1", 10),
    conv("block5_conv2", 11),
    conv("block5_conv3", 12),
    pool("block5_pool"),
    Layer {
        name: "flatten",
        kind: LayerKind::Flatten,
    },
    Layer {
        name: "fc1",
        kind: LayerKind::Dense { index: 0 },
    },
    Layer {
        name: "fc2",
        kind: LayerKind::Dense { index: 1 },
    },
    Layer {
        name: "predictions",
        kind: LayerKind::Dense { index: 2 },
    },
];

/// Layers that exist in a model (the classifier only when its weights are loaded).
pub fn layers(with_classifier: bool) -> &'static [Layer] {
    if with_classifier {
        &LAYERS
    } else {
        &LAYERS[..18]
    }
}

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

/// Names of the dense layers, in order.
pub const DENSE_NAMES: [&str; 3] = ["fc1", "fc2", "predictions"];

/// Output channels of the 13 convolutions of the standard VGG16.
pub const VGG16_WIDTHS: [usize; 13] = [
    64, 64, 128, 128, 256, 256, 256, 512, 512, 512, 512, 512, 512,
];

/// torchvision's `features.N` index of each convolution.
pub const TORCHVISION_CONV_INDEX: [usize; 13] = [0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28];
/// torchvision's `classifier.N` index of each dense layer.
pub const TORCHVISION_DENSE_INDEX: [usize; 3] = [0, 3, 6];

/// The position of a layer by name, or an error listing the valid names and the closest one.
pub fn find(name: &str, with_classifier: bool) -> Result<usize, String> {
    let available = layers(with_classifier);
    if let Some(i) = available.iter().position(|l| l.name == name) {
        return Ok(i);
    }
    if !with_classifier && (DENSE_NAMES.contains(&name) || name == "flatten") {
        return Err(format!(
            "layer '{name}' is part of the classifier, and these weights have none (conv-only); \
             use weights with the classifier (see weights/README.md)"
        ));
    }
    let closest = available
        .iter()
        .min_by_key(|l| (edit_distance(l.name, name), first_difference(l.name, name)))
        .map(|l| l.name)
        .unwrap_or("block1_conv1");
    let names: Vec<&str> = available.iter().map(|l| l.name).collect();
    Err(format!(
        "unknown layer '{name}' (did you mean '{closest}'?); valid layers: {}",
        names.join(", ")
    ))
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
