//! The methods by name, as `viz attribute --method NAME` takes them.

use vgg16::{names::edit_distance, Error, Result};

use crate::cam::CamMethod;
use crate::gradient::GradientMethod;

/// Any attribution method: a class activation map at a layer, or a map in input space.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    Cam(CamMethod),
    Gradient(GradientMethod),
}

/// Every method with its name, CAM methods first, in the order `viz compare` shows them.
pub const METHODS: [(&str, Method); 20] = {
    use CamMethod as C;
    use GradientMethod as G;
    use Method::{Cam, Gradient};
    [
        ("gradcam", Cam(C::GradCam)),
        ("hirescam", Cam(C::HiResCam)),
        ("gradcam-elementwise", Cam(C::GradCamElementwise)),
        ("gradcam++", Cam(C::GradCamPlusPlus)),
        ("xgradcam", Cam(C::XGradCam)),
        ("layercam", Cam(C::LayerCam)),
        ("eigencam", Cam(C::EigenCam)),
        ("eigengradcam", Cam(C::EigenGradCam)),
        ("scorecam", Cam(C::ScoreCam)),
        ("ablationcam", Cam(C::AblationCam)),
        ("saliency", Gradient(G::Saliency)),
        ("input-x-gradient", Gradient(G::InputXGradient)),
        ("integrated-gradients", Gradient(G::IntegratedGradients)),
        ("smoothgrad", Gradient(G::SmoothGrad)),
        ("smoothgrad-sq", Gradient(G::SmoothGradSq)),
        ("vargrad", Gradient(G::VarGrad)),
        ("guided-backprop", Gradient(G::GuidedBackprop)),
        ("deconvnet", Gradient(G::Deconvnet)),
        ("guided-gradcam", Gradient(G::GuidedGradCam)),
        ("occlusion", Gradient(G::Occlusion)),
    ]
};

impl Method {
    /// The method called `name`; the error lists them all and suggests the closest.
    pub fn parse(name: &str) -> Result<Method> {
        let wanted = name.to_ascii_lowercase().replace('_', "-");
        if let Some(&(_, m)) = METHODS.iter().find(|(n, _)| *n == wanted) {
            return Ok(m);
        }
        let (closest, _) = METHODS
            .iter()
            .map(|(n, _)| (*n, edit_distance(&wanted, n)))
            .min_by_key(|&(_, d)| d)
            .expect("methods exist");
        let all: Vec<&str> = METHODS.iter().map(|(n, _)| *n).collect();
        Err(Error::Invalid(format!(
            "unknown method '{name}' (did you mean '{closest}'?); methods: {}",
            all.join(", ")
        )))
    }

    pub fn name(self) -> &'static str {
        METHODS
            .iter()
            .find(|(_, m)| *m == self)
            .map(|(n, _)| *n)
            .expect("every method is named")
    }

    pub fn is_cam(self) -> bool {
        matches!(self, Method::Cam(_))
    }
}
