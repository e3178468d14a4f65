"""--optimizer lbfgs and --coarse-to-fine through the command line, on tiny synthetic weights."""
import os

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import TINY, assert_one_line, read_history
from nst.commands import train as cli


@pytest.fixture
def tiny_env(tiny_vgg, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])


def run(out, *args):
    return cli.main(["--output", str(out), "--seed", "0", *TINY, *args])


def costs(folder):
    return np.array([[float(r[k]) for k in ("J", "J_content", "J_style")] for r in read_history(folder)])


def test_lbfgs_run_records_saves_and_beats_adam(tiny_env, tmp_path):
    assert run(tmp_path / "lbfgs", "--optimizer", "lbfgs", "--iterations", "12", "--save-every", "5") == 0
    assert run(tmp_path / "adam", "--iterations", "12") == 0
    lbfgs, adam = costs(tmp_path / "lbfgs"), costs(tmp_path / "adam")
    assert lbfgs.shape == (13, 3) and lbfgs[0, 0] == pytest.approx(adam[0, 0], rel=1e-6)  # same start
    assert lbfgs[-1, 0] < 0.5 * adam[-1, 0]
    assert np.all(np.diff(lbfgs[:, 0]) <= 0)  # the Wolfe line search never accepts a worse point
    np.testing.assert_allclose(lbfgs[:, 0], 10 * lbfgs[:, 1] + 40 * lbfgs[:, 2], rtol=1e-5)
    files = sorted(os.listdir(tmp_path / "lbfgs"))
    assert {"iteration_0005.png", "iteration_0010.png", "final.png", "best.png"} <= set(files)
    pixels = iio.imread(tmp_path / "lbfgs" / "final.png")
    np.testing.assert_array_equal(pixels, iio.imread(tmp_path / "lbfgs" / "best.png"))  # J fell every time


def test_lbfgs_is_deterministic(tiny_env, tmp_path):
    for name in ("a", "b"):
        assert run(tmp_path / name, "--optimizer", "lbfgs", "--iterations", "5") == 0
    np.testing.assert_array_equal(costs(tmp_path / "a"), costs(tmp_path / "b"))


def test_coarse_to_fine_gives_a_better_start(tiny_env, tmp_path):
    assert run(tmp_path / "plain", "--iterations", "3", "--learning-rate", "5") == 0
    assert run(tmp_path / "coarse", "--iterations", "3", "--learning-rate", "5", "--coarse-to-fine", "40") == 0
    plain, coarse = costs(tmp_path / "plain"), costs(tmp_path / "coarse")
    assert coarse[0, 0] < plain[0, 0]  # the full-size run starts from the optimised half-size G
    assert iio.imread(tmp_path / "coarse" / "final.png").shape == (32, 48, 3)


def test_lbfgs_run_continues_to_more_iterations_as_one_run(tiny_env, tmp_path):
    assert run(tmp_path / "r", "--optimizer", "lbfgs", "--iterations", "4", "--save-every", "2") == 0
    assert cli.main(["--resume", str(tmp_path / "r"), "--iterations", "8", "--quiet"]) == 0
    assert run(tmp_path / "whole", "--optimizer", "lbfgs", "--iterations", "8") == 0
    assert costs(tmp_path / "r").tolist() == costs(tmp_path / "whole").tolist()


@pytest.mark.parametrize("args,fragment", [
    (["--optimizer", "sgd"], "invalid choice"),
    (["--coarse-to-fine", "-1"], "--coarse-to-fine must be zero or positive"),
    (["--levels", "abc"], "--levels: 'abc' is not SIDE:ITERATIONS"),
    (["--levels", "200:5,100:5"], "--levels: the longer sides must grow"),
    (["--levels", "20:5"], "--levels: the longer sides must grow, each at least 32 px, got 20"),
    (["--levels", "40:0"], "--levels: each level needs at least one iteration"),
    (["--levels", "40:3", "--coarse-to-fine", "3"], "not allowed with argument"),
    (["--levels", "64:3"], "--levels: level 64 px is not smaller than the image (32x48)"),
    (["--lbfgs-memory", "0"], "--lbfgs-memory must be positive"),
    (["--line-search", "armijo"], "invalid choice"),
])
def test_bad_optimizer_options(bad_input, args, fragment):
    assert_one_line(*bad_input(*args), fragment)
