"""The web page's callbacks without a browser: what the form and the uploads may be, a run, a stop.

A refused request must say what is wrong in the page's own words and start
nothing: no run folder appears under the server's output folder.
"""
import json
import os
import re
import subprocess
import sys

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import photo, read_history, subprocess_env
from nst.algorithm.optimize import Step
from nst.web import page as webapp
from nst.web.page import Limits, Server

# No Gradio here: the callbacks need none (nst.web.page imports it only to build the page), so these tests run
# without the app extra. The page itself is tested in a browser by test_serve_browser.py.


def form(**changes):
    """The page's form as a 48x64 run would fill it (the course's settings otherwise)."""
    values = {"preset": "course", "max_side": 64, "iterations": 4, "optimizer": "adam", "alpha": 10.0,
              "beta": 40.0, "tv_weight": 0.0, "preserve_colors": "off", "refresh_every": 2}
    values.update(changes)
    return values


@pytest.fixture
def server(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    output = tmp_path / "served"
    output.mkdir()
    return Server(str(output))


@pytest.fixture
def uploads(tmp_path):
    """A content and a style image as Gradio hands them over: files in its own temporary folder."""
    folder = tmp_path / "gradio-cache"
    folder.mkdir()
    return photo(folder / "portrait.png", (48, 64)), photo(folder / "painting.jpg", (60, 80), seed=1)


def refusal(server, content, style, values):
    """The page's only update for a refused request; nothing may have been started or written."""
    updates = list(server.run("session", content, style, values))
    assert len(updates) == 1
    status, *pictures = updates[0]
    assert status.startswith("**Error:** ") and pictures == [None] * 4
    assert os.listdir(server.output) == []
    return status


@pytest.mark.parametrize("field,value,message", [
    ("iterations", 0, "iterations must be between 1 and 5000, got 0"),
    ("iterations", 5001, "iterations must be between 1 and 5000, got 5001"),
    ("iterations", 2.5, "iterations must be a whole number, got 2.5"),
    ("max_side", 31, "size (longer side, px) must be between 32 and 1024, got 31"),
    ("max_side", None, "size (longer side, px) is empty"),
    ("refresh_every", 0, "refresh G every must be between 1 and 1000, got 0"),
    ("alpha", -1.0, "content weight α must be zero or positive, got -1.0"),  # RunConfig.validate's own check
    ("beta", float("nan"), "style weight β must be zero or positive, got nan"),
    ("tv_weight", -0.5, "TV weight must be zero or positive, got -0.5"),
    ("optimizer", "sgd", "optimizer: unknown optimizer 'sgd'"),
    ("preserve_colors", "sepia", "preserve colours: unknown mode 'sepia'"),
    ("preset", "nope", "preset: unknown preset 'nope'"),
])
def test_an_option_out_of_range_is_named_on_the_page_and_nothing_runs(server, uploads, field, value, message):
    assert refusal(server, *uploads, form(**{field: value})) == f"**Error:** {message}"


def test_a_text_file_as_the_style_is_refused_by_its_name(server, uploads, tmp_path):
    notes = tmp_path / "gradio-cache" / "notes.txt"
    notes.write_text("not a picture\n")
    status = refusal(server, uploads[0], str(notes), form())
    assert status.startswith("**Error:** style image notes.txt: not a readable image")
    assert str(tmp_path) not in status  # the server's temporary path is not shown
    preview, message = server.check_upload(str(notes), "style")  # said as soon as it is uploaded, too
    assert preview is None and message == status


def test_an_upload_over_the_byte_limit_is_refused_before_it_is_read(tiny_vgg, tmp_path, monkeypatch, uploads):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    (tmp_path / "out").mkdir()
    size = os.path.getsize(uploads[0])
    server = Server(str(tmp_path / "out"), Limits(upload_bytes=size - 1))
    status = refusal(server, uploads[0], None, form())
    assert status == (f"**Error:** content image portrait.png: {size:,} bytes, over the limit of {size - 1:,} bytes "
                      f"({(size - 1) / 2**20:.3g} MB)")
    accepted = Server(str(tmp_path / "out"), Limits(upload_bytes=size)).check_upload(uploads[0], "content")[1]
    assert accepted == "content image portrait.png: 64x48 px"


def test_an_upload_over_the_pixel_limit_is_refused_from_its_header(tiny_vgg, tmp_path, monkeypatch, uploads):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    (tmp_path / "out").mkdir()
    server = Server(str(tmp_path / "out"), Limits(pixels=60 * 80 - 1))  # the style is 60x80
    status = refusal(server, *uploads, form())
    assert status.startswith("**Error:** style image painting.jpg: image is 80x60 (0.0 megapixels), over the limit")
    assert "nst serve --max-pixels" in status


def test_the_preview_of_an_upload_is_its_pixels_and_no_upload_shows_the_default(server, uploads):
    preview, message = server.check_upload(uploads[0], "content")
    assert message == "content image portrait.png: 64x48 px" and np.array_equal(preview, iio.imread(uploads[0]))
    default, _ = server.check_upload(None, "content")
    assert default.shape == iio.imread(_grace_hopper()).shape  # matplotlib's photo, as the run takes it


def blocks(picture):
    """Means of 8x8 blocks: what a JPEG keeps of a noisy picture."""
    h, w, _ = picture.shape
    return picture.astype(float).reshape(h // 8, 8, w // 8, 8, 3).mean(axis=(1, 3))


def _grace_hopper():
    import matplotlib.cbook

    return matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)


def test_a_mask_upload_confines_the_style_and_is_copied_into_the_run(server, uploads, tmp_path):
    mask = tmp_path / "gradio-cache" / "left.png"
    pixels = np.zeros((48, 64, 3), np.uint8)
    pixels[:, :32] = 255
    iio.imwrite(mask, pixels)
    status = list(server.run("session", *uploads, form(iterations=2), str(mask)))[-1][0]
    assert status.startswith("done: 2 steps")
    run = os.path.join(server.output, "run-0001")
    assert sorted(os.listdir(os.path.join(run, "uploads"))) == ["content.png", "mask.png", "style.jpg"]
    plain = list(server.run("session", *uploads, form(iterations=2)))[-1][0]
    assert plain.startswith("done: 2 steps") and plain != status  # another J: the style is only on the left


def test_a_mask_of_another_aspect_is_one_line_on_the_page(server, uploads, tmp_path):
    mask = tmp_path / "gradio-cache" / "tall.png"
    iio.imwrite(mask, np.full((96, 32, 3), 255, np.uint8))
    status = refusal_of_mask(server, uploads, str(mask))
    assert status == ("**Error:** mask image tall.png: a mask of 96x32 (aspect 0.333) for a content of 48x64 "
                      "(aspect 1.33): draw it over that picture, at any size of its aspect")


def refusal_of_mask(server, uploads, mask):
    updates = list(server.run("session", *uploads, form(iterations=2), mask))
    assert len(updates) == 1 and os.listdir(server.output) == []  # nothing started, nothing written
    return updates[0][0]


def test_a_preset_fills_the_form_with_its_settings():
    assert webapp.preset_form("jcjohnson") == {"max_side": 512, "iterations": 1000, "optimizer": "lbfgs",
                                               "alpha": 20.0, "beta": 100.0, "tv_weight": 1e-3}
    assert webapp.preset_form("course") == {"max_side": 400, "iterations": 200, "optimizer": "adam",
                                            "alpha": 10.0, "beta": 40.0, "tv_weight": 0.0}


def test_a_run_shows_g_every_n_steps_and_ends_with_its_files(server, uploads):
    updates = list(server.run("session", *uploads, form(iterations=4, refresh_every=2)))
    run = os.path.join(server.output, "run-0001")
    assert os.listdir(server.output) == ["run-0001"]  # the run's own folder, numbered
    assert sorted(os.listdir(os.path.join(run, "uploads"))) == ["content.png", "style.jpg"]
    with open(uploads[1], "rb") as original, open(os.path.join(run, "uploads", "style.jpg"), "rb") as copy:
        assert copy.read() == original.read()  # the upload as it came; the run reads this copy
    shown = [u[0] for u in updates[1:-1]]  # between "reading" and the end: one update per G shown
    steps = [int(re.match(r"step (\d+) / 4", text).group(1)) for text in shown]
    assert steps == [0, 2, 4]  # every second step, none skipped: the run waits for the page
    status, g, curves, files, figure = updates[-1]
    assert status.startswith("done: 4 steps; J = ")
    assert files == [os.path.join(run, "final.png"), os.path.join(run, "final.jpg")]
    final = iio.imread(files[0])
    assert final.shape == (48, 64, 3) and np.array_equal(g, final)  # the page shows the file it offers
    jpeg = iio.imread(files[1])
    assert jpeg.shape == final.shape and np.abs(blocks(jpeg) - blocks(final)).mean() < 3  # the same picture, lossy
    assert [int(r["iteration"]) for r in read_history(run)] == [0, 1, 2, 3, 4]
    assert figure == os.path.join(run, "c_plus_s_equals_g.png") and iio.imread(figure).shape[1] > 3 * 64
    assert curves.ndim == 3 and curves.shape[2] == 3


def test_stop_ends_the_run_after_its_step_and_keeps_the_image_so_far(server, uploads):
    updates = server.run("session", *uploads, form(iterations=5000, refresh_every=1))
    seen = 0
    for status, g, *_ in updates:
        seen += g is not None
        if seen == 2:
            assert server.stop("session") == "stopping after the current step…"
            break
    *_, (status, g, curves, files, figure) = list(updates)
    done = int(re.match(r"stopped after (\d+) steps, the image so far kept", status).group(1))
    run = os.path.join(server.output, "run-0001")
    assert 0 < done < 5000
    assert files == [os.path.join(run, f"iteration_{done:04d}.png"), os.path.join(run, f"iteration_{done:04d}.jpg")]
    assert np.array_equal(g, iio.imread(files[0]))
    assert [int(r["iteration"]) for r in read_history(run)] == list(range(done + 1))
    assert not os.path.exists(os.path.join(run, "final.png"))
    assert server.stop("session") == "no run to stop"


def test_run_folders_are_numbered_after_the_highest():
    import tempfile

    with tempfile.TemporaryDirectory() as output:
        for name in ("run-0001", "run-0007", "run-x", "other"):
            os.mkdir(os.path.join(output, name))
        assert webapp.new_run_folder(output) == os.path.join(output, "run-0008")
        assert webapp.new_run_folder(output) == os.path.join(output, "run-0009")


def test_a_vanished_output_folder_is_one_message(tiny_vgg, tmp_path, monkeypatch, uploads):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    gone = tmp_path / "gone"
    (status, *pictures), = list(Server(str(gone)).run("session", *uploads, form()))
    assert status == f"**Error:** {gone}: cannot start a run there (No such file or directory)"
    assert pictures == [None] * 4 and not gone.exists()


TWO_RUNS = """
import json, sys
from nst.web.page import Server
server = Server(sys.argv[1])
for _ in range(2):  # the page's second run builds a second graph in the same process
    *_, last = server.run("visitor", None, None, json.loads(sys.argv[2]))
    print(last[0], flush=True)
"""


def test_a_second_run_on_the_page_makes_tensorflow_warn_of_nothing(tiny_vgg, tmp_path):
    """TensorFlow's C++ log, every level shown: no op of a graph changed after it ran."""
    env = dict(subprocess_env(NST_VGG19=tiny_vgg["new"][0]), TF_CPP_MIN_LOG_LEVEL="0", NST_TF_VERBOSE="1")
    done = subprocess.run([sys.executable, "-c", TWO_RUNS, str(tmp_path), json.dumps(form(iterations=2))],
                          capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert [line[:13] for line in done.stdout.splitlines()] == ["done: 2 steps"] * 2
    assert "was changed by setting attribute" not in done.stderr and "input/Assign" not in done.stderr


def shown_text(markdown):
    """What the page shows of a line of Markdown with backslash escapes and nothing else."""
    return re.sub(r"\\(.)", r"\1", markdown)


def test_an_uploaded_file_is_named_whole_under_its_box(server, tmp_path):
    name = "_grace_hopper_at_the_univac_keyboard_1960_from_the_smithsonian_.png"  # 68 characters
    (tmp_path / "gradio-cache").mkdir()
    message = server.check_upload(photo(tmp_path / "gradio-cache" / name), "content")[1]
    assert shown_text(message) == f"content image {name}: 56x40 px"
    assert re.search(r"(?<!\\)_", message) is None  # every underscore escaped: no italics


def test_a_name_too_long_for_a_line_keeps_its_start_end_and_extension():
    name = "holiday-" + "x" * 200 + "-final-v2.jpeg"
    shown = webapp.file_name(name)
    assert len(shown) == webapp.NAME_CHARS and shown.startswith("holiday-xxx") and shown.endswith("x-final-v2.jpeg")
    assert shown.count("…") == 1
    assert webapp.file_name("a" * 100)[-5:] == "aaaaa"  # no extension: the end of the name


def test_the_cost_legend_sits_beside_the_curves_and_covers_none(monkeypatch):
    figures = []
    real = webapp.png_bytes
    monkeypatch.setattr(webapp, "png_bytes", lambda fig: figures.append(fig) or real(fig))
    rows = [Step(i, 100.0 / (i + 1), 10.0 / (i + 1), 90.0 / (i + 1), None, float(i), None) for i in range(40)]
    curves = webapp.cost_curves(rows)
    fig, = figures
    ax, = fig.axes
    legend = ax.get_legend() or fig.legends[0]
    box, axes = legend.get_window_extent(), ax.get_window_extent()
    assert not box.overlaps(axes)  # outside the plotting area, so no line or point can be under it
    assert curves.shape[1] > axes.width  # and in the picture: the PNG is trimmed around the legend too
