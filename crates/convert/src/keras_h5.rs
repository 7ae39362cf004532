//! Keras files, read in pure Rust: the legacy HDF5 layouts (`save_weights` and
//! `model.save("x.h5")`) with the `hdf5-reader` crate, and Keras 3's `.keras` zip archive with
//! the `zip` crate. Both end as a [`KerasModel`] (see `keras_model`).
//!
//! Legacy HDF5: a group (the root, or `model_weights` in a whole-model file, whose root attribute
//! `model_config` is the architecture as JSON) with the attribute `layer_names`; one group per
//! layer whose attribute `weight_names` lists its datasets in order, as paths inside the layer's
//! group (`block1_conv1/kernel`, `sequential/dense/kernel`, or Keras 2's `block1_conv1_W_1:0`).
//! A nested model is one layer whose weight names start with its sub-layers' names.
//!
//! `.keras`: `config.json` (the architecture) and `model.weights.h5`, where each layer's
//! weights are the datasets `0`, `1`, ... of a group `.../vars` whose attribute `name` is the
//! layer's name; nested models nest their groups (`layers/functional/layers/conv2d/vars`).
//!
//! Untrusted input: the archive's entries are read into memory only after checking their
//! declared sizes against [`MAX_ENTRY_BYTES`], names are matched exactly (no path is ever
//! joined to the file system), and every dataset must be float32 with at most 2^31 values.

use std::collections::HashMap;
use std::io::Read;

use hdf5_reader::group::Group;
use hdf5_reader::Hdf5File;
use serde_json::Value;
use tensor::Tensor;

use crate::keras_model::KerasModel;

/// The largest archive entry read (the weights of VGG16 with the ImageNet head are 553 MB).
pub const MAX_ENTRY_BYTES: u64 = 2 << 30;

fn h5err(e: hdf5_reader::error::Error) -> String {
    format!("not a readable HDF5 file: {e}")
}

/// A string-array attribute; an absent or empty one (h5py writes empty lists as float arrays)
/// is an empty list. Keras splits long lists into `NAME0`, `NAME1`, ... chunks.
fn strings(group: &Group, name: &str) -> Result<Vec<String>, String> {
    let attrs = group.attributes().map_err(h5err)?;
    let read = |a: &hdf5_reader::Attribute| -> Result<Vec<String>, String> {
        if a.num_elements().map_err(h5err)? == 0 {
            return Ok(Vec::new());
        }
        a.read_strings()
            .map_err(|e| format!("attribute '{name}': {e}"))
    };
    if let Some(a) = attrs.iter().find(|a| a.name == name) {
        return read(a);
    }
    let mut out = Vec::new();
    for i in 0.. {
        match attrs.iter().find(|a| a.name == format!("{name}{i}")) {
            Some(a) => out.extend(read(a)?),
            None => break,
        }
    }
    Ok(out)
}

/// The dataset at `path` (components separated by '/') under `group`, as f32.
fn dataset(group: &Group, path: &str) -> Result<Tensor, String> {
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let Some((last, dirs)) = parts.split_last() else {
        return Err(format!("empty dataset name in group '{}'", group.name()));
    };
    let mut g = group.clone();
    for d in dirs {
        g = g.group(d).map_err(|e| format!("'{path}': {e}"))?;
    }
    let ds = g.dataset(last).map_err(|e| format!("'{path}': {e}"))?;
    let dims: Vec<usize> = ds.shape().iter().map(|&d| d as usize).collect();
    let count = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= 1 << 31)
        .ok_or_else(|| format!("'{path}' has an absurd shape {dims:?}"))?;
    let mut data = vec![0.0f32; count];
    ds.read_into::<f32>(&mut data)
        .map_err(|e| format!("'{path}': {e} (weights must be float32)"))?;
    let dims = if dims.is_empty() { vec![1] } else { dims };
    Ok(Tensor::new(&dims, data))
}

/// A legacy `.h5` (bytes of the whole file).
pub fn read_legacy(bytes: &[u8]) -> Result<KerasModel, String> {
    read_legacy_file(&Hdf5File::from_bytes(bytes).map_err(h5err)?)
}

/// A legacy `.h5` file, memory-mapped (no copy of the file in memory).
pub fn read_legacy_path(path: &std::path::Path) -> Result<KerasModel, String> {
    read_legacy_file(&Hdf5File::open(path).map_err(h5err)?)
}

fn read_legacy_file(file: &Hdf5File) -> Result<KerasModel, String> {
    let root = file.root_group().map_err(h5err)?;
    let attrs = root.attributes().map_err(h5err)?;
    let config = match attrs.iter().find(|a| a.name == "model_config") {
        Some(a) => {
            let text = a
                .read_string()
                .map_err(|e| format!("attribute 'model_config': {e}"))?;
            Some(
                serde_json::from_str::<Value>(&text)
                    .map_err(|e| format!("model_config is not JSON: {e}"))?,
            )
        }
        None => None,
    };
    let weights_group = if config.is_some() {
        root.group("model_weights")
            .map_err(|e| format!("a model_config but no model_weights group: {e}"))?
    } else {
        root
    };
    let layer_names = strings(&weights_group, "layer_names")?;
    if layer_names.is_empty() {
        return Err("no 'layer_names' attribute: not a Keras weights file".into());
    }
    let mut weights: HashMap<Vec<String>, Vec<Tensor>> = HashMap::new();
    for layer in &layer_names {
        let g = weights_group
            .group(layer)
            .map_err(|e| format!("layer '{layer}': {e}"))?;
        for name in strings(&g, "weight_names")? {
            let t = dataset(&g, &name).map_err(|e| format!("layer '{layer}': {e}"))?;
            // The owner: the component before the variable's own name, when there is one
            // (`block1_conv1/kernel` in a nested `vgg16`), else the layer itself.
            let parts: Vec<&str> = name.split('/').collect();
            let owner = if parts.len() >= 2 {
                parts[parts.len() - 2]
            } else {
                layer.as_str()
            };
            let path = if owner == layer.as_str() {
                vec![layer.clone()]
            } else {
                vec![layer.clone(), owner.to_string()]
            };
            weights.entry(path).or_default().push(t);
        }
    }
    Ok(KerasModel { config, weights })
}

/// The weights of a `.keras` archive's `model.weights.h5`.
fn read_weights_h5(bytes: &[u8]) -> Result<HashMap<Vec<String>, Vec<Tensor>>, String> {
    let file = Hdf5File::from_bytes(bytes).map_err(h5err)?;
    let mut weights = HashMap::new();
    let root = file.root_group().map_err(h5err)?;
    collect(&root, &[], &mut weights, 0)?;
    Ok(weights)
}

/// Walks `group`: a `vars` child names a layer (its `name` attribute) and holds its weights
/// `0`, `1`, ...; `layers` children hold sub-layers. `names` is the chain of layer names so far
/// (the outermost model excluded).
fn collect(
    group: &Group,
    names: &[String],
    out: &mut HashMap<Vec<String>, Vec<Tensor>>,
    depth: usize,
) -> Result<(), String> {
    if depth > 32 {
        return Err("layers nested more than 32 deep".into());
    }
    let (children, _) = group.member_names().map_err(h5err)?;
    let mut names = names.to_vec();
    if children.iter().any(|c| c == "vars") {
        let vars = group.group("vars").map_err(h5err)?;
        let name = vars
            .attributes()
            .map_err(h5err)?
            .iter()
            .find(|a| a.name == "name")
            .and_then(|a| a.read_string().ok());
        if depth > 0 {
            names.push(name.unwrap_or_default());
        }
        let (_, datasets) = vars.member_names().map_err(h5err)?;
        let mut indexed: Vec<(usize, &String)> = datasets
            .iter()
            .filter_map(|d| d.parse().ok().map(|i| (i, d)))
            .collect();
        indexed.sort();
        if !indexed.is_empty() {
            let tensors = indexed
                .iter()
                .map(|(_, d)| dataset(&vars, d))
                .collect::<Result<Vec<_>, _>>()?;
            out.insert(names.clone(), tensors);
        }
    }
    if children.iter().any(|c| c == "layers") {
        let layers = group.group("layers").map_err(h5err)?;
        let (subs, _) = layers.member_names().map_err(h5err)?;
        for s in subs {
            let g = layers.group(&s).map_err(h5err)?;
            collect(&g, &names, out, depth + 1)?;
        }
    }
    Ok(())
}

/// A `.keras` archive (bytes of the whole file).
pub fn read_archive(bytes: &[u8]) -> Result<KerasModel, String> {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| format!("not a .keras archive (zip): {e}"))?;
    let mut entry = |name: &str| -> Result<Vec<u8>, String> {
        let mut f = zip
            .by_name(name)
            .map_err(|_| format!("the archive has no '{name}'"))?;
        if f.size() > MAX_ENTRY_BYTES {
            return Err(format!(
                "'{name}' claims {} bytes, more than the {MAX_ENTRY_BYTES} allowed",
                f.size()
            ));
        }
        let declared = f.size();
        let mut data = Vec::with_capacity(declared.min(1 << 20) as usize);
        // Never more than declared (a zip bomb that lies about its size stops here).
        (&mut f)
            .take(declared + 1)
            .read_to_end(&mut data)
            .map_err(|e| format!("'{name}': {e}"))?;
        if data.len() as u64 != declared {
            return Err(format!(
                "'{name}' holds more or less than its declared {declared} bytes"
            ));
        }
        Ok(data)
    };
    let config = entry("config.json")?;
    let config: Value =
        serde_json::from_slice(&config).map_err(|e| format!("config.json is not JSON: {e}"))?;
    let weights = read_weights_h5(&entry("model.weights.h5")?)?;
    Ok(KerasModel {
        config: Some(config),
        weights,
    })
}
