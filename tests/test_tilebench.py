"""nst bench-tiles --figure: the tiles' edges drawn where the grid puts them, and its refusals."""
import numpy as np
from PIL import Image

from nst.tools import tilebench


def test_the_figure_is_drawn_and_bad_input_is_one_line(tmp_path, capsys):
    result = tmp_path / "result.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (300, 260, 3), np.uint8)).save(result)
    out = tmp_path / "figure.jpg"
    assert tilebench.main(["--figure", str(result), str(out), "--tile", "128"]) == 0
    assert Image.open(out).size == (1400, 540)  # 14x5.4 inches at 100 dpi
    assert tilebench.main(["--figure", str(result), str(result)]) == 2  # never over the result
    assert tilebench.main(["--figure", str(result), str(tmp_path / "one.jpg"), "--tile", "1024"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[0].endswith("is the result itself; give another file to draw into")
    assert err[1].endswith("260x300 px is one tile of 1024 px: no edges to show")
    assert not (tmp_path / "one.jpg").exists()
