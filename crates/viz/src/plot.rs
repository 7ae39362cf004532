//! Line plots as SVG (deletion and insertion curves): a few lines of text, viewable in any
//! browser, no font or drawing library needed.

use std::fmt::Write;

/// One curve: its points' y values (x evenly spread over [0, 1]), colour and legend.
pub struct Series<'a> {
    pub values: &'a [f32],
    pub colour: &'a str,
    pub label: String,
}

/// An SVG plot of `series` over x in [0, 1] and y in [0, y_max], titled `title`.
pub fn line_plot(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_max: f32,
) -> String {
    let (width, height, left, right, top, bottom) = (560.0, 380.0, 60.0, 20.0, 40.0, 50.0);
    let (pw, ph) = (width - left - right, height - top - bottom);
    let y_max = if y_max > 0.0 { y_max } else { 1.0 };
    let mut svg = open_svg(width as f64, height as f64, title);
    // Axes and ticks.
    let _ = writeln!(
        svg,
        r#"<path d="M{left} {top} V{} H{}" fill="none" stroke="black"/>"#,
        top + ph,
        left + pw
    );
    for i in 0..=5 {
        let f = i as f32 / 5.0;
        let (x, y) = (left + f * pw, top + ph - f * ph);
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{}" text-anchor="middle">{f:.1}</text>"#,
            top + ph + 16.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{:.2}</text>"#,
            left - 6.0,
            y + 4.0,
            f * y_max
        );
        let _ = writeln!(
            svg,
            r##"<path d="M{left} {y} H{}" stroke="#ddd"/>"##,
            left + pw
        );
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        left + pw / 2.0,
        height - 12.0,
        escape(x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text x="16" y="{}" text-anchor="middle" transform="rotate(-90 16 {})">{}</text>"#,
        top + ph / 2.0,
        top + ph / 2.0,
        escape(y_label)
    );
    for (k, s) in series.iter().enumerate() {
        let n = s.values.len().max(2) - 1;
        let points: Vec<String> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let x = left + pw * i as f32 / n as f32;
                let y = top + ph - ph * (v / y_max).clamp(0.0, 1.0);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = writeln!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>"#,
            points.join(" "),
            s.colour
        );
        let ly = top + 16.0 + 18.0 * k as f32;
        let _ = writeln!(
            svg,
            r#"<path d="M{} {ly} h24" stroke="{}" stroke-width="2"/><text x="{}" y="{}">{}</text>"#,
            left + pw - 220.0,
            s.colour,
            left + pw - 190.0,
            ly + 4.0,
            escape(&s.label)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// The start of a plot: the `<svg>` element, a white background and the centred title.
fn open_svg(width: f64, height: f64, title: &str) -> String {
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="14">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A horizontal bar chart of positive `values` on a log scale (one bar per labelled item, in
/// order, the value printed at the bar's end): gradient norms across layers span many orders of
/// magnitude.
pub fn log_bar_chart(title: &str, x_label: &str, items: &[(String, f64)]) -> String {
    let positive: Vec<f64> = items.iter().map(|i| i.1).filter(|v| *v > 0.0).collect();
    let lo = positive
        .iter()
        .copied()
        .fold(f64::INFINITY, f64::min)
        .log10()
        .floor();
    let hi = positive.iter().copied().fold(0.0, f64::max).log10().ceil();
    let (lo, hi) = if lo.is_finite() && hi > lo {
        (lo, hi)
    } else {
        (-1.0, 1.0)
    };
    let (left, right, top, row) = (130.0, 90.0, 44.0, 20.0);
    let width = 640.0;
    let pw = width - left - right;
    let height = top + row * items.len() as f64 + 50.0;
    let x_of = |v: f64| left + pw * ((v.max(10f64.powf(lo)).log10() - lo) / (hi - lo));
    let mut svg = open_svg(width, height, title);
    for e in (lo as i32)..=(hi as i32) {
        let x = x_of(10f64.powi(e));
        let _ = writeln!(
            svg,
            r##"<path d="M{x} {top} V{}" stroke="#ddd"/>"##,
            height - 44.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{x}" y="{}" text-anchor="middle">1e{e}</text>"#,
            height - 30.0
        );
    }
    for (k, (label, v)) in items.iter().enumerate() {
        let y = top + row * k as f64;
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end">{}</text>"#,
            left - 6.0,
            y + 14.0,
            escape(label)
        );
        if *v > 0.0 {
            let end = x_of(*v);
            let _ = writeln!(
                svg,
                r##"<rect x="{left}" y="{}" width="{:.1}" height="{}" fill="#1f77b4"/><text x="{}" y="{}">{v:.3e}</text>"##,
                y + 3.0,
                (end - left).max(1.0),
                row - 6.0,
                end + 4.0,
                y + 14.0
            );
        }
    }
    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        left + pw / 2.0,
        height - 10.0,
        escape(x_label)
    );
    svg.push_str("</svg>\n");
    svg
}
