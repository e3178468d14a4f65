"""One set of hostile inputs through every front-end that takes nst train's options: nst train, nst video,
nst batch. Each is refused in one line on stderr, no traceback, within a bound, and nothing that existed
changes. nst train and nst video exit 2 and write nothing; nst batch refuses a bad common setting the same
way, and a job whose own input is bad fails alone (exit 1, its line, the manifest saying why)."""
import os
import time

import pytest

from helpers import photo
from nst.batch import command as batch
from nst.commands import train
from nst.video import command as video

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
