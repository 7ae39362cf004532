//! Any bytes as a Keras 3 `.keras` archive: the zip reader (sizes, names), config.json and the
//! weights' HDF5 must return Ok or an error, never panic, hang or allocate without bound.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = convert::keras_h5::read_archive(data) {
        let _ = convert::keras_model::assemble(&model);
    }
});
