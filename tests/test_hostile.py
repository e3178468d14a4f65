"""One set of hostile inputs through every front-end that takes nst train's options: nst train, nst video,
nst batch, and nst serve. Each is refused in one line on stderr, no traceback, within a bound, and nothing that
existed changes. nst train and nst video exit 2 and write nothing; nst batch refuses a bad common setting the same
way, and a job whose own input is bad fails alone (exit 1, its line, the manifest saying why). nst serve takes
the values where it has the option (and hostile values of its own options), and its page where the form has the
field: one message on the page, no run started."""
import os
import socket
import time

import pytest

from helpers import photo
from nst.batch import command as batch
from nst.commands import train
from nst.video import command as video
from nst.web import command as serve
from nst.web.page import Server

HOSTILE = [
    ["--style-scale", "1e308"], ["--style-scale", "nan"], ["--iterations", "0"], ["--max-side", "20000"],
    ["--size", "0x0"], ["--alpha", "nan"], ["--learning-rate", "inf"], ["--seed", "-1"], ["--max-pixels", "0"],
    ["--content-layer", "conv9_9"], ["--style-layers", "conv1_1:x"], ["--style", "missing.png"],
    ["--save-every", "-5"], ["--pooling", "median"], ["--tv-weight", "-1"], ["--init", "nowhere.png"],
]
BOUND_S = 60


@pytest.fixture
def inputs(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    monkeypatch.chdir(tmp_path)
    frames = tmp_path / "frames"
    frames.mkdir()
    for i in range(2):
        photo(frames / f"{i:03d}.png", (40, 56), i)
    return {"content": photo(tmp_path / "c.png"), "style": photo(tmp_path / "s.png", seed=1), "frames": str(frames)}


def snapshot(folder, keep=None):
    """{path: bytes} of the files under ``folder`` (only those in ``keep``, if given)."""
    found = {}
    for where, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(where, name)
            if keep is None or path in keep:
                with open(path, "rb") as f:
                    found[path] = f.read()
    return found


def front_ends(p, out):
    """(name, main, argv before the hostile options) for each front-end."""
    return [("nst train", train.main, ["--content", p["content"], "--style", p["style"], "--output", out]),
            ("nst video", video.main, [p["frames"], "--style", p["style"], "--output", out + ".mp4"]),
            ("nst batch", batch.main, ["--content", p["content"], "--style", p["style"], "--output", out])]


@pytest.mark.parametrize("hostile", HOSTILE, ids=" ".join)
def test_every_front_end_refuses_the_same_input_in_one_line(inputs, tmp_path, capsys, hostile):
    before = snapshot(tmp_path)
    for prog, main, argv in front_ends(inputs, str(tmp_path / "out")):
        argv = list(argv)
        if hostile[0] == "--style":  # replaces the style given
            i = argv.index("--style")
            argv[i + 1] = hostile[1]
            extra = []
        else:
            extra = hostile
        start = time.monotonic()
        code = main([*argv, *extra, "--quiet"])
        err = capsys.readouterr().err
        lines = [line for line in err.splitlines() if line.strip()]
        job_failed = prog == "nst batch" and code == 1 and lines and lines[0].startswith(f"{prog}: job ")
        assert len(lines) == 1 and (job_failed or (code == 2 and lines[0].startswith(f"{prog}: error: "))), \
            (prog, hostile, err)
        assert "Traceback" not in err and time.monotonic() - start < BOUND_S
        assert snapshot(tmp_path, keep=before) == before, (prog, hostile)  # nothing that existed changed
        if not job_failed:
            assert set(snapshot(tmp_path)) == set(before), (prog, hostile)  # and nothing new was written


# nst serve's own options: what the page's server accepts, checked before Gradio starts
SERVE_HOSTILE = [
    ["--max-upload-mb", "nan"], ["--max-upload-mb", "inf"], ["--max-upload-mb", "-1"], ["--max-upload-mb", "0"],
    ["--max-upload-mb", "1e-9"], ["--max-upload-mb", "1e308"], ["--port", "0"], ["--port", "65536"],
    ["--port", "-1"], ["--port", "x"], ["--port", "IN-USE"], ["--host", "example.invalid"], ["--host", "192.0.2.1"],
    ["--vgg", "missing.mat"], ["--vgg", "c.png"], ["--vgg", "frames"], ["--output", "c.png"],
    ["--max-pixels", "-5"], ["--max-pixels", "1e12"], ["--max-pixels", str(2**41)],
] + [h for h in HOSTILE if h[0] == "--max-pixels"]
# nst train's option -> the page's field, where the page has one
PAGE_FIELDS = {"--iterations": "iterations", "--max-side": "max_side", "--alpha": "alpha", "--tv-weight": "tv_weight"}
PAGE_FORM = {"preset": "course", "max_side": 64, "iterations": 2, "optimizer": "adam", "alpha": 10.0, "beta": 40.0,
             "tv_weight": 0.0, "preserve_colors": "off", "refresh_every": 1}


def one_refusal(err, prog="nst serve"):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: ") and "Traceback" not in err, err


@pytest.mark.parametrize("hostile", SERVE_HOSTILE, ids=" ".join)
def test_nst_serve_refuses_hostile_options_in_one_line_before_it_starts(inputs, tmp_path, capsys, monkeypatch,
                                                                        hostile):
    monkeypatch.setattr(serve, "launch", lambda *a: pytest.fail(f"nst serve {hostile} started"))
    before = snapshot(tmp_path)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        option, value = hostile[0], hostile[1].replace("IN-USE", str(taken.getsockname()[1]))
        argv = ["--output", str(tmp_path / "served"), option, value]  # a later --output replaces the first
        start = time.monotonic()
        code = serve.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and time.monotonic() - start < BOUND_S
    one_refusal(err)
    assert snapshot(tmp_path) == before  # nothing changed, nothing new (not even the output folder)


@pytest.mark.parametrize("hostile", [h for h in HOSTILE if h[0] in PAGE_FIELDS or h[0] == "--style"], ids=" ".join)
def test_the_page_refuses_the_same_values_in_one_message_and_starts_nothing(inputs, tmp_path, capsys, hostile):
    output = tmp_path / "served"
    (output / "run-0001").mkdir(parents=True)
    (output / "run-0001" / "final.png").write_bytes(b"an earlier result")
    before = snapshot(tmp_path)
    option, value = hostile
    form, style = dict(PAGE_FORM), inputs["style"]
    if option == "--style":
        style = value  # what the page would pass on for its style upload
    else:
        form[PAGE_FIELDS[option]] = value  # as the page sends it, unprocessed
    start = time.monotonic()
    updates = list(Server(str(output)).run("visitor", inputs["content"], style, form))
    assert time.monotonic() - start < BOUND_S
    (status, *pictures), = updates  # one update: the message; no run began
    assert status.startswith("**Error:** ") and "\n" not in status and pictures == [None] * 4, status
    assert "Traceback" not in capsys.readouterr().err
    assert snapshot(tmp_path) == before
