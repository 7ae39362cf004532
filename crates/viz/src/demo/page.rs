//! The demo's `index.html`: every figure with its caption.

use std::path::Path;

use crate::error::Result;

/// A figure on the page: its file (beside the page), its caption, the `viz` command that makes
/// it on its own (empty for the input image) and how long it took.
pub struct Figure {
    pub file: String,
    pub caption: String,
    pub command: String,
    pub seconds: f64,
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// Writes `dir/index.html` (atomically).
pub fn write_index(dir: &Path, figures: &[Figure], note: &str, source: &str) -> Result<()> {
    let mut html = String::from(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>What does a convnet see? VGG16</title>\n\
         <style>body{font-family:sans-serif;max-width:1100px;margin:2em auto;background:#fafafa}\
         figure{margin:2em 0}img{max-width:100%;image-rendering:pixelated;border:1px solid #ccc}</style></head><body>\n\
         <h1>What does a convnet see? VGG16</h1>\n",
    );
    html += &format!(
        "<p>Weights: {}. VGG16 by Karen Simonyan and Andrew Zisserman (CC BY 4.0). \
         Figures follow Deep Learning with Python (1st edition, section 5.4); filter pictures are shown in true RGB.</p>\n",
        html_escape(source)
    );
    for f in figures {
        let made_by = if f.command.is_empty() {
            String::new()
        } else {
            format!(
                "<br><code>{}</code> ({:.1} s)",
                html_escape(&f.command),
                f.seconds
            )
        };
        html += &format!(
            "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}{made_by}</figcaption></figure>\n",
            html_escape(&f.file),
            html_escape(&f.caption),
            html_escape(&f.caption)
        );
    }
    if !note.is_empty() {
        html += &format!("<p><em>{}</em></p>\n", html_escape(note));
    }
    html += "</body></html>\n";
    Ok(tensor::io::write_atomically(
        &dir.join("index.html"),
        html.as_bytes(),
    )?)
}
