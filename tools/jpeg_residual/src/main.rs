//! Decodes a JPEG with the pure-Rust decoders (the `image` crate = zune-jpeg, `jpeg-decoder`,
//! zune-jpeg directly) and writes raw RGB8 files `OUT.image.rgb`, `OUT.jpegdec.rgb`,
//! `OUT.zune.rgb`; prints the width and height. Driven by `tools/jpeg_residual.py`.
use std::io::Write;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (input, out) = (&args[1], &args[2]);
    let bytes = std::fs::read(input).unwrap();
    // 1. image crate (zune-jpeg inside)
    let img = image::load_from_memory(&bytes).unwrap().to_rgb8();
    std::fs::File::create(format!("{out}.image.rgb")).unwrap().write_all(img.as_raw()).unwrap();
    // 2. jpeg-decoder
    let mut d = jpeg_decoder::Decoder::new(std::io::Cursor::new(&bytes));
    let px = d.decode().unwrap();
    let info = d.info().unwrap();
    let rgb: Vec<u8> = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => px,
        jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&v| [v, v, v]).collect(),
        f => panic!("{f:?}"),
    };
    std::fs::File::create(format!("{out}.jpegdec.rgb")).unwrap().write_all(&rgb).unwrap();
    // 3. zune-jpeg directly, RGB output
    let opts = zune_jpeg::zune_core::options::DecoderOptions::default()
        .jpeg_set_out_colorspace(zune_jpeg::zune_core::colorspace::ColorSpace::RGB);
    let mut z = zune_jpeg::JpegDecoder::new_with_options(std::io::Cursor::new(&bytes), opts);
    let px = z.decode().unwrap();
    std::fs::File::create(format!("{out}.zune.rgb")).unwrap().write_all(&px).unwrap();
    println!("{} {}", img.width(), img.height());
}
