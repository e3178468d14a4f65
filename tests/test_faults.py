"""Runs that survive faults: same seed same costs, Ctrl-C, kill -9 and --resume, NaN, full disk."""
import errno
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import imageio.v3 as iio
import numpy as np
import pytest

import nst.run.consumers
from helpers import ROOT, TINY, assert_one_line, costs_of, interrupt_when, photo, read_history, seen
from helpers import start_image, subprocess_env
from nst.commands import train as cli
from nst.run.checkpoint import read_checkpoint
from synthetic_vgg import MEAN

FEATURES = ["--tv-weight", "5", "--content-layers", "conv4_2:0.5,conv5_2:0.5", "--preserve-colors", "histogram",
            "--style-scale", "2", "--style-layer-weight-exp", "1.5", "--learning-rate", "5"]


@pytest.fixture
def env(tiny_vgg, tmp_path, monkeypatch):
    """Tiny weights in NST_VGG19; the common options of a run: content and two styles."""
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    c, s, t = (photo(tmp_path / name, seed=k) for k, name in enumerate(["c.png", "s.png", "t.png"]))
    return ["--content", c, "--style", s, t, "--style-blend", "0.6", "0.4", "--seed", "0"]


def train(out, *args):
    return cli.main(["--output", str(out), *TINY, *args])


def test_seed_gives_identical_costs_with_every_option(env, tmp_path):
    runs = {}
    for name, seed in (("a", "1"), ("b", "1"), ("c", "2")):
        assert train(tmp_path / name, *env, *FEATURES, "--seed", seed, "--iterations", "4") == 0
        runs[name] = costs_of(tmp_path / name)
    assert runs["a"] == runs["b"] and runs["a"] != runs["c"]
    assert (tmp_path / "a" / "final.png").read_bytes() == (tmp_path / "b" / "final.png").read_bytes()


# (options, steps in the checkpoint saved after 3): Adam's state already holds the 4th update; L-BFGS's is
# the state at its 3rd iterate (the curvature pairs, G and its gradient), the line search starting afresh
OPTIMIZER_RUNS = {"adam": ([], 4),
                  "lbfgs-wolfe": (["--optimizer", "lbfgs", "--lbfgs-memory", "4"], 3),
                  "lbfgs-fixed-levels": (["--optimizer", "lbfgs", "--line-search", "fixed", "--levels", "40:3"], 3)}


@pytest.mark.parametrize("run", list(OPTIMIZER_RUNS))
def test_resume_after_kill_9_equals_an_uninterrupted_run(env, tmp_path, run):
    options, steps = OPTIMIZER_RUNS[run]
    args = [*env, *FEATURES, *options, "--iterations", "9", "--save-every", "3", *TINY]
    assert train(tmp_path / "whole", *args) == 0
    killed = tmp_path / "killed"
    process = subprocess.Popen([sys.executable, str(ROOT / "tests" / "pause_after_checkpoint.py"),
                                "--output", str(killed), *args], stdout=subprocess.PIPE, text=True,
                               env=subprocess_env(), cwd=tmp_path)
    try:
        assert process.stdout.readline().strip() == "checkpoint written"
        process.send_signal(signal.SIGKILL)
        assert process.wait(timeout=60) == -signal.SIGKILL
    finally:
        process.kill()
        process.stdout.close()
    checkpoint = read_checkpoint(str(killed / "checkpoint.npz"))
    assert checkpoint.steps == steps and [r.iteration for r in checkpoint.history] == list(range(steps))
    assert not (killed / "final.png").exists()
    # the very same command, with --resume appended: every option repeated with its stored value
    assert cli.main(["--output", str(killed), *args, "--resume", str(killed)]) == 0
    assert costs_of(killed) == costs_of(tmp_path / "whole")  # every cost, to the last digit written
    assert len(costs_of(killed)) == 10
    for name in ("final.png", "best.png"):
        assert (killed / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_ctrl_c_saves_and_the_run_resumes_to_the_same_costs(tiny_vgg, tmp_path, monkeypatch):
    c, s = photo(tmp_path / "c.png"), photo(tmp_path / "s.png", seed=1)
    args = ["--content", c, "--style", s, "--seed", "0", "--size", "128x192", "--save-every", "5", "--quiet"]
    out = tmp_path / "out"
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    code, err = interrupt_when([*args, "--output", str(out), "--iterations", "100000"],
                               lambda: (out / "checkpoint.npz").exists())  # what Ctrl-C in a terminal sends
    assert code == 130, err
    steps = len(read_history(out)) - 1
    assert f"interrupted (SIGINT) after {steps} steps" in err and f"--resume {out}" in err and "Traceback" not in err
    assert (out / f"iteration_{steps:04d}.png").exists()
    assert read_checkpoint(str(out / "checkpoint.npz")).steps == steps + 1  # the next update was applied
    assert cli.main(["--resume", str(out), "--iterations", str(steps + 3)]) == 0
    assert cli.main([*args, "--output", str(tmp_path / "whole"), "--iterations", str(steps + 3)]) == 0
    assert costs_of(out) == costs_of(tmp_path / "whole")


def test_resume_extends_a_finished_run(env, tmp_path):
    assert train(tmp_path / "long", *env, "--iterations", "7") == 0
    assert train(tmp_path / "short", *env, "--iterations", "4") == 0
    assert cli.main(["--resume", str(tmp_path / "short"), "--iterations", "7", "--quiet"]) == 0
    assert costs_of(tmp_path / "short") == costs_of(tmp_path / "long")


def test_resume_refuses_what_would_change_the_costs(env, tmp_path, capsys):
    out = tmp_path / "out"
    assert train(out, *env, "--iterations", "2") == 0
    capsys.readouterr()
    cases = [(["--resume", str(out), "--alpha", "3"], ["--alpha cannot change when resuming",
                                                       "the run has 10, the command gives 3", "--iterations"]),
             (["--resume", str(out), *env[:2], "--style", env[3]], ["--style cannot change", env[3]]),
             (["--resume", str(out), "--output", str(tmp_path / "elsewhere")],
              ["--output", "not the run being resumed"]),
             (["--resume", str(out)], ["--iterations 2", "already has 2 steps"]),
             (["--resume", str(tmp_path / "none")], ["no checkpoint to resume from"])]
    for args, fragments in cases:
        assert_one_line(cli.main(args), capsys.readouterr().err, *fragments)
    photo(Path(env[1]), seed=9)  # the content file changed since the run
    assert_one_line(cli.main(["--resume", str(out), "--iterations", "3"]), capsys.readouterr().err,
                    f"{env[1]}: differs from what the run being resumed read")
    data = (out / "checkpoint.npz").read_bytes()
    (out / "checkpoint.npz").write_bytes(data[: len(data) // 2])
    assert_one_line(cli.main(["--resume", str(out), "--iterations", "3"]), capsys.readouterr().err,
                    "checkpoint.npz", "not a readable checkpoint")


def test_nan_stops_keeps_the_last_good_image_and_names_the_setting(env, tmp_path, capsys):
    out = tmp_path / "out"
    code = train(out, *env[:4], "--seed", "0", "--learning-rate", "1e30", "--iterations", "5")
    assert_one_line(code, capsys.readouterr().err, "J became", "after 1 steps", "--learning-rate",
                    f"the last good image (after 0 steps) is {out / 'iteration_0000.png'}")
    start = np.clip(np.rint(start_image(seen(env[1])) + MEAN), 0, 255)
    assert np.abs(iio.imread(out / "iteration_0000.png") - start).max() <= 1
    assert len(read_history(out)) == 1 and not (out / "final.png").exists()
    code = train(tmp_path / "o2", *env[:4], "--seed", "0", "--beta", "1e38", "--iterations", "5")
    assert_one_line(code, capsys.readouterr().err, "J became inf after 0 steps", "--alpha, --beta")


def test_full_disk_is_one_error_and_keeps_the_last_image(env, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    fsync, calls = os.fsync, []

    def fsync_until_full(fd):  # writes: content, style, style_2, then 4 per save point
        calls.append(fd)
        if len(calls) == 8:
            raise OSError(errno.ENOSPC, "No space left on device")
        fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync_until_full)
    code = train(out, *env, "--iterations", "6", "--save-every", "2")
    last = out / "iteration_0002.png"
    assert_one_line(code, capsys.readouterr().err, f"{out / 'iteration_0004.png'}: cannot write",
                    "No space left on device", "after 4 steps", f"the last complete image is {last}")
    assert iio.imread(last).shape == (32, 48, 3)
    assert sorted(os.listdir(out)) == ["best.png", "checkpoint.npz", "content.png", "history.csv",
                                       "iteration_0002.png", "style.png", "style_2.png"]  # no temp file left


def test_vanished_output_directory_is_one_error(env, tmp_path, monkeypatch, capsys):
    out = tmp_path / "out"
    write_checkpoint = nst.run.consumers.write_checkpoint

    def write_then_vanish(*args, **kwargs):
        write_checkpoint(*args, **kwargs)
        shutil.rmtree(out)

    monkeypatch.setattr(nst.run.consumers, "write_checkpoint", write_then_vanish)
    code = train(out, *env, "--iterations", "6", "--save-every", "2")
    assert_one_line(code, capsys.readouterr().err, f"{out}: output directory vanished during the run",
                    "after 4 steps")


def test_ctrl_c_stops_an_lbfgs_run_which_resumes_to_the_same_costs(tiny_vgg, tmp_path, monkeypatch):
    c, s = photo(tmp_path / "c.png"), photo(tmp_path / "s.png", seed=1)
    out = tmp_path / "out"
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    args = ["--content", c, "--style", s, "--seed", "0", "--size", "128x192", "--save-every", "3", "--quiet",
            "--optimizer", "lbfgs"]
    code, err = interrupt_when([*args, "--output", str(out), "--iterations", "100000"],
                               lambda: (out / "checkpoint.npz").exists())
    assert code == 130, err
    steps = len(read_history(out)) - 1
    assert f"interrupted (SIGINT) after {steps} iterations" in err and f"--resume {out}" in err
    assert "Traceback" not in err and (out / f"iteration_{steps:04d}.png").exists()
    assert read_checkpoint(str(out / "checkpoint.npz")).steps == steps  # the state at that iterate
    assert cli.main(["--resume", str(out), "--iterations", str(steps + 3)]) == 0
    assert cli.main([*args, "--output", str(tmp_path / "whole"), "--iterations", str(steps + 3)]) == 0
    assert costs_of(out) == costs_of(tmp_path / "whole")
