"""``nst video`` on everyday files: a huge frame refused from the header, a variable frame rate kept,
an odd size, the container the extension names, and bad numbers of the video's options."""
import os
import subprocess
import sys
import time

import imageio.v3 as iio
import numpy as np
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


def starts(path):
    """Each frame's start in seconds from the first's, from the file's packets (ffmpeg's framecrc)."""
    out = subprocess.run([FF, "-loglevel", "error", "-i", str(path), "-map", "0:v:0", "-c", "copy", "-f", "framecrc",
                          "-"], capture_output=True, text=True, check=True).stdout
    num, den = next(line for line in out.splitlines() if line.startswith("#tb 0:")).split()[-1].split("/")
    pts = sorted(int(line.split(",")[2]) for line in out.splitlines() if line.startswith("0,"))
    return [(p - pts[0]) * int(num) / int(den) for p in pts]


# seconds each frame of the variable-rate clip is shown (multiples of the concat demuxer's 1/25 s)
DURATIONS = [0.12, 0.2, 0.28, 0.52, 0.88, 0.24, 0.28, 0.48, 0.4, 0.32, 0.28, 0.48]


def variable_rate_clip(folder):
    """12 distinct frames shown 0.12 to 0.88 s each, 4.48 s in all: the concat demuxer's per-image durations."""
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=1", "-frames:v", len(DURATIONS), folder / "in_%02d.png")
    script = "".join(f"file 'in_{n + 1:02d}.png'\nduration {d}\n" for n, d in enumerate(DURATIONS))
    (folder / "list.txt").write_text(script)
    ffmpeg("-f", "concat", "-i", folder / "list.txt", "-fps_mode", "vfr", "-pix_fmt", "yuv420p", folder / "vfr.mp4")
    return folder / "vfr.mp4"


@pytest.mark.parametrize("args, kept", [([], range(12)), (["--every", "2"], range(0, 12, 2)),
                                        (["--start", "2s"], range(5, 12))], ids=["all", "every 2", "from 2 s"])
def test_a_variable_frame_rate_keeps_each_frames_time(weights, tmp_path, args, kept):
    clip, out = variable_rate_clip(tmp_path), tmp_path / "out.mp4"
    shown, (count, seconds) = starts(clip), imageio_ffmpeg.count_frames_and_secs(str(clip))
    assert count == 12 and shown == pytest.approx(np.cumsum([0, *DURATIONS[:-1]]), abs=1e-3)
    assert video.main([str(clip), "--output", str(out), *args, *FAST]) == 0
    assert imageio_ffmpeg.count_frames_and_secs(str(out)) == (len(kept), pytest.approx(seconds - shown[kept[0]],
                                                                                        abs=0.02))
    assert starts(out) == pytest.approx([shown[n] - shown[kept[0]] for n in kept], abs=1e-3)


def test_an_odd_size_gets_one_pixel_copied_says_so_and_warns_nothing(tiny_vgg, tmp_path):
    clip, out = tmp_path / "odd.mp4", tmp_path / "out.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=57x41:rate=10", "-frames:v", "3", "-pix_fmt", "yuv444p", clip)
    done = subprocess.run([sys.executable, "-m", "nst", "video", str(clip), "--output", str(out), *FAST[2:],
                           "--size", "41x57"], capture_output=True, text=True, timeout=300,
                          env=subprocess_env(NST_VGG19=tiny_vgg["new"][0]))
    assert done.returncode == 0, done.stderr
    assert "macro_block_size" not in done.stderr and "warning" not in done.stderr.lower(), done.stderr
    assert "(3 frames, 58x42: an odd side of the frames got a copy of its last row or column" in done.stdout
    assert iio.imread(tmp_path / "out.run" / "frame_00000.png").shape == (41, 57, 3)  # the frames keep their size
    first = iio.imread(out, index=0, plugin="FFMPEG").astype(float)
    assert first.shape == (42, 58, 3)
    assert np.abs(first[:, 57] - first[:, 56]).mean() < 3 and np.abs(first[41] - first[40]).mean() < 3


@pytest.mark.parametrize("name, magic", [("out.mkv", b"\x1a\x45\xdf\xa3"), ("out.mov", b"ftypqt  "),
                                         ("out.m4v", b"ftypisom"), ("OUT.MP4", b"ftypisom")])
def test_the_output_is_the_container_its_extension_names(weights, tmp_path, name, magic):
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=12", "-f", "lavfi", "-i", "sine", "-frames:v", "3",
           "-pix_fmt", "yuv420p", clip)
    assert video.main([str(clip), "--output", str(tmp_path / name), *FAST]) == 0
    head = (tmp_path / name).read_bytes()[:12]
    assert magic in (head[:4], head[4:12]), head
    assert imageio_ffmpeg.count_frames_and_secs(str(tmp_path / name))[0] == 3
    header = subprocess.run([FF, "-hide_banner", "-i", str(tmp_path / name)], capture_output=True, text=True).stderr
    assert "Video: h264" in header and "Audio: aac" in header, header


@pytest.mark.parametrize("name", ["out.avi", "out.webm", "out.gif", "out"])
def test_an_output_of_another_container_is_refused_before_any_work(weights, tmp_path, capsys, name):
    clip = tmp_path / "clip.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=64x48:rate=12", "-frames:v", "2", "-pix_fmt", "yuv420p", clip)
    code = video.main([str(clip), "--output", str(tmp_path / name), *FAST])
    assert_one_line(code, capsys.readouterr().err, f"--output {tmp_path / name}: nst video writes .mp4, .m4v, "
                    ".mov, .mkv", prog="nst video")
    assert sorted(os.listdir(tmp_path)) == ["clip.mp4"]
