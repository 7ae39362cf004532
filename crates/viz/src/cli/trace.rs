//! `--trace FILE|-`: the tape of the last graph a command recorded (see `tensor::trace`), as
//! one JSON object `{"nodes": [...]}` in FILE, or as an aligned table on stdout with `-`.

use std::path::PathBuf;

use clap::Args;
use serde_json::{json, Value};
use tensor::trace::{NodeTrace, Trace};

use crate::error::{invalid, Result};

/// `--trace FILE|-`.
#[derive(Args, Debug, Clone)]
pub struct TraceArg {
    /// Write the last recorded graph (op, layer, inputs, shape, bytes, forward/backward ms,
    /// value and gradient norms of every node) as JSON to FILE, or as a table to stdout with -.
    #[arg(long, value_name = "FILE|-")]
    pub trace: Option<PathBuf>,
}

impl TraceArg {
    /// Checks the output path (`-` is stdout) and turns tracing on when asked; call before the
    /// work.
    pub fn start(&self) -> Result<()> {
        if let Some(p) = self.trace.as_ref().filter(|p| p.as_os_str() != "-") {
            crate::output::check_output(p, &[])?;
        }
        if self.trace.is_some() {
            tensor::trace::enable(true);
        }
        Ok(())
    }

    /// Writes or prints the trace; call after the work.
    pub fn finish(&self) -> Result<()> {
        let Some(path) = &self.trace else {
            return Ok(());
        };
        let Some(trace) = tensor::trace::last() else {
            return invalid!("--trace: this command recorded no graph");
        };
        if path.as_os_str() == "-" {
            print!("{}", table(&trace));
        } else {
            let text = serde_json::to_string_pretty(&to_json(&trace)).expect("JSON");
            tensor::io::write_atomically(path, format!("{text}\n").as_bytes())?;
        }
        Ok(())
    }
}

fn node_json(n: &NodeTrace) -> Value {
    json!({
        "id": n.id,
        "op": n.op,
        "name": n.name.as_deref(),
        "inputs": n.inputs,
        "shape": n.shape,
        "bytes": n.bytes,
        "forward_ms": n.forward_ms,
        "backward_ms": n.backward_ms,
        "value_norm": n.value_norm,
        "grad_norm": n.grad_norm,
    })
}

/// `{"nodes": [...]}`.
pub fn to_json(trace: &Trace) -> Value {
    json!({ "nodes": trace.nodes.iter().map(node_json).collect::<Vec<_>>() })
}

/// One line per node, columns aligned.
pub fn table(trace: &Trace) -> String {
    let opt =
        |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
    let rows: Vec<[String; 10]> = trace
        .nodes
        .iter()
        .map(|n| {
            [
                n.id.to_string(),
                n.op.to_string(),
                n.name.as_deref().unwrap_or("").to_string(),
                n.inputs
                    .iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                format!("{:?}", n.shape).replace(' ', ""),
                n.bytes.to_string(),
                format!("{:.3}", n.forward_ms),
                opt(n.backward_ms, 3),
                format!("{:.4e}", n.value_norm),
                n.grad_norm.map_or("-".to_string(), |g| format!("{g:.4e}")),
            ]
        })
        .collect();
    let header = [
        "id", "op", "layer", "inputs", "shape", "bytes", "fwd ms", "bwd ms", "|value|", "|grad|",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.len());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, (c, w)) in cells.iter().zip(&widths).enumerate() {
            // Text columns left-aligned, numbers right-aligned.
            if i <= 4 {
                s.push_str(&format!("{c:<w$}  "));
            } else {
                s.push_str(&format!("{c:>w$}  "));
            }
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(header.to_vec());
    for r in &rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}
