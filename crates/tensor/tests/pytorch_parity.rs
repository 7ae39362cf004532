//! Forward values and gradients against PyTorch, on fixtures made by `tools/make_fixtures.py`
//! (see tests/fixtures/README.md). The tests do not need PyTorch.

use std::collections::HashMap;

use tensor::testing::assert_close;
use tensor::{ConvGeometry, Graph, Tensor, Var};

fn fixtures() -> HashMap<String, Tensor> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/ops.safetensors"
    );
    let bytes = std::fs::read(path).expect("tests/fixtures/ops.safetensors");
    let st = safetensors::SafeTensors::deserialize(&bytes).expect("valid fixture file");
    st.iter()
        .map(|(name, view)| {
            assert_eq!(view.dtype(), safetensors::Dtype::F32);
            let data = view
                .data()
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                .collect();
            (name.to_string(), Tensor::new(view.shape(), data))
        })
        .collect()
}

struct Case {
    all: HashMap<String, Tensor>,
    prefix: &'static str,
}

impl Case {
    fn new(prefix: &'static str) -> Case {
        Case {
            all: fixtures(),
            prefix,
        }
    }
    fn get(&self, name: &str) -> Tensor {
        self.all
            .get(&format!("{}.{name}", self.prefix))
            .unwrap_or_else(|| panic!("fixture {}.{name}", self.prefix))
            .clone()
    }
    fn has(&self, name: &str) -> bool {
        self.all.contains_key(&format!("{}.{name}", self.prefix))
    }
}

/// `sum(y * dy)` so that backward seeds `y` with `dy`.
fn seeded_loss(g: &mut Graph, y: Var, dy: &Tensor) -> Var {
    let d = g.constant(dy.clone());
    let p = g.mul(y, d);
    g.sum(p)
}

fn conv_case(prefix: &'static str, geometry: ConvGeometry) {
    let c = Case::new(prefix);
    let mut g = Graph::new();
    let x = g.input(c.get("x"));
    let w = g.input(c.get("w"));
    let b = c.has("b").then(|| g.input(c.get("b")));
    let y = g.conv2d(x, w, b, geometry);
    assert_close(&format!("{prefix} y"), g.value(y), &c.get("y"), 1e-5);
    let loss = seeded_loss(&mut g, y, &c.get("dy"));
    let grads = g.backward(loss);
    assert_close(&format!("{prefix} dx"), grads.wrt(x), &c.get("dx"), 1e-5);
    assert_close(&format!("{prefix} dw"), grads.wrt(w), &c.get("dw"), 1e-5);
    if let Some(b) = b {
        assert_close(&format!("{prefix} db"), grads.wrt(b), &c.get("db"), 1e-5);
    }
}

#[test]
fn conv3x3() {
    conv_case(
        "conv3x3",
        ConvGeometry {
            stride: 1,
            padding: 1,
        },
    );
}

#[test]
fn conv5x5_pad2() {
    conv_case(
        "conv5s1p2",
        ConvGeometry {
            stride: 1,
            padding: 2,
        },
    );
}

#[test]
fn conv3x3_stride2() {
    conv_case(
        "conv3s2p1",
        ConvGeometry {
            stride: 2,
            padding: 1,
        },
    );
}

fn unary_case(prefix: &'static str, op: impl Fn(&mut Graph, Var) -> Var) {
    let c = Case::new(prefix);
    let mut g = Graph::new();
    let x = g.input(c.get("x"));
    let y = op(&mut g, x);
    assert_close(&format!("{prefix} y"), g.value(y), &c.get("y"), 1e-6);
    let loss = seeded_loss(&mut g, y, &c.get("dy"));
    let grads = g.backward(loss);
    assert_close(&format!("{prefix} dx"), grads.wrt(x), &c.get("dx"), 1e-6);
}

#[test]
fn relu() {
    unary_case("relu", |g, x| g.relu(x));
}

#[test]
fn max_pool_with_ties() {
    unary_case("maxpool", |g, x| g.max_pool2x2(x));
}

#[test]
fn softmax() {
    unary_case("softmax", |g, x| g.softmax(x));
}

#[test]
fn log_softmax() {
    unary_case("log_softmax", |g, x| g.log_softmax(x));
}

#[test]
fn dense() {
    for prefix in ["dense1", "dense3"] {
        let c = Case::new(prefix);
        let mut g = Graph::new();
        let x = g.input(c.get("x"));
        let w = g.input(c.get("w"));
        let b = g.input(c.get("b"));
        let y = g.dense(x, w, Some(b));
        assert_close(&format!("{prefix} y"), g.value(y), &c.get("y"), 1e-5);
        let loss = seeded_loss(&mut g, y, &c.get("dy"));
        let grads = g.backward(loss);
        assert_close(&format!("{prefix} dx"), grads.wrt(x), &c.get("dx"), 1e-5);
        assert_close(&format!("{prefix} dw"), grads.wrt(w), &c.get("dw"), 1e-5);
        assert_close(&format!("{prefix} db"), grads.wrt(b), &c.get("db"), 1e-5);
    }
}

#[test]
fn small_vgg_like_stack() {
    let c = Case::new("stack");
    let mut g = Graph::new();
    let x = g.input(c.get("x"));
    let mut params: Vec<(&str, Var, Var)> = Vec::new();
    for name in ["c1", "c2", "c3", "d1", "d2"] {
        let w = g.input(c.get(&format!("{name}.w")));
        let b = g.input(c.get(&format!("{name}.b")));
        params.push((name, w, b));
    }
    let same = ConvGeometry::SAME_3X3;
    let h = g.conv2d(x, params[0].1, Some(params[0].2), same);
    let h = g.relu(h);
    let h = g.conv2d(h, params[1].1, Some(params[1].2), same);
    let h = g.relu(h);
    let h = g.max_pool2x2(h);
    let h = g.conv2d(h, params[2].1, Some(params[2].2), same);
    let h = g.relu(h);
    let h = g.max_pool2x2(h);
    let h = g.flatten(h);
    let h = g.dense(h, params[3].1, Some(params[3].2));
    let h = g.relu(h);
    let logits = g.dense(h, params[4].1, Some(params[4].2));
    assert_close("stack logits", g.value(logits), &c.get("logits"), 1e-5);

    // loss = sum over n of log_softmax(logits)[n, target[n]], picked with a one-hot mask.
    let targets = c.get("target");
    let mut mask = vec![0.0; 2 * 6];
    for (n, &t) in targets.data().iter().enumerate() {
        mask[n * 6 + t as usize] = 1.0;
    }
    let mask = g.constant(Tensor::new(&[2, 6], mask));
    let ls = g.log_softmax(logits);
    let picked = g.mul(ls, mask);
    let loss = g.sum(picked);
    assert_close(
        "stack loss",
        &g.value(loss).reshape(&[1]),
        &c.get("loss"),
        1e-5,
    );

    let grads = g.backward(loss);
    assert_close("stack dx", grads.wrt(x), &c.get("dx"), 1e-5);
    for (name, w, b) in params {
        assert_close(
            &format!("stack {name}.dw"),
            grads.wrt(w),
            &c.get(&format!("{name}.dw")),
            1e-5,
        );
        assert_close(
            &format!("stack {name}.db"),
            grads.wrt(b),
            &c.get(&format!("{name}.db")),
            1e-5,
        );
    }
}
