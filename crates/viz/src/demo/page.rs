//! The demo's `index.html`: every figure with its caption.

use std::path::Path;

use crate::error::Result;

/// The page's sections, in the notebook's order (section 5.4.1, 5.4.2, 5.4.3), then what
/// this project adds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Section {
    Activations,
    Filters,
    Heatmaps,
    Methods,
    Tape,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Activations,
        Section::Filters,
        Section::Heatmaps,
        Section::Methods,
        Section::Tape,
    ];

    fn title(self) -> &'static str {
        match self {
            Section::Activations => "1. Intermediate activations (5.4.1)",
            Section::Filters => "2. What the filters respond to (5.4.2)",
            Section::Heatmaps => "3. Heatmaps of class activation: Grad-CAM (5.4.3)",
            Section::Methods => "4. Twenty ways to ask where the evidence is",
            Section::Tape => "5. Inside the tape",
        }
    }

    fn intro(self) -> &'static str {
        match self {
            Section::Activations => "A photo goes through the network; each layer's channels are drawn side by side. Early layers keep the picture (edges, colours), later ones become sparse and abstract.",
            Section::Filters => "For each filter, an input image is grown by gradient ascent from grey noise to make the filter respond as much as possible: the pattern it looks for.",
            Section::Heatmaps => "Where in the photo is the evidence for the predicted class? The gradient of the class score at the last convolution weighs its channels.",
            Section::Methods => "The class activation maps and input-space attributions of pytorch-grad-cam and captum, side by side, each with its time and how well it orders the evidence (deletion and insertion curves).",
            Section::Tape => "The backward pass, layer by layer: how large the gradient is where it reaches each layer (the --trace option prints every node).",
        }
    }
}

/// A figure on the page: its section, its file (beside the page), its caption, the `viz`
/// command that makes it on its own (empty for the input image) and how long it took.
pub struct Figure {
    pub section: Section,
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

fn figure_html(f: &Figure) -> String {
    let made_by = if f.command.is_empty() {
        String::new()
    } else {
        format!(
            "<br><code>{}</code> ({:.1} s)",
            html_escape(&f.command),
            f.seconds
        )
    };
    format!(
        "<figure><img src=\"{}\" alt=\"{}\"><figcaption>{}{made_by}</figcaption></figure>\n",
        html_escape(&f.file),
        html_escape(&f.caption),
        html_escape(&f.caption)
    )
}

/// Writes `dir/index.html` (atomically): the figures grouped by section, in the notebook's
/// order.
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
    for section in Section::ALL {
        let mut in_section = figures.iter().filter(|f| f.section == section).peekable();
        if in_section.peek().is_none() {
            continue;
        }
        html += &format!(
            "<h2>{}</h2>\n<p>{}</p>\n",
            html_escape(section.title()),
            html_escape(section.intro())
        );
        for f in in_section {
            html += &figure_html(f);
        }
    }
    if !note.is_empty() {
        html += &format!("<h2>Skipped</h2>\n<p><em>{}</em></p>\n", html_escape(note));
    }
    html += "</body></html>\n";
    Ok(tensor::io::write_atomically(
        &dir.join("index.html"),
        html.as_bytes(),
    )?)
}
