"""``nst video``: frame count, frame rate and audio kept; a stop resumes; bad inputs are one line."""
import os
import signal
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import assert_one_line, interrupt_when, photo, require, subprocess_env

require("cv2")  # the test extra: missing, these tests fail (tests/README.md)
imageio_ffmpeg = require("imageio_ffmpeg")
from nst.algorithm import memory  # noqa: E402
from nst.algorithm.vgg import read_vgg_weights  # noqa: E402
from nst.commands import train as cli  # noqa: E402
from nst.video import command as video  # noqa: E402

FAST = ["--size", "32x48", "--iterations", "2", "--first-frame-iterations", "3", "--seed", "0", "--quiet"]


def make_clip(path, frames=8, fps=12, audio=True, size="64x48"):
    """A clip made by ffmpeg itself: its test pattern (and a tone), ``frames`` frames at ``fps``."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi",
               "-i", f"testsrc=size={size}:rate={fps}"]
    if audio:
        command += ["-f", "lavfi", "-i", "sine=frequency=440"]
    command += ["-frames:v", str(frames), "-pix_fmt", "yuv420p", str(path)]
    subprocess.run(command, check=True)
    return str(path)


def streams(path):
    """(frame count, fps, whether there is an audio track) of a video, as ffmpeg reads it."""
    meta = iio.immeta(path, plugin="FFMPEG")
    return len(list(iio.imiter(path, plugin="FFMPEG"))), meta["fps"], bool(meta.get("audio_codec"))


@pytest.fixture
def weights(tiny_vgg, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])


def test_the_video_keeps_frame_count_frame_rate_and_audio(weights, tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=8, fps=12)
    out = tmp_path / "out.mp4"
    assert video.main([clip, "--output", str(out), *FAST]) == 0
    assert streams(str(out)) == (8, 12.0, True)
    run = tmp_path / "out.run"
    assert sorted(n for n in os.listdir(run) if n.endswith(".png")) == [f"frame_{n:05d}.png" for n in range(8)]
    header = open(run / "frame_00003.csv").readline().strip()
    assert header == "iteration,J,J_content,J_style,J_temporal,seconds"
    assert len(iio.imread(run / "preview.gif", index=None)) == 8  # input | output, side by side
    assert iio.imread(run / "preview.gif", index=0).shape[:2] == (32, 96)
    assert "wrote" in capsys.readouterr().out


def test_every_and_a_time_range_divide_the_rate(weights, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=12, fps=12, audio=False)
    out = tmp_path / "out.mp4"
    assert video.main([clip, "--output", str(out), "--start", "2", "--end", "0.75s", "--every", "2", *FAST]) == 0
    assert streams(str(out)) == (4, 6.0, False)  # frames 2, 4, 6, 8 of 0..8 at 12 / 2 fps


def test_a_folder_of_frames_is_a_video_too(weights, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for n in range(3):
        photo(folder / f"{n:03d}.png", shape=(40, 56), seed=n)
    out = tmp_path / "out.mp4"
    assert video.main([str(folder), "--output", str(out), *FAST]) == 0
    assert streams(str(out)) == (3, 25.0, False)


def test_an_interrupted_video_resumes_and_ends_as_an_uninterrupted_one(weights, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=10, fps=12, audio=False)
    env = subprocess_env()
    slow = ["--size", "32x48", "--iterations", "30", "--first-frame-iterations", "30", "--seed", "0", "--quiet"]
    whole = tmp_path / "whole.mp4"
    done = subprocess.run([sys.executable, "-m", "nst", "video", clip, "--output", str(whole), *slow],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    out, run = tmp_path / "out.mp4", tmp_path / "out.run"
    code, err = interrupt_when(["video", clip, "--output", str(out), *slow],
                               lambda: (run / "frame_00001.png").exists(), module="nst")
    assert code == 128 + signal.SIGINT, err
    assert "nst video --resume" in err and "Traceback" not in err
    kept = sorted(n for n in os.listdir(run) if n.endswith(".png"))
    assert 2 <= len(kept) < 10 and not out.exists()
    before = {n: (run / n).read_bytes() for n in kept}
    done = subprocess.run([sys.executable, "-m", "nst", "video", "--resume", str(run)], capture_output=True,
                          text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr
    assert {n: (run / n).read_bytes() for n in kept} == before  # finished frames are not redone
    for n in range(10):  # the continued frames are those of the run that was never stopped
        name = f"frame_{n:05d}.png"
        np.testing.assert_array_equal(iio.imread(run / name), iio.imread(tmp_path / "whole.run" / name))
    assert streams(str(out))[0] == 10


def test_a_finished_run_is_not_overwritten_and_resume_cannot_change_settings(weights, tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=2, audio=False)
    out = tmp_path / "out.mp4"
    assert video.main([clip, "--output", str(out), *FAST]) == 0
    capsys.readouterr()
    before = out.read_bytes()
    assert_one_line(video.main([clip, "--output", str(out), *FAST]), capsys.readouterr().err, "exists already",
                    prog="nst video")
    assert_one_line(video.main(["--resume", str(tmp_path / "out.run"), "--temporal-weight", "3"]),
                    capsys.readouterr().err, "--temporal-weight cannot change", prog="nst video")
    assert out.read_bytes() == before


def bad_inputs(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video\n")
    (tmp_path / "no_frames").mkdir()
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    "sine=frequency=440", "-t", "0.2", str(tmp_path / "sound.mp4")], check=True)
    clip = make_clip(tmp_path / "clip.mp4", frames=3, audio=False)
    return [([str(tmp_path / "missing.mp4")], "no such file"),
            ([str(tmp_path / "empty.mp4")], "the file is empty"),
            ([str(tmp_path / "text.mp4")], "not a video ffmpeg can read"),
            ([str(tmp_path / "no_frames")], "a folder with no image files"),
            ([str(tmp_path / "sound.mp4")], "no video stream (only Audio: aac"),
            ([clip, "--start", "5"], "no frames in the range"),
            ([clip, "--start", "2", "--end", "1"], "--start, --end: the end (frame 1) is not after"),
            ([clip, "--start", "two"], "--start: 'two' is neither"),
            ([clip, "--temporal-weight", "-1"], "--temporal-weight must be zero or positive"),
            ([clip, "--content", clip], "--content does not apply"),
            ([clip, "--output", clip], "the output video is the input"),
            ([], "name the video (INPUT)")]


def test_bad_inputs_are_one_line_and_write_nothing(weights, tmp_path, capsys):
    for args, fragment in bad_inputs(tmp_path):
        before = sorted(os.listdir(tmp_path))
        argv = args if "--output" in args else [*args, "--output", str(tmp_path / "out.mp4")]
        assert_one_line(video.main([*argv, *FAST]), capsys.readouterr().err, fragment, prog="nst video")
        assert sorted(os.listdir(tmp_path)) == before, args


def refused_by_both(tmp_path, monkeypatch, tiny_vgg):
    """Bad inputs of the settings nst video shares with nst train: (args, what the message says)."""
    (tmp_path / "text.png").write_text("not an image\n")
    weights = read_vgg_weights(tiny_vgg["new"][0])
    fits = memory.estimate_peak_bytes(weights, 32, 48, "conv5_1") / memory.HEADROOM * 1.01
    monkeypatch.setattr(memory, "available_bytes", lambda: fits)  # 32x48 fits, its style at 8x does not
    return [(["--init", str(tmp_path / "nope.png")], "--init"),
            (["--init", str(tmp_path / "text.png")], "--init"),
            (["--style", str(tmp_path / "nope.png")], "no such image file"),
            (["--style-scale", "8"], "--style-scale"),
            (["--beta", "-1"], "--beta must be zero or positive")]


def test_video_refuses_what_train_refuses_with_the_same_words(weights, tiny_vgg, tmp_path, capsys, monkeypatch):
    clip = make_clip(tmp_path / "clip.mp4", frames=2, audio=False)
    for args, fragment in refused_by_both(tmp_path, monkeypatch, tiny_vgg):
        trained = cli.main(["--output", str(tmp_path / "t"), "--size", "32x48", "--iterations", "2", "--quiet", *args])
        train_err = capsys.readouterr().err
        styled = video.main([clip, "--output", str(tmp_path / "v.mp4"), *FAST, *args])
        video_err = capsys.readouterr().err
        assert trained == styled == 2, args
        assert fragment in train_err, train_err
        assert train_err.removeprefix("nst train: ") == video_err.removeprefix("nst video: "), args


def test_videobench_quick_prints_each_variant_and_writes_the_gallery(weights, tmp_path, capsys):
    from nst.tools import videobench

    gallery = tmp_path / "strip.png"
    assert videobench.main(["--quick", "--no-speed", "--gallery", str(gallery)]) == 0
    out = capsys.readouterr().out
    assert "CPU: " in out and out.count("(c) prev-warped + J_temporal") == 2 and "lower with (c)" in out
    assert iio.imread(gallery).shape == (3 * 96, 4 * 128, 3)  # input, (a), (c): four frames each


def test_without_gradio_the_benchmark_makes_its_real_clip_with_ffmpeg(tmp_path, monkeypatch):
    from nst.tools import videobench

    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio now raises ImportError
    path, name, every = videobench.real_clip(str(tmp_path))
    assert "mandelbrot" in name and every == 2
    assert streams(path) == (100, 25.0, False)  # 4 s at 25 fps


def test_resume_on_a_replaced_video_or_style_is_refused(weights, tmp_path, capsys):
    clip = make_clip(tmp_path / "clip.mp4", frames=6, audio=False)
    out, style = tmp_path / "out.mp4", photo(tmp_path / "s.png", (48, 64), seed=4)
    code, err = interrupt_when(["video", clip, "--style", style, "--output", str(out), *FAST, "--iterations",
                                "100000"], lambda: (tmp_path / "out.run" / "video_state.npz").exists(), module="nst")
    assert code == 130, err
    state = (tmp_path / "out.run" / "video_state.npz").read_bytes()
    photo(style, (48, 64), seed=5)  # the same path, another painting
    assert_one_line(video.main(["--resume", str(tmp_path / "out.run")]), capsys.readouterr().err,
                    "are not those of the run being resumed", prog="nst video")
    assert (tmp_path / "out.run" / "video_state.npz").read_bytes() == state


def test_a_tiled_video_has_the_untiled_costs_frame_after_frame(weights, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", frames=3, audio=False)
    histories = []
    for name, extra in (("plain", []), ("tiled", ["--tile", "16"])):
        assert video.main([clip, "--output", str(tmp_path / f"{name}.mp4"), *FAST, *extra]) == 0
        run = tmp_path / f"{name}.run"
        histories.append(np.concatenate([np.genfromtxt(run / f"frame_{n:05d}.csv", delimiter=",", skip_header=1)[:, 1:5]
                                         for n in range(3)]))
    plain, tiled = histories
    assert plain.shape == tiled.shape == (4 + 3 + 3, 4) and plain[4:, 3].max() > 0  # J_temporal from frame 1
    # J_temporal starts each frame at 0 (G = the warped frame): there, within 1e-6 of its column's scale
    assert np.all(np.abs(tiled - plain) <= 1e-5 * np.abs(plain) + 1e-6 * np.abs(plain).max(axis=0))
