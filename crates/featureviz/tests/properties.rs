//! The lucid recipe's parts on a thin random VGG16: what each promises, checked directly.

use featureviz::adam::Adam;
use featureviz::param::{ImageParam, Parameterisation};
use featureviz::quality::{colourfulness, high_frequency_share};
use featureviz::transforms::{self, Transform};
use featureviz::{render, Config, Objective};
use tensor::{Graph, Rng, Tensor};
use vgg16::{Preprocessing, Vgg16};

const THIN: [usize; 13] = [4, 4, 6, 6, 8, 8, 8, 8, 8, 8, 8, 8, 8];

fn thin_model(classifier: bool) -> Vgg16 {
    Vgg16::random(3, &THIN, classifier.then_some((16, 16, 5)))
}

fn quick(model: &Vgg16, layer: &str, filters: Vec<usize>) -> Config {
    let mut c = Config::lucid(
        model.layer_index(layer).unwrap(),
        filters,
        Preprocessing::Caffe,
    );
    c.size = 32;
    c.steps = 12;
    c
}

#[test]
fn adam_steps_by_the_learning_rate_then_settles_at_the_minimum() {
    // f(x) = (x - 3)^2: the first bias-corrected step is exactly lr against the gradient's sign.
    let mut x = Tensor::new(&[2], vec![0.0, 10.0]);
    let mut adam = Adam::new(0.1, 2);
    let grad = |x: &Tensor| x.map(|v| 2.0 * (v - 3.0));
    let g = grad(&x);
    adam.step(&mut x, &g);
    assert!((x.data()[0] - 0.1).abs() < 1e-6 && (x.data()[1] - 9.9).abs() < 1e-6);
    for _ in 0..2000 {
        let g = grad(&x);
        adam.step(&mut x, &g);
    }
    assert!(
        x.data().iter().all(|v| (v - 3.0).abs() < 1e-2),
        "{:?}",
        x.data()
    );
}

#[test]
fn fourier_parameters_scale_low_frequencies_up() {
    // A unit impulse at frequency (0, 1) and one at (0, size / 2): the same parameter size,
    // but the low frequency makes a picture size / 2 ... times stronger.
    let size = 16;
    let mut param = ImageParam::new(Parameterisation::Fourier { decay: 1.0 }, 1, size, 0);
    let strength = |param: &mut ImageParam, kx: usize| {
        param.values = Tensor::zeros(param.values.shape());
        param.values.data_mut()[kx * 2] = 1.0;
        let mut g = Graph::no_grad();
        let p = g.constant(param.values.clone());
        let picture = param.record(&mut g, p);
        g.value(picture).data()[..size * size]
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt()
    };
    let low = strength(&mut param, 1);
    let high = strength(&mut param, size / 2);
    // Column 1 has frequency 1/16 and multiplicity 2; column 8 has 1/2 and multiplicity 1.
    let want = (16.0 * 2f32.sqrt()) / (2.0 * 1.0);
    assert!((low / high - want).abs() < 1e-3 * want, "{low} / {high}");
}

#[test]
fn transforms_are_reproducible_and_sizes_add_up() {
    let standard = transforms::standard();
    let mut a = Rng::new(9);
    let mut b = Rng::new(9);
    for _ in 0..20 {
        let drawn = transforms::draw(&standard, 40, &mut a);
        assert_eq!(drawn, transforms::draw(&standard, 40, &mut b));
        let mut g = Graph::no_grad();
        let x = g.constant(Tensor::zeros(&[1, 3, 40, 40]));
        let y = transforms::apply(&mut g, x, &drawn);
        let side = g.value(y).shape()[2];
        assert!(side >= transforms::smallest_output(&standard, 40), "{side}");
        // Largest: pad to 64, the first jitter's crop to 56, scale 1.1 to 62, crop to 58.
        assert!(side <= 58, "{side}");
    }
    assert_eq!(
        transforms::smallest_output(&[Transform::Jitter { pixels: 8 }], 40),
        32
    );
}

#[test]
fn render_climbs_and_is_reproducible() {
    let model = thin_model(false);
    let config = quick(&model, "block3_conv1", vec![0, 3, 5]);
    // With the random transforms each step sees another crop, so the objective is noisy:
    // a run is checked for being reproducible, and the climb without them.
    let a = render(&model, &config, |_| {}).unwrap();
    assert_eq!(a.rgb.shape(), &[3, 3, 32, 32]);
    assert!(a.rgb.data().iter().all(|v| (0.0..=1.0).contains(v)));
    let b = render(&model, &config, |_| {}).unwrap();
    assert_eq!(a.rgb.data(), b.rgb.data());
    let mut reseeded = config.clone();
    reseeded.seed = 1;
    assert_ne!(
        render(&model, &reseeded, |_| {}).unwrap().rgb.data(),
        a.rgb.data()
    );
    let mut still = config.clone();
    still.transforms.clear();
    let s = render(&model, &still, |_| {}).unwrap();
    for o in &s.objectives {
        assert!(o.last().unwrap() > &o[0], "objective did not rise: {o:?}");
    }
    // Pixel parameterisation, neuron objective, no transforms: the same promises.
    let mut other = config.clone();
    other.param = Parameterisation::Pixel;
    other.target.objective = Objective::Neuron;
    other.transforms.clear();
    let c = render(&model, &other, |_| {}).unwrap();
    for o in &c.objectives {
        assert!(
            o.last().unwrap() > &o[0],
            "neuron objective did not rise: {o:?}"
        );
    }
}

#[test]
fn class_objective_climbs_the_logit_and_needs_a_classifier() {
    let model = thin_model(true);
    let mut config = quick(&model, "block1_conv1", vec![2, 4]);
    config.target.objective = Objective::Class;
    config.size = 40;
    let r = render(&model, &config, |_| {}).unwrap();
    for o in &r.objectives {
        assert!(o.last().unwrap() > &o[0], "logit did not rise: {o:?}");
    }
    config.target.targets = vec![5];
    let err = render(&model, &config, |_| {}).err().unwrap().to_string();
    assert!(err.contains("class 5 does not exist"), "{err}");
    let notop = thin_model(false);
    let err = render(&notop, &config, |_| {}).err().unwrap().to_string();
    assert!(err.contains("needs a model with its classifier"), "{err}");
}

#[test]
fn bad_requests_are_refused_before_any_work() {
    let model = thin_model(false);
    let mut config = quick(&model, "block2_conv1", vec![6]);
    let err = render(&model, &config, |_| panic!("no step"))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("filter 6 does not exist"), "{err}");
    config.target.targets = vec![0];
    config.lr = f32::NAN;
    assert!(render(&model, &config, |_| panic!()).is_err());
    config.lr = 0.05;
    config.size = 1;
    assert!(render(&model, &config, |_| panic!()).is_err());
}

#[test]
fn quality_numbers_on_pictures_with_known_answers() {
    let side = 16;
    let plane = side * side;
    let picture = |f: &dyn Fn(usize, usize, usize) -> f32| {
        let mut data = vec![0.0; 3 * plane];
        for c in 0..3 {
            for y in 0..side {
                for x in 0..side {
                    data[c * plane + y * side + x] = f(c, y, x);
                }
            }
        }
        Tensor::new(&[1, 3, side, side], data)
    };
    let grey = picture(&|_, _, _| 0.5);
    assert_eq!(colourfulness(&grey), vec![0.0]);
    let red = picture(&|c, _, _| if c == 0 { 1.0 } else { 0.0 });
    let want = 0.3 * (255.0f32.powi(2) + 127.5f32.powi(2)).sqrt();
    assert!((colourfulness(&red)[0] - want).abs() < 1e-3);
    let checkerboard = picture(&|_, y, x| ((x + y) % 2) as f32);
    assert!((high_frequency_share(&checkerboard)[0] - 1.0).abs() < 1e-6);
    let wave = picture(&|_, _, x| (2.0 * std::f32::consts::PI * x as f32 / side as f32).cos());
    assert!(high_frequency_share(&wave)[0] < 1e-6);
}

/// The mean cosine similarity between the Gram matrices of `rgb`'s pictures at `layer`.
fn style_cosine(model: &Vgg16, layer: usize, rgb: &Tensor) -> f64 {
    let mut g = Graph::no_grad();
    let x = g.constant(rgb.clone());
    let input = featureviz::color::to_model_input(&mut g, x, Preprocessing::Caffe);
    let act = model
        .forward(&mut g, input, vgg16::Span::to(layer))
        .unwrap();
    let [b, c, h, w] = g.value(act).dims4();
    let data = g.value(act).data();
    let gram = |i: usize| -> Vec<f64> {
        let f = &data[i * c * h * w..(i + 1) * c * h * w];
        let mut out = vec![0.0; c * c];
        for a in 0..c {
            for bb in 0..c {
                out[a * c + bb] = (0..h * w)
                    .map(|p| f[a * h * w + p] as f64 * f[bb * h * w + p] as f64)
                    .sum();
            }
        }
        out
    };
    let grams: Vec<Vec<f64>> = (0..b).map(gram).collect();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let mut total = 0.0;
    for i in 0..b {
        for j in 0..b {
            if i != j {
                let dot: f64 = grams[i].iter().zip(&grams[j]).map(|(a, b)| a * b).sum();
                total += dot / (norm(&grams[i]) * norm(&grams[j]));
            }
        }
    }
    total / (b * (b - 1)) as f64
}

#[test]
fn diversity_pushes_copies_of_one_filter_apart() {
    let model = thin_model(false);
    let layer = model.layer_index("block3_conv1").unwrap();
    let mut config = quick(&model, "block3_conv1", vec![2, 2, 2]);
    config.steps = 30;
    let plain = render(&model, &config, |_| {}).unwrap();
    config.target.diversity = 100.0;
    let diverse = render(&model, &config, |_| {}).unwrap();
    let (before, after) = (
        style_cosine(&model, layer, &plain.rgb),
        style_cosine(&model, layer, &diverse.rgb),
    );
    assert!(
        after < before - 0.01,
        "style similarity {before} -> {after}"
    );
}

#[test]
fn deep_dream_raises_its_loss_and_keeps_the_size() {
    use featureviz::dream::{dream, octave_sizes, DreamConfig};
    let model = thin_model(false);
    let layers = vec![(model.layer_index("block3_conv1").unwrap(), 1.0)];
    let mut config = DreamConfig::book(layers, Preprocessing::Caffe);
    config.octaves = 2;
    config.steps = 6;
    assert_eq!(octave_sizes(50, 70, 2, 1.4), vec![(36, 50), (50, 70)]);
    let photo = Rng::new(1).tensor(&[1, 3, 50, 70], 0.2, 0.8);
    let d = dream(&model, &photo, &config, |_, _| {}).unwrap();
    assert_eq!(d.rgb.shape(), &[1, 3, 50, 70]);
    assert_eq!(d.losses.len(), 12);
    assert!(
        d.losses[5] > d.losses[0] && d.losses[11] > d.losses[6],
        "{:?}",
        d.losses
    );
    assert!(d.rgb.data().iter().all(|v| (0.0..=1.0).contains(v)));
    // Lucid's transforms as an option: still climbs, still the same size.
    config.transforms = transforms::standard();
    let t = dream(&model, &photo, &config, |_, _| {}).unwrap();
    assert_eq!(t.rgb.shape(), &[1, 3, 50, 70]);
    // An octave too small for the layer is refused with the reason.
    config.octaves = 4;
    config.octave_scale = 2.0;
    let err = dream(&model, &photo, &config, |_, _| panic!())
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("fewer --octaves"), "{err}");
}
