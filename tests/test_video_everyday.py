"""``nst video`` on everyday files: a huge frame refused from the header, a variable frame rate kept,
an odd size, the container the extension names, and bad numbers of the video's options."""
import os
import subprocess
import sys
import time

import pytest

from helpers import assert_one_line, require, subprocess_env

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


def peak_run(argv, tiny_vgg):
    """(exit code, stderr, peak resident MB) of ``nst video argv`` in a fresh interpreter, ffmpeg's included."""
    code = ("import resource, sys\nfrom nst.video import command\ncode = command.main(sys.argv[1:])\n"
            "print(max(resource.getrusage(w).ru_maxrss for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)))\n"
            "sys.exit(code)")
    done = subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True, text=True,
                          env=subprocess_env(NST_VGG19=tiny_vgg["new"][0]), timeout=300)
    return done.returncode, done.stderr, int(done.stdout.split()[-1]) / 1024


@pytest.fixture(scope="module")
def interpreter_mb(tiny_vgg, tmp_path_factory):
    """The peak of a run refused after its imports (a missing input): what any run needs."""
    folder = tmp_path_factory.mktemp("peak")
    return peak_run([folder / "missing.mp4", "--output", folder / "o.mp4", *FAST], tiny_vgg)[2]


@pytest.mark.parametrize("name, codec", [("huge.mp4", ["libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]),
                                         ("huge.avi", ["mjpeg", "-pix_fmt", "yuvj420p"])])  # its size: decoded
def test_a_video_over_max_pixels_is_refused_from_its_header_in_little_memory(tiny_vgg, tmp_path, interpreter_mb,
                                                                              name, codec):
    clip = tmp_path / name  # one 10240x10240 frame (105 megapixels) in under a megabyte
    ffmpeg("-f", "lavfi", "-i", "color=c=red:size=10240x10240:rate=1", "-frames:v", "1", "-c:v", *codec, clip)
    assert clip.stat().st_size < 2**20
    began = time.monotonic()
    code, err, peak = peak_run([clip, "--output", tmp_path / "o.mp4", *FAST], tiny_vgg)
    assert (code, err.count("\n")) == (2, 1) and "Traceback" not in err, err
    assert f"{clip}: its frames are 10240x10240 (104.9 megapixels), over the limit of 100 megapixels (raise " \
           "--max-pixels to read it)" in err
    assert time.monotonic() - began < 60
    assert peak < interpreter_mb + 200, (peak, interpreter_mb)  # one decoded frame is 315 MB, as float32 1.2 GB
    assert sorted(os.listdir(tmp_path)) == [name]


def test_max_pixels_is_the_limit_for_video_frames(weights, tmp_path, capsys):
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=12", "-frames:v", "2", "-pix_fmt", "yuv420p", clip)
    code = video.main([str(clip), "--output", str(tmp_path / "o.mp4"), "--max-pixels", str(64 * 48 - 1), *FAST])
    assert_one_line(code, capsys.readouterr().err, "its frames are 64x48", "raise --max-pixels", prog="nst video")
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]
    assert video.main([str(clip), "--output", str(tmp_path / "o.mp4"), "--max-pixels", str(64 * 48), *FAST]) == 0
