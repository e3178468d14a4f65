"""``nst video`` on everyday files: a huge frame refused from the header, a variable frame rate kept,
an odd size, the container the extension names, and bad numbers of the video's options."""
import os
import subprocess

import pytest

from helpers import assert_one_line, require

require("cv2")
imageio_ffmpeg = require("imageio_ffmpeg")
from nst.tools import videobench  # noqa: E402
from nst.video import command as video  # noqa: E402

FF = imageio_ffmpeg.get_ffmpeg_exe()
FAST = ["--size", "32x48", "--iterations", "2", "--first-frame-iterations", "3", "--seed", "0", "--quiet"]


@pytest.fixture
def weights(tiny_vgg, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])


def ffmpeg(*args):
    subprocess.run([FF, "-y", "-loglevel", "error", *map(str, args)], check=True)


BAD_NUMBERS = [(["--first-frame-iterations", "0"], "--first-frame-iterations must be positive, got 0"),
               (["--first-frame-iterations", "-2"], "--first-frame-iterations must be positive, got -2"),
               (["--temporal-weight", "-1"], "--temporal-weight must be zero or positive, got -1"),
               (["--temporal-weight", "nan"], "--temporal-weight must be zero or positive, got nan"),
               (["--temporal-weight", "inf"], "--temporal-weight must be zero or positive, got inf"),
               (["--temporal-weight", "-inf"], "--temporal-weight must be zero or positive, got -inf"),
               (["--temporal-weight", "-1e6"], "--temporal-weight must be zero or positive, got -1000000")]


@pytest.mark.parametrize("args, message", BAD_NUMBERS, ids=[" ".join(args) for args, _ in BAD_NUMBERS])
def test_a_bad_number_of_a_video_option_is_one_line_naming_it(weights, tmp_path, capsys, args, message):
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=12", "-frames:v", "2", "-pix_fmt", "yuv420p", clip)
    code = video.main([str(clip), "--output", str(tmp_path / "out.mp4"), *FAST, *args])
    assert_one_line(code, capsys.readouterr().err, message, prog="nst video")
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]


BENCH_NUMBERS = [*BAD_NUMBERS, (["--iterations", "0"], "--iterations must be positive, got 0"),
                 (["--frames", "0"], "--frames must be positive, got 0")]


@pytest.mark.parametrize("args, message", BENCH_NUMBERS, ids=[" ".join(args) for args, _ in BENCH_NUMBERS])
def test_videobench_refuses_a_bad_number_before_any_work(capsys, args, message):
    code = videobench.main([*args, "--clips", "none", "--no-speed"])
    out, err = capsys.readouterr()
    assert_one_line(code, err, message, prog="nst videobench")
    assert out == ""  # not even the CPU line: nothing was measured
