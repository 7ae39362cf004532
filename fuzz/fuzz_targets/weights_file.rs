//! Any bytes as a weights file: loading must return Ok or a clear error, never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = std::env::temp_dir().join(format!("fuzz-weights-{}.safetensors", std::process::id()));
    std::fs::write(&path, data).unwrap();
    if let Ok(file) = vgg16::weights::WeightFile::load(&path) {
        let _ = vgg16::Vgg16::from_weights(file, "fuzz");
    }
});
