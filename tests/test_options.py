"""The options beyond the seed, through ``nst.train``: each one's effect on the costs and pictures.

The costs of G's first value (history row 0) are checked against float64 numpy
on the inputs as the network saw them; the faithful default is pinned to the
history the code gave before these options existed.
"""
import os
import re

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import COURSE_STYLE, TINY, assert_one_line, np_blended_style_cost, np_content, np_tv, photo
from helpers import read_history, seen, start_image
from nst.commands import train as cli
from nst.algorithm import colors, images
from numpy_vgg import forward
from synthetic_vgg import MEAN

# History of `nst.train --content c.png --style s.png --iterations 6 --save-every 2 --seed 0
# --learning-rate 5 --size 32x48` (photo() pictures, tiny "new" weights), computed by commit
# e36d01b, before any option beyond the paper existed: (J, J_content, J_style) per row.
PINNED_TINY = [(5622740, 0.0358572118, 140568.484), (4300146.5, 0.0275323596, 107503.656),
               (2869566.25, 0.0244237687, 71739.1484), (1606574.62, 0.0289398078, 40164.3594),
               (830287.125, 0.0352037922, 20757.168), (635202.812, 0.0441541076, 15880.0596),
               (725479.312, 0.0549980588, 18136.9688)]


@pytest.fixture
def env(tiny_vgg, tmp_path, monkeypatch):
    """Tiny weights in NST_VGG19; returns (convs, content path, two style paths)."""
    path, convs = tiny_vgg["new"]
    monkeypatch.setenv("NST_VGG19", path)
    pictures = [photo(tmp_path / name, seed=k) for k, name in enumerate(["c.png", "s.png", "t.png"])]
    return convs, *pictures


def train(tmp_path, name, *args, iterations=1):
    out = tmp_path / name
    assert cli.main(["--output", str(out), "--iterations", str(iterations), "--seed", "0", *TINY, *args]) == 0
    return out


def costs(out, row=0):
    r = read_history(out)[row]
    return float(r["J"]), float(r["J_content"]), float(r["J_style"])


def np_J_content(convs, C, G, layers):
    aC, aG = forward(C, convs, "conv5_2"), forward(G, convs, "conv5_2")
    return sum(w * np_content(aC[n][None], aG[n][None]) for n, w in layers)


def test_default_history_equals_the_code_before_the_new_options(env, tmp_path):
    _, c, s, _ = env
    out = train(tmp_path, "o", "--content", c, "--style", s, "--save-every", "2", "--learning-rate", "5",
                iterations=6)
    got = [costs(out, i) for i in range(7)]
    np.testing.assert_allclose(got, PINNED_TINY, rtol=1e-5)  # identical on one machine; CPUs round differently


def test_several_styles_blended_at_a_scale(env, tmp_path):
    convs, c, s, t = env
    out = train(tmp_path, "o", "--content", c, "--style", s, t, "--style-blend", "7", "3", "--style-scale", "2")
    styles = [seen(p, (64, 96))[None] for p in (s, t)]
    G = start_image(seen(c))
    want = np_blended_style_cost(convs, styles, [0.7, 0.3], G[None], COURSE_STYLE)
    assert costs(out)[2] == pytest.approx(want, rel=2e-4)
    assert iio.imread(out / "style.png").shape == iio.imread(out / "style_2.png").shape == (64, 96, 3)


def test_preserve_colors_luminance_keeps_C_chroma(env, tmp_path, capsys):
    _, c, s, _ = env
    content = images.resize_image(images.load_image(c), (32, 48))
    distances = {}
    for mode in (None, "luminance"):
        args = ["--preserve-colors", mode] if mode else []
        out = train(tmp_path, str(mode), "--content", c, "--style", s, "--learning-rate", "5", *args, iterations=4)
        final = iio.imread(out / "final.png").astype(np.float64)
        distances[mode] = colors.chroma_distance(final, content)
        printed = float(re.search(r"colour distance to the content: ([\d.]+)", capsys.readouterr().out).group(1))
        assert printed == pytest.approx(distances[mode], abs=0.3)  # printed from G before PNG rounding
    seen_C = iio.imread(out / "content.png")
    np.testing.assert_array_equal(seen_C[:, :, 0], seen_C[:, :, 2])  # the network saw C's luminance
    assert distances[None] > 10 and distances["luminance"] < 1.5


def test_preserve_colors_histogram_gives_S_the_colours_of_C(env, tmp_path):
    _, c, s, _ = env
    out = train(tmp_path, "o", "--content", c, "--style", s, "--preserve-colors", "histogram")
    content = images.resize_image(images.load_image(c), (32, 48)).reshape(-1, 3).astype(np.float64)
    style = iio.imread(out / "style.png").reshape(-1, 3).astype(np.float64)
    np.testing.assert_allclose(style.mean(axis=0), content.mean(axis=0), atol=2.0)
    np.testing.assert_allclose(np.cov(style.T), np.cov(content.T), rtol=0.1, atol=30)


def test_tv_weight_adds_its_cost_and_smooths(env, tmp_path):
    convs, c, s, _ = env
    out = train(tmp_path, "tv", "--content", c, "--style", s, "--tv-weight", "50")
    J, J_content, J_style = costs(out)
    assert J == pytest.approx(10 * J_content + 40 * J_style + 50 * np_tv(start_image(seen(c))[None]), rel=1e-5)
    roughness = {}
    for weight in ("0", "3000"):
        out = train(tmp_path, weight, "--content", c, "--style", s, "--tv-weight", weight, "--learning-rate", "5",
                    iterations=10)
        roughness[weight] = np_tv(iio.imread(out / "final.png")[None])
    assert roughness["3000"] < 0.8 * roughness["0"]


def test_content_layers_blend_and_content_layer(env, tmp_path, capsys):
    convs, c, s, _ = env
    C, G = seen(c), start_image(seen(c))
    blend = [("conv4_2", 0.25), ("conv5_2", 0.75)]
    out = train(tmp_path, "blend", "--content", c, "--style", s, "--content-layers", "conv4_2:0.25,relu5_2:0.75")
    assert costs(out)[1] == pytest.approx(np_J_content(convs, C, G, blend), rel=2e-4)
    out = train(tmp_path, "one", "--content", c, "--style", s, "--content-layer", "relu2_2")
    assert costs(out)[1] == pytest.approx(np_J_content(convs, C, G, [("conv2_2", 1.0)]), rel=2e-4)
    code = cli.main(["--content-layer", "conv4_2", "--content-layers", "conv5_2", *TINY])
    assert_one_line(code, capsys.readouterr().err, "--content-layers", "not allowed with")


def test_style_layer_weight_exponent(env, tmp_path, capsys):
    convs, c, s, _ = env
    G = start_image(seen(c))[None]
    for args, layers in [(["--style-layer-weight-exp", "2"], [(n, 2**i / 31) for i, (n, _) in enumerate(COURSE_STYLE)]),
                         (["--style-layers", "conv1_1,conv3_1", "--style-layer-weight-exp", "3"],
                          [("conv1_1", 0.25), ("conv3_1", 0.75)])]:
        out = train(tmp_path, args[1], "--content", c, "--style", s, *args)
        assert costs(out)[2] == pytest.approx(np_blended_style_cost(convs, [seen(s)[None]], [1], G, layers), rel=2e-4)
    code = cli.main(["--style-layers", "conv1_1:0.5,conv2_1:0.5", "--style-layer-weight-exp", "2", *TINY])
    assert_one_line(code, capsys.readouterr().err, "--style-layer-weight-exp", "bare names")


@pytest.mark.parametrize("init", ["content", "noise", "style", "PATH"])
def test_init(env, tmp_path, init):
    _, c, s, t = env
    expected = {"content": seen(c), "noise": start_image(seen(c), ratio=1.0), "style": seen(s), "PATH": seen(t)}
    value = t if init == "PATH" else init
    out = train(tmp_path, init, "--content", c, "--style", s, "--init", value, "--learning-rate", "1e-3")
    picture = np.clip(np.rint(expected[init] + MEAN), 0, 255)  # one step of 1e-3 moves no pixel by 0.5
    assert np.abs(iio.imread(out / "final.png") - picture).max() <= 1
    if init == "content":
        assert costs(out)[1] == 0.0


@pytest.mark.parametrize("args,fragments", [
    (["--init", "nosie"], ["--init", "nosie", "no such image file", "content, noise"]),
    (["--init", "noise", "--noise-ratio", "0.3"], ["--noise-ratio", "default start"])])
def test_init_errors(bad_input, args, fragments):
    assert_one_line(*bad_input(*args), *fragments)


def test_best_image_is_the_lowest_J_seen(env, tmp_path, capsys):
    _, c, s, _ = env
    out = train(tmp_path, "o", "--content", c, "--style", s, "--save-every", "1", "--learning-rate", "5",
                iterations=6)
    J = [float(r["J"]) for r in read_history(out)]
    best = int(np.argmin(J))
    assert best == 5 and J[6] > J[5]  # the last step went up: final.png is not the best
    np.testing.assert_array_equal(iio.imread(out / "best.png"), iio.imread(out / "iteration_0005.png"))
    assert f"best.png (J={J[5]:.6g} after 5 steps)" in capsys.readouterr().out


@pytest.mark.parametrize("args,fragments", [
    (["--style-scale", "0.5"], ["--style-scale 0.5", "16x24", "under 32 px"]),
    (["--style-scale", "0"], ["--style-scale must be positive"]),
    (["--style-blend", "1", "2"], ["--style-blend", "2 weights for 1 style images"]),
    (["--tv-weight", "-1"], ["--tv-weight must be zero or positive"]),
    (["--style-layer-weight-exp", "0"], ["--style-layer-weight-exp must be positive"]),
    (["--preserve-colors", "sepia"], ["--preserve-colors", "invalid choice"]),
    (["--content-layers", "conv4_2:x"], ["--content-layers", "bad weight"]),
])
def test_bad_new_options(bad_input, args, fragments):
    assert_one_line(*bad_input(*args), *fragments)


def test_logdir_has_the_curves_and_the_images(env, tmp_path):
    from nst.algorithm.tf1 import tf

    _, c, s, _ = env
    logs = tmp_path / "logs"
    out = train(tmp_path, "o", "--content", c, "--style", s, "--logdir", str(logs), "--save-every", "2",
                "--tv-weight", "1", iterations=4)
    scalars, pictures = {}, {}
    for name in os.listdir(logs):
        for event in tf.train.summary_iterator(str(logs / name)):
            for value in event.summary.value:
                if value.HasField("image"):
                    pictures[event.step] = iio.imread(value.image.encoded_image_string)
                else:
                    scalars.setdefault(value.tag, {})[event.step] = value.simple_value
    history = read_history(out)
    for tag in ("J", "J_content", "J_style"):
        assert [scalars[tag][i] for i in range(5)] == pytest.approx([float(r[tag]) for r in history], rel=1e-6)
    assert sorted(scalars["J_tv"]) == list(range(5))
    assert sorted(pictures) == [2, 4]
    np.testing.assert_array_equal(pictures[2], iio.imread(out / "iteration_0002.png"))
    np.testing.assert_array_equal(pictures[4], iio.imread(out / "final.png"))
