//! Any bytes as an ONNX file: the protobuf reader must return Ok or an error, never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(tensors) = convert::onnx::read_initializers(data) {
        let _ = tensors.len();
    }
    let _ = convert::onnx::vgg16_conv_weights_from_onnx(data);
});
