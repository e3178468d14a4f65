"""Presets: whole sets of run settings under one name (``nst train --preset jcjohnson``).

A preset is a dict of :class:`nst.run.config.RunConfig` settings that differ from
the defaults; :func:`merge` lays it over the defaults and under the options
given explicitly, which win. ``course`` is the defaults themselves (the
course's reproduction of Gatys et al.).

``jcjohnson`` is the objective and optimiser of jcjohnson/neural-style
(``neural_style.lua`` with its default options), written in this package's
terms. Its losses, with F the (C, H, W) activations of a layer and torch's
``nn.MSECriterion`` the mean over all entries:

    content  5   * mean((F_G - F_C)^2)                       at relu4_2
    style    100 * mean((Gram_G/(C H W) - Gram_S/(C H W))^2)  at relu1_1 .. relu5_1 (a C x C mean)
    tv       1e-3 * 1/2 sum(x_diff^2 + y_diff^2)  (the gradient TVLoss writes; see compute_tv_cost_jcjohnson)

Content, eq. (1) of ``nst.algorithm.costs``: J_content = sum((a_C - a_G)^2) / (4 nH nW nC),
and the mean is the same sum over nC nH nW, so 5 * mean = 5 * 4 * J_content:
**alpha = 20**, the one content layer conv4_2 (= relu4_2) at weight 1.

Style, eq. (2): J^l = sum((Gram_S - Gram_G)^2) / (4 nC^2 (nH nW)^2). jcjohnson's
layer loss is the same sum, each entry divided by (C H W)^2, averaged over the
C^2 entries: sum / (C^2 * C^2 (H W)^2) = (4 / C^2) * J^l. So
100 * sum_l (4 / C_l^2) J^l = beta * sum_l lambda_l J^l with **beta = 100** and
**lambda_l = 4 / C_l^2**: 4/64^2 = 2^-10 at relu1_1, 4/128^2 = 2^-12 at relu2_1,
4/256^2 = 2^-14 at relu3_1, 4/512^2 = 2^-16 at relu4_1 and relu5_1 (powers
of two: exact in floating point). With a style of another size, or a blend,
jcjohnson's target is sum_k w_k Gram_k / (C H_k W_k) and nst.styles' is
sum_k w_k (H W / H_k W_k) Gram_k, the same target on eq. (2)'s scale, so the
factor 4 / C^2 holds there too. The lambdas are not renormalised: the cost
uses them as given (only their sum must be positive).

The C_l are hard-coded (:data:`VGG19_CHANNELS`), not read from the weights
file: they are VGG-19's architecture, the same in every VGG-19 file, and a
preset that is a plain dict of values merges under explicit options, shows in
``--help`` and is stored in the checkpoint like any other settings. A file
with other widths (only the tests' tiny synthetic ones) would get lambdas that
are not jcjohnson's; the test therefore uses synthetic weights of the real
widths.

Total variation: the existing J_tv (``tv_form`` "mean") is
mean(dy^2) + mean(dx^2), dy over (nH-1) x nW and dx over nH x (nW-1), each
averaged. jcjohnson's is a sum, not a mean, and both differences run over the
top-left (H-1) x (W-1) block only, so no tv_weight can match it (the regions
differ; the divisors differ per direction when H != W). Hence the new form
``tv_form = "jcjohnson"`` (:func:`nst.algorithm.costs.compute_tv_cost_jcjohnson`, half the
sum) with **tv_weight = 1e-3**. Pixels are on the mean-subtracted 0..255
scale here and on 0..256 there (its preprocess multiplies [0, 1] by 256):
an input difference of 0.4 %, not a difference of the objective's form.

Start: jcjohnson's ``-init random`` is ``torch.randn(...) * 0.001`` in its
mean-subtracted space: the normalised G is i.i.d. N(0, 0.001^2), i.e. the mean
pixel plus faint noise. None of the existing starts is that (``noise`` is
uniform(-20, 20)), hence **init = "gaussian"** with **init_std = 0.001**
(:func:`nst.run.inputs.gaussian_noise_image`).

The rest: **pooling = "max"**, **optimizer = "lbfgs"**, **iterations = 1000**,
**max_side = 512** (-image_size 512: the longer side) and **learning_rate = 10**
(-learning_rate 1e1: Adam's step if ``--optimizer adam`` is given over the
preset, as jcjohnson's ``-optimizer adam``; L-BFGS does not use it).

What the settings do not reproduce: torch's optim.lbfgs there runs 1000
iterations of fixed unit steps without line search and keeps 100 corrections;
here L-BFGS (``nst.algorithm.lbfgs``) searches each step (strong Wolfe) and
keeps 20, which reaches a given J sooner and keeps checkpoints small
(``--line-search fixed --lbfgs-memory 100`` gives torch's steps). Neither
bounds the pixels. Images are scaled bilinearly there (Lanczos here), and
the style image's longer side is 512 * style_scale with its own aspect there,
cropped to G's aspect here. The objective J and its gradient are jcjohnson's
for the same input arrays (tests/test_presets.py proves it in float64).

``jcjohnson-fast`` keeps that objective and changes only how it is reached:
the content image as the start (the swirls then have to grow, not the whole
picture out of grey), 100 L-BFGS iterations at 256 px first (a step there
costs a quarter), then 600 at the full size, with ``precision = "auto"``
(bfloat16 convolutions where the GPU or CPU runs them natively, float32
elsewhere). Measured with ``nst bench --time-to-quality`` (docs/performance.md):
at 512 px it ends below the J of jcjohnson's 1000 iterations in about 4
minutes instead of 20 on 2 cores of an Intel Xeon with AMX, and in 10.2 instead
of 29.6 on 2 cores of an AMD EPYC with AVX-512 BF16.
"""
from nst.errors import NSTError

# Output channels of the style layers, fixed by VGG-19's architecture (Simonyan & Zisserman, table 1).
VGG19_CHANNELS = {"conv1_1": 64, "conv2_1": 128, "conv3_1": 256, "conv4_1": 512, "conv5_1": 512}



def mse_style_layers(channels=VGG19_CHANNELS, weight=1.0):
    """(layer, lambda_l) making beta * sum lambda_l J^l a sum of ``weight`` * torch's Gram MSE: 4 / C_l^2."""
    return tuple((name, weight * 4.0 / c**2) for name, c in channels.items())


PRESETS = {
    "course": {},
    "jcjohnson": {
        "content_layers": (("conv4_2", 1.0),),
        "alpha": 4.0 * 5.0,  # eq. (1)'s 1/(4 nH nW nC) against the mean's 1/(C H W), times 5
        "style_layers": mse_style_layers(),  # 4 / C_l^2 each
        "beta": 100.0,
        "tv_weight": 1e-3,
        "tv_form": "jcjohnson",
        "pooling": "max",
        "optimizer": "lbfgs",
        "iterations": 1000,
        "max_side": 512,
        "init": "gaussian",
        "init_std": 0.001,
        "learning_rate": 10.0,
    },
}
# jcjohnson's objective, reached sooner: see the module's text.
PRESETS["jcjohnson-fast"] = {
    **{k: v for k, v in PRESETS["jcjohnson"].items() if k not in ("init", "init_std")},
    "init": "content",
    "levels": ((256, 100),),
    "iterations": 600,
    "precision": "auto",
}

DESCRIPTIONS = {
    "course": "the settings of the deep-learning course assignment this package reproduces (the defaults): "
              "Adam 200 steps, average pooling, longer side 400, noise + content start",
    "jcjohnson": "jcjohnson/neural-style's defaults: content 5 at relu4_2, style 100 at relu1_1..relu5_1 "
                 "(Gram MSE), TV 1e-3, max pooling, L-BFGS 1000 iterations, 512 px, N(0, 0.001^2) start",
    "jcjohnson-fast": "jcjohnson's objective at 512 px, its 1000 iterations' J in a third of the time or less: "
                      "start from the content, 100 iterations at 256 px first, then 600, bf16 where the "
                      "machine has it",
}

# Settings that only mean something with one kind of start: dropped from a preset when --init names another.
START_SETTINGS = {"mix": "noise_ratio", "gaussian": "init_std", "image": "init_image"}
# Settings that exclude each other: an explicit one drops the preset's other.
ALTERNATIVES = {"size": ("max_side",), "max_side": ("size",)}


def names():
    return tuple(PRESETS)


def _preset(name):
    if name not in PRESETS:
        raise NSTError(f"{{option}}: unknown preset '{name}': use one of {', '.join(PRESETS)}", "preset")
    return dict(PRESETS[name])


def describe(name):
    """One line saying what the preset ``name`` is."""
    _preset(name)
    return f"{name}: {DESCRIPTIONS[name]}"


def merge(name, given, whole=False):
    """The settings of a run: preset ``name`` under the explicitly ``given`` settings (a dict).

    A given setting replaces the preset's; an explicit start (``init``) also
    drops the preset's settings of other starts, and an explicit size or
    longer side the preset's other one, so that the result does not combine
    what the options would not. ``whole`` also names the defaults of the
    settings other presets set (the same run): what a resumed run compares,
    so that ``course`` is checked too.
    """
    settings = _whole(name) if whole else _preset(name)
    if "init" in given:
        for kind, setting in START_SETTINGS.items():
            if given["init"] != kind:
                settings.pop(setting, None)
    for setting in given:
        for other in ALTERNATIVES.get(setting, ()):
            settings.pop(other, None)
    settings.update(given)
    if "levels" not in given and settings.get("levels"):
        settings["levels"] = _below(settings["levels"], settings)
    return settings


def _below(levels, settings):
    """A preset's levels smaller than the run's longer side: at 256 px, jcjohnson-fast has no 256 px level."""
    from nst.algorithm.images import DEFAULT_MAX_SIDE

    side = max(settings["size"]) if settings.get("size") else settings.get("max_side") or DEFAULT_MAX_SIDE
    return tuple(level for level in levels if level[0] < side)


def _whole(name):
    """Preset ``name`` with every setting any preset sets: its own value, else the default."""
    from nst.run.config import default

    every = dict.fromkeys(setting for preset in PRESETS.values() for setting in preset)
    return {**{setting: default(setting) for setting in every}, **_preset(name)}


def config(name, **given):
    """A checked :class:`nst.run.config.RunConfig` of preset ``name`` with ``given`` settings over it."""
    from nst.run.config import RunConfig

    return RunConfig(**merge(name, given)).validate()
