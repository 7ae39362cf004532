//! A window into the tape: when tracing is on ([`enable`]), every [`Graph`] keeps, next to its
//! nodes, what a reader studying the gradients wants to see: each node's op, its inputs, the
//! model layer that produced it, its shape and size, the time its forward took, the norm of
//! its value, and after `backward` the time of its backward step and the norm of the gradient
//! that reached it. When a traced graph is dropped its trace becomes [`last`]: the `--trace`
//! option of the `viz` commands prints the last graph a command recorded.
//!
//! Tracing off (the default) costs one flag check per recorded node.
//!
//! The forward time of a node is the time since the previous node was recorded (the recording
//! methods compute an op's forward just before recording it), so it includes anything the caller
//! did in between; leaves (inputs, constants) get 0.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::tensor::Tensor;

static ENABLED: AtomicBool = AtomicBool::new(false);
static LAST: Mutex<Option<Trace>> = Mutex::new(None);

/// Turns tracing on or off for graphs created from now on.
pub fn enable(on: bool) {
    ENABLED.store(on, Ordering::SeqCst);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The trace of the last traced graph that was dropped.
pub fn last() -> Option<Trace> {
    LAST.lock().map(|t| t.clone()).unwrap_or(None)
}

/// One node of a traced graph.
#[derive(Clone, Debug)]
pub struct NodeTrace {
    /// Position on the tape.
    pub id: usize,
    /// The op's name (`Op::name`); `leaf` for inputs and constants.
    pub op: &'static str,
    /// The model layer that recorded the node, where there is one.
    pub name: Option<Arc<str>>,
    /// Ids of the nodes it read.
    pub inputs: Vec<usize>,
    pub shape: Vec<usize>,
    /// Size of its value (f32).
    pub bytes: usize,
    pub forward_ms: f64,
    /// Time of its backward step; `None` when no gradient reached it.
    pub backward_ms: Option<f64>,
    /// L2 norm of its value.
    pub value_norm: f64,
    /// L2 norm of d(loss)/d(node); `None` when no gradient reached it.
    pub grad_norm: Option<f64>,
}

/// The trace of one graph, nodes in tape order.
#[derive(Clone, Debug, Default)]
pub struct Trace {
    pub nodes: Vec<NodeTrace>,
}

/// L2 norm, summed in f64.
pub fn norm(t: &Tensor) -> f64 {
    t.data()
        .iter()
        .map(|&v| v as f64 * v as f64)
        .sum::<f64>()
        .sqrt()
}

/// What a traced graph records as it goes.
pub(crate) struct Recorder {
    pub(crate) trace: Trace,
    last_push: Instant,
}

impl Recorder {
    pub(crate) fn new() -> Recorder {
        Recorder {
            trace: Trace::default(),
            last_push: Instant::now(),
        }
    }

    pub(crate) fn push(&mut self, value: &Tensor, op: &'static str, inputs: Vec<usize>) {
        let now = Instant::now();
        let forward_ms = if inputs.is_empty() {
            0.0
        } else {
            now.duration_since(self.last_push).as_secs_f64() * 1e3
        };
        self.last_push = now;
        let id = self.trace.nodes.len();
        self.trace.nodes.push(NodeTrace {
            id,
            op,
            name: None,
            inputs,
            shape: value.shape().to_vec(),
            bytes: value.len() * 4,
            forward_ms,
            backward_ms: None,
            value_norm: norm(value),
            grad_norm: None,
        });
    }

    /// Names the nodes from `start` on that have no name yet.
    pub(crate) fn name_from(&mut self, start: usize, name: &str) {
        let name: Arc<str> = Arc::from(name);
        for node in self.trace.nodes.iter_mut().skip(start) {
            if node.name.is_none() {
                node.name = Some(name.clone());
            }
        }
    }
}

/// Keeps `trace` as the last one.
pub(crate) fn keep(trace: Trace) {
    if let Ok(mut slot) = LAST.lock() {
        *slot = Some(trace);
    }
}
