"""``python -m nst.train`` end to end on tiny synthetic weights, and every bad input's message."""
import os
import re
import types

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import TINY, assert_one_line, costs_of, photo, read_history, run_cli
from nst.commands import train as cli
from nst.algorithm import images


def test_end_to_end_writes_images_and_history(tiny_vgg, tmp_path):
    out = tmp_path / "out"
    done = run_cli(["--content", photo(tmp_path / "c.png"), "--style", photo(tmp_path / "s.jpg", seed=1),
                    "--output", str(out), "--iterations", "6", "--save-every", "2", "--seed", "0",
                    "--learning-rate", "5", *TINY], env_weights=tiny_vgg["old"][0])
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["best.png", "checkpoint.npz", "content.png", "final.png", "history.csv",
                                       "iteration_0002.png", "iteration_0004.png", "style.png"]
    np.testing.assert_allclose(iio.imread(out / "content.png"), images.resize_image(
        images.load_image(str(tmp_path / "c.png")), (32, 48)), atol=0.51)  # C as the network saw it
    assert iio.imread(out / "final.png").shape == (32, 48, 3)
    rows = read_history(out)
    assert list(rows[0]) == ["iteration", "J", "J_content", "J_style", "seconds"]
    assert [int(r["iteration"]) for r in rows] == list(range(7))
    J = [float(r["J"]) for r in rows]
    assert J[-1] < J[0]
    for r in rows:
        assert float(r["J"]) == pytest.approx(10 * float(r["J_content"]) + 40 * float(r["J_style"]), rel=1e-5)
    assert "final image" in done.stdout and str(out / "final.png") in done.stdout


def test_defaults_need_no_image_files(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    out = tmp_path / "o"
    assert cli.main(["--output", str(out), "--iterations", "2", "--max-side", "40", "--quiet"]) == 0
    assert iio.imread(out / "final.png").shape == (40, 34, 3)  # Grace Hopper's 600x512, longer side 40


def test_seed_makes_runs_identical(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    costs = []
    for name in ("a", "b", "c"):
        seed = "1" if name != "c" else "2"
        assert cli.main(["--output", str(tmp_path / name), "--iterations", "3", "--seed", seed, *TINY]) == 0
        costs.append([(r["J"], r["J_content"], r["J_style"]) for r in read_history(tmp_path / name)])
    assert costs[0] == costs[1] and costs[0] != costs[2]


def test_bad_content_files(bad_input, tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.png").write_text("not an image")
    good = tmp_path / "good.png"
    photo(good, (64, 64))
    (tmp_path / "cut.png").write_bytes(good.read_bytes()[:200])
    photo(tmp_path / "small.png", (20, 200))
    cases = {"missing.jpg": "no such image file", "empty.jpg": "empty file", "text.png": "not a readable image",
             "cut.png": "not a readable image", "small.png": "smaller than 32 px"}
    for name, fragment in cases.items():
        path = str(tmp_path / name)
        assert_one_line(*bad_input("--content", path), path, fragment)
        assert_one_line(*bad_input("--style", path), path, fragment)


def test_unreadable_file(bad_input, tmp_path, monkeypatch):
    path = photo(tmp_path / "locked.png")

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(images.Image, "open", denied)  # root reads any file, so fake the OS refusal
    assert_one_line(*bad_input("--content", path), path, "permission denied")


def test_bad_weights(bad_input, tmp_path, tiny_vgg):
    from synthetic_vgg import write_vgg_mat

    write_vgg_mat(str(tmp_path / "vgg16.mat"), blocks=(2, 2, 3, 3, 3), extra_fc=False)
    (tmp_path / "cut.mat").write_bytes(open(tiny_vgg["new"][0], "rb").read()[:5000])
    (tmp_path / "text.mat").write_text("hello")
    cases = {"none.mat": "not found", "cut.mat": "truncated or corrupt", "vgg16.mat": "not a VGG-19",
             "text.mat": "cannot read"}
    for name, fragment in cases.items():
        path = str(tmp_path / name)
        assert_one_line(*bad_input("--vgg", path), path, fragment)


@pytest.mark.parametrize("args,fragments", [
    (["--style-layers", "conv1_1:0.5,conv9_9:0.5"], ["conv9_9", "unknown VGG-19 layer"]),
    (["--content-layer", "fc7"], ["fc7", "unknown VGG-19 layer"]),
    (["--style-layers", "conv1_1:heavy"], ["bad weight", "heavy"]),
    (["--iterations", "0"], ["--iterations must be positive"]),
    (["--iterations", "-5"], ["--iterations must be positive"]),
    (["--learning-rate", "0"], ["--learning-rate must be positive"]),
    (["--learning-rate", "-1"], ["--learning-rate must be positive"]),
    (["--noise-ratio", "1.5"], ["--noise-ratio"]),
    (["--iterations", "many"], ["invalid int value", "--help"]),
    (["--size", "10x400"], ["too small"]),
    (["--size", "60000x60000"], ["GiB", "is free", "use --size"]),
    (["--pooling", "median"], ["invalid choice"]),
])
def test_bad_options(bad_input, args, fragments):
    assert_one_line(*bad_input(*args), *fragments)


def test_output_directory_not_writable(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    for target in (blocker, blocker / "sub"):
        code = cli.main(["--output", str(target), "--iterations", "1", *TINY])
        assert_one_line(code, capsys.readouterr().err, str(target))
    assert blocker.read_text() == "keep me"


def test_bad_input_in_a_real_process_has_no_traceback(tmp_path):
    done = run_cli(["--content", str(tmp_path / "nope.png")])
    assert done.returncode == 2 and done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"nst train: error: {tmp_path / 'nope.png'}: no such image file"


@pytest.fixture
def stored_run(tmp_path, monkeypatch):
    """Resume a run started with ``argv``, its checkpoint faked: stored_run(argv) -> the stored configuration."""
    def start(argv):
        stored = cli.parse(argv).config
        monkeypatch.setattr(cli, "read_checkpoint", lambda path: types.SimpleNamespace(config=stored))
        return stored
    return start


JC_ADAM = ["--preset", "jcjohnson", "--optimizer", "adam", "--size", "32x48", "--seed", "0"]


def test_the_same_preset_command_with_resume_is_accepted(stored_run, tmp_path):
    out = str(tmp_path / "o")
    argv = [*JC_ADAM, "--output", out, "--iterations", "3"]
    stored = stored_run(argv)
    assert cli.parse([*argv, "--resume", out]).config == stored
    assert cli.parse([*argv, "--resume", out, "--iterations", "9"]).config == stored.replace(iterations=9)
    course = stored_run(["--preset", "course", "--output", out, "--size", "32x48", "--alpha", "3"])
    assert cli.parse(["--preset", "course", "--output", out, "--size", "32x48", "--alpha", "3", "--resume", out,
                      "--iterations", "300"]).config == course.replace(iterations=300)
    assert cli.parse(["--resume", out, "--alpha", "3", "--size", "32x48"]).config == course  # plain options too


def test_a_setting_the_preset_changes_on_resume_is_refused_naming_the_preset(stored_run, tmp_path, capsys):
    out = str(tmp_path / "o")
    stored_run([*JC_ADAM, "--output", out, "--pooling", "avg"])
    assert_one_line(cli.main([*JC_ADAM, "--output", out, "--resume", out]), capsys.readouterr().err,
                    "--preset jcjohnson sets --pooling max, the run has avg: --pooling cannot change", "--iterations")
    assert_one_line(cli.main([*JC_ADAM, "--resume", out, "--pooling", "avg", "--alpha", "3"]),
                    capsys.readouterr().err, "--alpha cannot change when resuming: the run has 20, the command gives 3")
    stored_run([*JC_ADAM, "--output", out])
    assert_one_line(cli.main(["--preset", "course", "--resume", out]), capsys.readouterr().err,
                    "--preset course sets --alpha 10, the run has 20")


def test_a_preset_run_resumes_with_its_own_command(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    argv = [*JC_ADAM, "--quiet", "--output", str(tmp_path / "o"), "--iterations", "3"]
    assert cli.main(argv) == 0
    assert cli.main([*argv, "--resume", str(tmp_path / "o"), "--iterations", "6"]) == 0
    assert cli.main([*JC_ADAM, "--quiet", "--output", str(tmp_path / "whole"), "--iterations", "6"]) == 0
    assert len(costs_of(tmp_path / "o")) == 7 and costs_of(tmp_path / "o") == costs_of(tmp_path / "whole")


ESTIMATE = re.compile(r"time: +about ([0-9.e+-]+) s (for 6|left for the remaining 2) Adam steps "
                      r"\(([0-9.e+-]+) s per step over 2 timed; the bar shows what is left\)")


def estimates(err):
    """(shown seconds, what, seconds per step) of each time line in ``err``."""
    return [(float(m[1]), m[2], float(m[3])) for m in ESTIMATE.finditer(err)]


def test_the_time_estimate_is_said_once_from_the_steps_after_the_first(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    out, argv = tmp_path / "o", ["--size", "32x48", "--seed", "0"]
    assert cli.main([*argv, "--output", str(out), "--iterations", "6"]) == 0
    err = capsys.readouterr().err
    assert err.count("time:") == 1 and len(estimates(err)) == 1, err
    (shown, what, rate), = estimates(err)
    seconds = [float(r["seconds"]) for r in read_history(out)]
    assert what == "for 6" and rate > 0 and abs(rate - (seconds[3] - seconds[1]) / 2) <= 0.001 + 0.005 * rate
    assert shown == pytest.approx(rate * 3, rel=0.06)  # 3 steps left after step 3
    assert cli.main([*argv, "--output", str(out), "--resume", str(out), "--iterations", "11"]) == 0
    (shown, what, rate), = estimates(capsys.readouterr().err)
    assert what == "left for the remaining 2" and rate > 0 and shown == pytest.approx(rate * 2, rel=0.06)
    for name, extra in (("short", ["--iterations", "4"]), ("quiet", ["--iterations", "6", "--quiet"])):
        assert cli.main([*argv, "--output", str(tmp_path / name), *extra]) == 0
        assert "time:" not in capsys.readouterr().err


# (J, J_content, J_style) of the run below as computed by commit e36d01b, before any option beyond the paper existed:
# the default run must stay the faithful reproduction.
PINNED_REAL = [(4.40139612e10, 19180.75, 1.10034419e9), (4.14518149e10, 18840.9062, 1.03629069e9),
               (3.8719488e10, 19500.7637, 967982336), (3.58499205e10, 20391.6836, 896242944),
               (3.27882138e10, 21368.2812, 819700032), (2.96350761e10, 22465.7852, 740871296),
               (2.64956826e10, 23663.1035, 662386112), (2.3444906e10, 24996.2637, 586116416),
               (2.05713162e10, 26494.5332, 514276288)]


def test_real_weights_short_run_lowers_J_and_is_deterministic(real_vgg, tmp_path):
    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        done = run_cli(["--output", str(out), "--max-side", "64", "--iterations", "8", "--seed", "3",
                        "--save-every", "4", "--quiet"], env_weights=real_vgg)
        assert done.returncode == 0, done.stderr
        runs.append(read_history(out))
    J = [float(r["J"]) for r in runs[0]]
    assert J[-1] < 0.9 * J[0] and all(b < a for a, b in zip(J, J[1:]))
    strip = [[{k: v for k, v in r.items() if k != "seconds"} for r in run] for run in runs]
    assert strip[0] == strip[1]
    got = [(float(r["J"]), float(r["J_content"]), float(r["J_style"])) for r in runs[0]]
    np.testing.assert_allclose(got, PINNED_REAL, rtol=1e-5)  # identical on one machine; CPUs round differently
