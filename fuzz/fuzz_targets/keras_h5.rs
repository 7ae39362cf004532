//! Any bytes as a Keras legacy `.h5` file: the HDF5 reader and the model assembly must return Ok
//! or an error, never panic or hang (bad superblocks, cyclic or absurd object headers, huge
//! dimensions, strings that are not strings).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(model) = convert::keras_h5::read_legacy(data) {
        let _ = convert::keras_model::assemble(&model);
    }
});
