"""``nst video`` with style masks: one mask for every frame, or a folder of one mask per frame."""
import csv

import imageio.v3 as iio
import numpy as np
import pytest

from helpers import assert_one_line, photo, require

require("cv2")
from test_video import FAST, make_clip  # noqa: E402
from nst.commands import train as cli  # noqa: E402
from nst.video import command as video  # noqa: E402


@pytest.fixture
def weights(tiny_vgg, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])


def mask(path, column):
    """A 48x64 mask (the clip's aspect), white left of ``column``."""
    pixels = np.zeros((48, 64), np.uint8)
    pixels[:, :column] = 255
    iio.imwrite(path, pixels)
    return str(path)


def frame_costs(run, n):
    with open(run / f"frame_{n:05d}.csv", newline="") as f:
        return [float(row["J"]) for row in csv.DictReader(f)]


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "clip.mp4", frames=3, audio=False)


def styled(tmp_path, clip, name, *options):
    style = photo(tmp_path / "style.png", (40, 40), seed=4)
    assert video.main([clip, "--output", str(tmp_path / f"{name}.mp4"), "--style", style, *FAST, *options]) == 0
    return tmp_path / f"{name}.run"


def test_one_mask_for_every_frame_or_a_folder_of_them(weights, tmp_path, clip):
    plain = styled(tmp_path, clip, "plain")
    one = styled(tmp_path, clip, "one", "--style-masks", mask(tmp_path / "left.png", 32))
    assert frame_costs(one, 0) != frame_costs(plain, 0)
    same = tmp_path / "same"
    same.mkdir()
    for n in range(3):
        mask(same / f"mask_{n:03d}.png", 32)
    folder = styled(tmp_path, clip, "folder", "--style-masks", str(same))
    for n in range(3):  # the folder's masks are variables, the one mask constants: the same costs
        assert frame_costs(folder, n) == pytest.approx(frame_costs(one, n), rel=1e-5)
    moving = tmp_path / "moving"
    moving.mkdir()
    for n in range(3):
        mask(moving / f"mask_{n:03d}.png", 32 if n == 0 else 8)
    changed = styled(tmp_path, clip, "moving", "--style-masks", str(moving))
    assert frame_costs(changed, 0) == pytest.approx(frame_costs(one, 0), rel=1e-5)
    assert frame_costs(changed, 1)[0] != pytest.approx(frame_costs(one, 1)[0], rel=1e-3)  # frame 1's own mask


def test_too_few_masks_or_a_folder_for_one_picture_is_one_line(weights, tmp_path, clip, capsys):
    few = tmp_path / "few"
    few.mkdir()
    for n in range(2):
        mask(few / f"mask_{n}.png", 32)
    style = photo(tmp_path / "style.png", (40, 40), seed=4)
    code = video.main([clip, "--output", str(tmp_path / "out.mp4"), "--style", style, *FAST, "--style-masks",
                       str(few)])
    assert_one_line(code, capsys.readouterr().err, f"{few}: 2 masks for 3 frames", prog="nst video")
    assert not (tmp_path / "out.run").exists()
    code = cli.main(["--output", str(tmp_path / "train"), "--style", style, "--style-masks", str(few),
                     "--size", "48x64", "--quiet"])
    assert_one_line(code, capsys.readouterr().err, f"{few}: is a folder: a folder of masks, one per frame, is for "
                    "nst video")
