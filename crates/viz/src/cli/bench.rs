//! `viz bench`: medians of the main workloads (see [`crate::workloads`]), on random weights
//! unless `--weights` is given.

use clap::Args;
use serde_json::json;
use vgg16::Vgg16;

use super::args::{Context, JsonArg, WeightsArg};
use super::progress;
use crate::error::Result;
use crate::locate::load_model;
use crate::workloads;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    pub weights: WeightsArg,
    /// Timed runs per workload (after one warm-up); the median is reported.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub runs: u32,
    /// Also time the notebook's grid figure (4 layers x 64 filters x 40 steps at 64 px).
    #[arg(long)]
    pub grid: bool,
    /// Also time these attribution methods (comma-separated, or "all") with `viz attribute`'s
    /// defaults at block5_conv3 (one run each; key `method_<name>_ms`).
    #[arg(long, value_delimiter = ',')]
    pub methods: Vec<String>,
    /// Also time Score-CAM at block3_conv3 (256 masked forwards at 224 px; one run).
    #[arg(long)]
    pub scorecam: bool,
    /// Also time the lucid recipe: filters 0..8 of block4_conv1, 128 px, 32 steps (one run).
    #[arg(long)]
    pub lucid: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(a: BenchArgs, ctx: Context) -> Result<()> {
    let model = match &a.weights.weights {
        Some(_) => load_model(&a.weights, true)?,
        None => Vgg16::random_standard(0, true),
    };
    let runs = a.runs as usize;
    let bar = progress::bar(workloads::ticks(runs, a.grid), ctx.quiet, "bench");
    let t = workloads::measure(&model, runs, a.grid, &mut |what, ticked| {
        if ticked {
            bar.inc(1);
        } else {
            bar.set_message(what.to_string());
        }
    })?;
    let scorecam_ms = if a.scorecam {
        bar.set_message("Score-CAM block3_conv3 224");
        let input = workloads::input_224();
        workloads::forward(&model, &input)?; // warm-up
        let started = std::time::Instant::now();
        workloads::scorecam(&model, &input)?;
        Some(started.elapsed().as_secs_f64() * 1e3)
    } else {
        None
    };
    let lucid_ms = if a.lucid {
        bar.set_message("lucid block4_conv1 128 px x8, 32 steps");
        let mut config = workloads::lucid_config(&model)?;
        config.steps = 1;
        featureviz::render(&model, &config, |_| {})?; // warm-up
        config.steps = workloads::LUCID_STEPS;
        let started = std::time::Instant::now();
        featureviz::render(&model, &config, |_| {})?;
        Some(started.elapsed().as_secs_f64() * 1e3)
    } else {
        None
    };
    let mut method_ms = Vec::new();
    let names: Vec<String> = if a.methods.iter().any(|m| m == "all") {
        attribution::METHODS
            .iter()
            .map(|(n, _)| n.to_string())
            .collect()
    } else {
        a.methods.clone()
    };
    if !names.is_empty() {
        let input = workloads::input_224();
        let opts = attribution::Options::new(model.layer_index("block5_conv3")?);
        // Warm-up (untimed), as the PyTorch side does: one backward to the input at 224 px.
        let saliency = attribution::Method::parse("saliency")?;
        attribution::attribute(&model, &input, saliency, None, &opts)?;
        for name in names {
            let method = attribution::Method::parse(&name)?;
            bar.set_message(format!("attribute --method {name}"));
            let started = std::time::Instant::now();
            attribution::attribute(&model, &input, method, None, &opts)?;
            method_ms.push((method.name(), started.elapsed().as_secs_f64() * 1e3));
        }
    }
    bar.finish_and_clear();
    let threads = rayon::current_num_threads();
    if a.json.json {
        let mut v = json!({
            "forward_224_ms": t.forward_ms,
            "gradcam_224_ms": t.gradcam_ms,
            "ascent_150_block3_conv1_40_ms": t.ascent_ms,
            "threads": threads,
            "weights": model.source,
        });
        if let Some(g) = t.grid_ms {
            v["grid_64_ms"] = json!(g);
        }
        if let Some(s) = scorecam_ms {
            v["scorecam_224_block3_conv3_ms"] = json!(s);
        }
        if let Some(l) = lucid_ms {
            v["lucid_128_block4_conv1_8x32_ms"] = json!(l);
        }
        for (name, ms) in &method_ms {
            v[format!("method_{name}_ms")] = json!(ms);
        }
        println!("{v}");
    } else {
        println!("threads: {threads}; weights: {}", model.source);
        println!(
            "forward 224x224:                      {:9.1} ms (median of {})",
            t.forward_ms, t.runs
        );
        println!(
            "Grad-CAM 224x224:                     {:9.1} ms (median of {})",
            t.gradcam_ms, t.runs
        );
        println!(
            "ascent block3_conv1 150 px, 40 steps: {:9.1} ms (median of {})",
            t.ascent_ms, t.ascent_runs
        );
        for (name, ms) in &method_ms {
            println!("attribute --method {name:<22} {ms:9.1} ms (one run)");
        }
        if let Some(s) = scorecam_ms {
            println!("Score-CAM block3_conv3 224x224:       {s:9.1} ms (one run)");
        }
        if let Some(l) = lucid_ms {
            println!("lucid block4_conv1 128 px x8, 32 st: {l:9.1} ms (one run)");
        }
        if let Some(g) = t.grid_ms {
            println!("grid figure (4 x 64 filters, 64 px):  {g:9.1} ms (one run)");
        }
    }
    Ok(())
}
