"""The pieces of tools/make_attribution_fixtures.py (its docstring documents the fixtures).

    settings.py     the fixed choices: layer names, input size, margins, SmoothGrad / IG /
                    occlusion parameters, seeds
    models.py       the float64 VGG16 classifier, its inputs (image 1, SmoothGrad noise, black
                    baseline, every derived input) and plain gradient / logit helpers
    margins.py      ReLU / max-pool margins and float32 decision checks; the search for the tiny
                    image-1 variant and the head seed
    checks.py       the independent hand computations the asserts compare against
    cam_refs.py     pytorch-grad-cam: the SVD sign patch, run_cam, every CAM reference + checks
    captum_refs.py  captum: the fixed-noise patch, every attribution reference + checks
    build.py        one model's fixture: references, margin report, float32 comparison
"""
