//! Any bytes as an ONNX file: decoding (prost) and rebuilding the model from the graph must
//! return Ok or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((model, _)) = convert::onnx::read(data) {
        let _ = model.tensors.len();
    }
});
