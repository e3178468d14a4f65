"""The run configuration: made and normalised once, checked once, the same through JSON and resume."""
import json
import os

import pytest

from nst.commands import train as cli
from nst.run.config import RunConfig
from nst.errors import NSTError


def test_defaults_are_the_course_settings():
    c = RunConfig().validate()
    assert (c.iterations, c.learning_rate, c.alpha, c.beta, c.noise_ratio, c.pooling, c.optimizer) == \
        (200, 2.0, 10.0, 40.0, 0.6, "avg", "adam")
    assert c.content_layers == (("conv4_2", 1.0),)
    assert c.style_layers == tuple((f"conv{b}_1", 0.2) for b in range(1, 6))


def test_made_once_normalised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    c = RunConfig(content="c.png", style=["a.png", "b.png"], size=[30, 40], output="out",
                  style_layers=[("relu1_1", 1)], content_layers=[["relu4_2", 0.5], ("conv5_2", 0.5)])
    assert c.content == str(tmp_path / "c.png") and c.style == (str(tmp_path / "a.png"), str(tmp_path / "b.png"))
    assert c.output == str(tmp_path / "out") and c.size == (30, 40)
    assert c.style_layers == (("conv1_1", 1.0),) and c.content_layers == (("conv4_2", 0.5), ("conv5_2", 0.5))
    assert c.costs().content_layers == c.content_layers  # the objective takes them as they are


def test_round_trip_through_json():
    c = RunConfig(content="/x/c.png", style=("/x/s.png",), style_blend=(1.0,), size=(32, 48), seed=7,
                  preserve_colors="luminance", init="image", init_image="/x/i.png", tv_weight=3.0)
    back = RunConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and isinstance(back.size, tuple) and isinstance(back.seed, int)
    c = RunConfig(style=("/x/a.png", "/x/b.png"), style_masks=("/x/m.png", "none"), mask_mode="eroded",
                  style_source_masks=("none", "/x/s.png"),
                  style_layer_sets=((("relu1_1", 0.5), ("conv2_1", 0.5)), (("conv5_1", 1.0),)))
    back = RunConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert back == c and back.style_layer_sets[0] == (("conv1_1", 0.5), ("conv2_1", 0.5))


@pytest.mark.parametrize("change,fragment", [
    ({"iterations": "abc"}, "iterations holds 'abc', not an int"),
    ({"iterations": 1e400}, "not an int"),
    ({"learning_rate": "2"}, "learning_rate holds '2', not a float"),
    ({"quiet": None}, "quiet is missing"),
    ({"style_layers": [["conv1_1", 1, 2]]}, "not a (layer, weight) pair"),
    ({"size": "32x48"}, "size holds '32x48', not a list"),
    ({"style_layer_sets": [["conv1_1", 1.0]]}, "style_layer_sets holds 'conv1_1', not a (layer, weight) pair"),
    ({"style_layer_sets": ["conv1_1"]}, "style_layer_sets holds 'conv1_1', not a list"),
    ({"wings": 2}, "unknown setting wings"),
])
def test_from_dict_refuses_values_of_the_wrong_kind(change, fragment):
    with pytest.raises(ValueError) as info:
        RunConfig.from_dict({**RunConfig().to_dict(), **change})
    assert fragment in str(info.value)


@pytest.mark.parametrize("settings,python,flag", [
    ({"iterations": 0}, "iterations must be positive, got 0", "--iterations must be positive"),
    ({"learning_rate": float("nan")}, "learning_rate must be positive, got nan", "--learning-rate must be"),
    ({"beta": float("inf")}, "beta must be zero or positive, got inf", "--beta must be zero or positive"),
    ({"seed": -1}, "seed must be between 0 and 2**32 - 1, got -1", "--seed must be between"),
    ({"seed": 2**32}, "got 4294967296", "--seed"),
    ({"style_layers": (("conv1_1", -1.0),)}, "style_layers: weights must be zero or positive", "--style-layers:"),
    ({"style_layers": (("conv1_1", 0.0),)}, "positive, finite sum", "--style-layers:"),
    ({"style_blend": (1e308, 1e308), "style": ("/a", "/b")}, "style_blend: weights", "--style-blend:"),
    ({"style_scale": float("inf")}, "style_scale must be positive, got inf", "--style-scale must be"),
    ({"max_side": 10}, "max_side must be at least 32, got 10", "--max-side must be at least 32"),
    ({"size": (32, 48), "max_side": 64}, "size, max_side: give the size", "--size, --max-side: give"),
    ({"init": "noise", "noise_ratio": 0.3}, "noise_ratio applies to the default start", "--noise-ratio applies"),
    ({"init": "image"}, "init, init_image: an image to start from", "--init, --init: an image"),
    ({"pooling": "median"}, "pooling: unknown value 'median'", "--pooling: unknown value"),
])
def test_validation_names_the_setting_in_python_and_on_the_command_line(settings, python, flag):
    config = RunConfig(**settings)
    with pytest.raises(NSTError) as info:
        config.validate()
    assert python in str(info.value)  # a notebook reads the setting's Python name
    assert flag in info.value.message(cli.flag)  # the command line reads its flag


def test_unknown_layer_is_refused_when_made():
    with pytest.raises(NSTError) as info:
        RunConfig(content_layers=(("fc7", 1.0),))
    assert str(info.value).startswith("content_layers: unknown VGG-19 layer 'fc7'")
    assert info.value.message(cli.flag).startswith("--content-layers: unknown VGG-19 layer 'fc7'")


def test_command_line_options_become_the_configuration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    config, checkpoint, _ = cli.parse(["--content", "c.png", "--style", "a.png", "b.png", "--style-blend", "3", "1",
                                    "--content-layer", "relu5_2", "--style-layers", "conv1_1,conv2_1",
                                    "--size", "64x96", "--init", "start.png", "--seed", "3"])
    assert checkpoint is None
    assert config == RunConfig(content="c.png", style=("a.png", "b.png"), style_blend=(3.0, 1.0),
                               content_layers=(("conv5_2", 1.0),), style_layers=(("conv1_1", 0.5), ("conv2_1", 0.5)),
                               size=(64, 96), init="image", init_image=os.path.join(tmp_path, "start.png"), seed=3)
    assert cli.parse(["--init", "noise"])[0].init == "noise" and cli.parse([])[0] == RunConfig()


@pytest.mark.parametrize("exp", [0.5, 2.0, 1e-200, 1e200])
def test_style_layer_weight_exponent_gives_finite_shares_for_any_value(exp):
    weights = [w for _, w in RunConfig(style_layer_weight_exp=exp).validate().effective_style_layers()]
    raw = [exp**i if exp < 1e10 and exp > 1e-10 else 0.0 for i in range(5)]  # numpy-free, for moderate exp
    if sum(raw):
        assert weights == pytest.approx([r / sum(raw) for r in raw], rel=1e-12)
    else:  # all of the weight on one end: the deepest layer for a huge exp, the first for a tiny one
        assert weights == pytest.approx([0.0] * 4 + [1.0] if exp > 1 else [1.0] + [0.0] * 4, abs=1e-150)


def test_what_changes_a_result_is_declared_once_on_the_fields():
    from nst.run import config

    nothing = {"save_every", "logdir", "vgg", "quiet", "overwrite", "max_pixels",  # the weights count by digest
               "tile"}  # tiles change J by float rounding only
    assert set(config.RESUMABLE) == nothing | {"iterations"}
    assert set(config.UNFINGERPRINTED) == nothing | {"content", "style", "init_image", "output", "output_image",
                                                     "style_masks", "style_source_masks"}
    assert set(config.CONTINUABLE) == nothing | {"iterations", "output", "output_image"}
    a = RunConfig(iterations=5, save_every=2, quiet=True, output="a")
    assert a.without(config.CONTINUABLE) == RunConfig(output="b").without(config.CONTINUABLE)
    assert a.without(config.CONTINUABLE) != RunConfig(alpha=3).without(config.CONTINUABLE)
