"""Presets: the jcjohnson preset's J and gradient are neural-style's, in float64 numpy; its start; its keys.

The style weights of the preset depend on the layers' channel counts (4 / C_l^2),
which it takes from VGG-19's architecture; the graph tests therefore run on
synthetic weights of VGG-19's real widths (64 .. 512 channels), small images.
"""
import dataclasses

import numpy as np
import pytest

from nst.run import config as config_module
from nst.algorithm import images
from nst.run import presets
from nst.run.config import RunConfig
from nst.algorithm.costs import compute_tv_cost, compute_tv_cost_jcjohnson
from nst.errors import NSTError
from nst.algorithm.graph import CostSettings, build_graph, new_session
from nst.run.inputs import gaussian_noise_image, initial_image
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import read_vgg_weights
from numpy_vgg import forward
from synthetic_vgg import MEAN, make_weights, write_vgg_mat

JCJ = presets.PRESETS["jcjohnson"]
FIELDS = {f.name for f in dataclasses.fields(RunConfig)}


# jcjohnson/neural-style (neural_style.lua, default options), transcribed to float64 numpy on (H, W, C) arrays.
def jcj_gram(F):
    """GramMatrix then ``G:div(input:nElement())``: F F^T / (C H W)."""
    h, w, c = F.shape
    A = F.reshape(h * w, c)
    return A.T @ A / (c * h * w)


def jcj_tv_value(x, strength):
    """The value whose gradient TVLoss:updateGradInput writes: strength/2 * sum(x_diff^2 + y_diff^2)."""
    x_diff = x[:-1, :-1] - x[:-1, 1:]
    y_diff = x[:-1, :-1] - x[1:, :-1]
    return strength * 0.5 * np.sum(x_diff**2 + y_diff**2)


def jcj_tv_grad(x, strength):
    """TVLoss:updateGradInput, line by line ({1, -2} is :-1, {2, -1} is 1: in torch's 1-based ranges)."""
    grad = np.zeros_like(x)
    x_diff = x[:-1, :-1] - x[:-1, 1:]
    y_diff = x[:-1, :-1] - x[1:, :-1]
    grad[:-1, :-1] += x_diff + y_diff
    grad[:-1, 1:] -= x_diff
    grad[1:, :-1] -= y_diff
    return grad * strength


def jcj_objective(convs, C, S, G, content_weight=5.0, style_weight=100.0, tv_weight=1e-3):
    """(total, content, style, tv) of normalised (1, H, W, 3) images; S may have another size."""
    aC, aS, aG = (forward(x[0], convs, "conv5_1", "max") for x in (C, S, G))
    content = content_weight * np.mean((aG["conv4_2"] - aC["conv4_2"]) ** 2)  # nn.MSECriterion: a mean
    style = sum(style_weight * np.mean((jcj_gram(aG[name]) - jcj_gram(aS[name])) ** 2)
                for name in ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"))
    tv = jcj_tv_value(G[0].astype(np.float64), tv_weight)
    return content + style + tv, content, style, tv


def cost_settings(p):
    """The CostSettings a RunConfig of preset ``p`` gives (RunConfig.costs(), once tv_form is wired)."""
    return CostSettings(p["content_layers"], p["style_layers"], p["alpha"], p["beta"], p["learning_rate"],
                        p["pooling"], p["tv_weight"], p["tv_form"])


@pytest.fixture(scope="module")
def vgg19_widths(tmp_path_factory):
    """A synthetic VGG-19 .mat of the real channel counts (64, 128, 256, 512, 512), and its weights."""
    path = str(tmp_path_factory.mktemp("vgg19-widths") / "widths.mat")
    convs = make_weights(channels=tuple(presets.VGG19_CHANNELS.values()))
    write_vgg_mat(path, convs=convs, extra_fc=False)
    return path, convs


@pytest.fixture(scope="module")
def jcjohnson_problem(vgg19_widths):
    """The preset's graph on C, G of 32x48 and a style of another size (48x64), J and dJ/dG at G."""
    path, convs = vgg19_widths
    rng = np.random.RandomState(0)
    C, G = (rng.uniform(-100, 100, (1, 32, 48, 3)).astype(np.float32) for _ in range(2))
    S = rng.uniform(-100, 100, (1, 48, 64, 3)).astype(np.float32)
    sess = new_session()
    try:
        graph = build_graph(sess, read_vgg_weights(path), C, S, cost_settings(JCJ))
        graph.initialize(G)
        gradient = tf.gradients(graph.J, graph.model["input"])[0]
        J, Jc, Js, Jtv, dJ = sess.run([graph.J, graph.J_content, graph.J_style, graph.J_tv, gradient])
    finally:
        sess.close()
    return convs, C, S, G, (float(J), float(Jc), float(Js), float(Jtv)), dJ.astype(np.float64)


def test_jcjohnson_objective_equals_neural_style_in_float64(jcjohnson_problem):
    convs, C, S, G, (J, Jc, Js, Jtv), _ = jcjohnson_problem
    total, content, style, tv = jcj_objective(convs, C, S, G)
    assert JCJ["alpha"] * Jc == pytest.approx(content, rel=1e-5)
    assert JCJ["beta"] * Js == pytest.approx(style, rel=1e-5)
    assert JCJ["tv_weight"] * Jtv == pytest.approx(tv, rel=1e-5)
    assert J == pytest.approx(total, rel=1e-5)
    assert min(content, style, tv) > 1e-3 * total  # each term weighs in the comparison


def test_jcjohnson_gradient_equals_neural_style_finite_differences(jcjohnson_problem):
    convs, C, S, G, _, dJ = jcjohnson_problem
    # h small: a larger step crosses ReLU and max-pool kinks of the 64..512-channel net (1 % off at 1e-3)
    G64, rng, h = G.astype(np.float64), np.random.RandomState(1), 1e-5
    for _ in range(3):
        d = rng.randn(*G.shape)
        plus, minus = (jcj_objective(convs, C, S, G64 + s * h * d)[0] for s in (1, -1))
        numeric = (plus - minus) / (2 * h)
        assert np.sum(dJ * d) == pytest.approx(numeric, rel=1e-3)


def test_tv_form_gradient_is_what_tvloss_writes():
    """jcjohnson's TVLoss defines only a gradient: the new J_tv's TF gradient is that, entry for entry."""
    x = np.random.RandomState(2).uniform(-100, 100, (1, 7, 9, 3))
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        image = tf.constant(x, tf.float32)
        J_tv = compute_tv_cost_jcjohnson(image)
        value, grad = sess.run([J_tv, tf.gradients(J_tv, image)[0]])
    assert value == pytest.approx(jcj_tv_value(x[0], 1.0), rel=1e-5)
    np.testing.assert_allclose(grad[0], jcj_tv_grad(x[0], 1.0), rtol=1e-5, atol=1e-3)
    assert grad[0, -1, -1].tolist() == [0.0, 0.0, 0.0]  # outside both differences' regions


def test_tv_form_default_is_the_existing_mean_form(tiny_vgg):
    path, _ = tiny_vgg["new"]
    assert CostSettings().tv_form == "mean"
    rng = np.random.RandomState(3)
    C, S, G = (rng.uniform(-100, 100, (1, 32, 48, 3)).astype(np.float32) for _ in range(3))
    sess = new_session()
    try:
        graph = build_graph(sess, read_vgg_weights(path), C, S, CostSettings(tv_weight=0.5))
        graph.initialize(G)
        assert sess.run(graph.J_tv) == sess.run(compute_tv_cost(tf.constant(G)))
    finally:
        sess.close()
    with pytest.raises(NSTError, match="unknown value 'sum'"):
        CostSettings(tv_form="sum")


def test_style_weights_are_four_over_channels_squared():
    layers = dict(JCJ["style_layers"])
    assert list(layers) == ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1"]
    for name, channels in presets.VGG19_CHANNELS.items():
        assert layers[name] * channels**2 == 4.0  # exact: powers of two
    assert JCJ["alpha"] == 20.0 and JCJ["beta"] == 100.0 and JCJ["content_layers"] == (("conv4_2", 1.0),)


def test_hard_coded_channels_are_the_real_files(real_vgg):
    convs = read_vgg_weights(real_vgg).convs
    assert {name: convs[name][0].shape[3] for name in presets.VGG19_CHANNELS} == presets.VGG19_CHANNELS


def test_gaussian_start_is_the_mean_pixel_plus_n_0_0001():
    C = np.full((1, 256, 192, 3), 50.0, np.float32)
    G = initial_image("gaussian", C, None, MEAN, seed=0, init_std=JCJ["init_std"])
    assert G.shape == C.shape and G.dtype == np.float32
    n = G.size
    assert abs(G.mean()) < 5 * 0.001 / np.sqrt(n)
    assert G.std() == pytest.approx(0.001, rel=0.02)
    assert (images.to_pixels(G, MEAN) == np.rint(MEAN).astype(np.uint8)).all()  # the mean pixel, as saved
    np.testing.assert_array_equal(G, gaussian_noise_image(C.shape, 0.001, 0))  # C's values play no part
    assert not np.array_equal(G, gaussian_noise_image(C.shape, 0.001, 1))
    # the existing starts are unchanged
    mix = initial_image("mix", C, None, MEAN, seed=0)
    np.testing.assert_array_equal(mix, images.generate_noise_image(C, 0.6, 0))


def test_presets_name_only_settings_of_runconfig():
    assert presets.PRESETS["course"] == {}
    for name, settings in presets.PRESETS.items():
        assert set(settings) <= FIELDS, name
    assert presets.config("course") == RunConfig().validate()
    assert RunConfig(**JCJ).validate()  # every value passes the configuration's checks
    assert "gaussian" in config_module.INITS


def test_jcjohnson_preset_is_a_valid_runconfig():
    config = presets.config("jcjohnson")
    assert config.costs() == cost_settings(JCJ)
    assert presets.config("jcjohnson", init="content").init_std == presets.config("course").init_std


def test_merge_explicit_settings_win():
    merged = presets.merge("jcjohnson", {"iterations": 50, "size": (64, 96)})
    assert merged["iterations"] == 50 and merged["size"] == (64, 96) and "max_side" not in merged
    assert merged["optimizer"] == "lbfgs"
    started = presets.merge("jcjohnson", {"init": "content"})
    assert started["init"] == "content" and "init_std" not in started
    assert presets.merge("jcjohnson", {"init": "gaussian"})["init_std"] == 0.001
    assert presets.merge("course", {"alpha": 3.0}) == {"alpha": 3.0}
    assert presets.PRESETS["jcjohnson"]["max_side"] == 512  # merging copies


def test_describe_and_unknown_preset():
    for name in presets.names():
        line = presets.describe(name)
        assert line.startswith(name + ": ") and "\n" not in line
    with pytest.raises(NSTError, match="unknown preset 'gatys': use one of course, jcjohnson"):
        presets.describe("gatys")


def test_fast_preset_is_jcjohnsons_objective_reached_another_way():
    fast, jcj = presets.config("jcjohnson-fast"), presets.config("jcjohnson")
    assert dataclasses.replace(fast.costs(), precision="fp32") == jcj.costs()
    assert (fast.max_side, fast.optimizer, fast.init) == (512, "lbfgs", "content")
    assert fast.levels == ((256, 100),) and fast.precision == "auto"


def test_a_preset_level_not_below_the_size_is_dropped_an_explicit_one_kept():
    assert presets.merge("jcjohnson-fast", {"max_side": 256})["levels"] == ()
    assert presets.merge("jcjohnson-fast", {"size": (200, 300)})["levels"] == ((256, 100),)
    assert presets.merge("jcjohnson-fast", {"max_side": 256, "levels": ((128, 5),)})["levels"] == ((128, 5),)
    assert presets.merge("course", {"max_side": 100, "levels": ((128, 5),)})["levels"] == ((128, 5),)


@pytest.mark.parametrize("gpu,cpu_bf16,chosen", [(False, False, "fp32"), (False, True, "bf16"),
                                                 (True, False, "bf16")])
def test_auto_precision_is_bf16_only_where_the_machine_has_it(monkeypatch, gpu, cpu_bf16, chosen):
    from nst.algorithm import onednn, tf1, vgg
    from nst.run.loop import precision_note

    monkeypatch.setattr(tf1, "gpus", lambda: ("gpu",) if gpu else ())
    monkeypatch.setattr(onednn, "has_bf16", lambda: cpu_bf16)
    assert vgg.machine_precision("auto") == chosen
    assert vgg.machine_precision("fp32") == "fp32" and vgg.machine_precision("bf16") == "bf16"
    assert vgg.precision_dtype("auto") == {"fp32": tf.float32, "bf16": tf.bfloat16}[chosen]
    assert ("bfloat16 (auto" if chosen == "bf16" else "float32 (auto") in precision_note("auto")
