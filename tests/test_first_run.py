"""What a new user meets: weights fetched when missing, results named like files, the whole picture kept."""
import dataclasses
import hashlib
import http.server
import os
import subprocess
import threading

import imageio.v3 as iio
import pytest
from PIL import Image

from helpers import ROOT, assert_one_line, photo, read_history
from nst.algorithm.images import encode_image
from nst.commands import train as cli
from nst.tools import bench, gallery
from nst.weights import routes


@pytest.fixture
def no_weights(tmp_path, monkeypatch):
    """No NST_VGG19, an empty user cache and a working folder without pretrained-model/."""
    monkeypatch.delenv("NST_VGG19", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    return tmp_path / "cache" / "nst" / "imagenet-vgg-verydeep-19.mat"


@pytest.fixture
def mirror(tiny_vgg, monkeypatch):
    """The download site on 127.0.0.1, serving the tiny weights; their MD5 made a known release."""
    data = open(tiny_vgg["new"][0], "rb").read()

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/vgg19.mat"
    known = {hashlib.md5(data).hexdigest(): "the test's tiny weights"}
    monkeypatch.setitem(routes.ROUTES, "matconvnet", dataclasses.replace(routes.MATCONVNET, url=url, known=known))
    yield data
    server.shutdown()


def test_missing_weights_are_downloaded_when_asked(no_weights, mirror, tmp_path):
    assert cli.main(["--download", "--size", "32x48", "--iterations", "2", "--quiet"]) == 0
    assert no_weights.read_bytes() == mirror and len(read_history(tmp_path / "output")) == 3
    assert not (tmp_path / "pretrained-model").exists()


def test_missing_weights_without_a_terminal_or_with_no_download_are_one_line(no_weights, mirror, capsys):
    for extra in ([], ["--no-download"]):  # pytest's stdin is no terminal: nobody to ask
        code = cli.main([*extra, "--size", "32x48", "--iterations", "2", "--quiet"])
        assert_one_line(code, capsys.readouterr().err, str(no_weights), "VGG-19 weights not found", "nst download")
    assert not no_weights.exists()


def test_output_naming_an_image_writes_that_image_and_no_such_folder(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    result = tmp_path / "me_starry.jpg"
    args = ["--output", str(result), "--size", "32x48", "--iterations", "4", "--save-every", "2", "--seed", "0",
            "--quiet"]
    assert cli.main(args) == 0
    assert result.is_file() and Image.open(result).format == "JPEG"
    folder = tmp_path / "me_starry.run"
    assert sorted(os.listdir(tmp_path)) == ["me_starry.jpg", "me_starry.run"]
    as_jpeg = iio.imread(encode_image(iio.imread(folder / "final.png"), "x.jpg"))
    assert abs(iio.imread(result).astype(int) - as_jpeg).max() <= 1  # the same picture, JPEG-encoded
    assert f"final image: {result}" in capsys.readouterr().out
    before = result.read_bytes()
    assert_one_line(cli.main(args), capsys.readouterr().err, str(result), "exists already")  # never replaced
    assert result.read_bytes() == before
    assert cli.main([*args[:4], "--iterations", "6", "--quiet", "--resume", str(folder)]) == 0  # goes on
    assert len(read_history(folder)) == 7 and result.read_bytes() != before


def test_a_portrait_gives_a_portrait_with_the_longer_side_400(tiny_vgg, tmp_path, monkeypatch):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    portrait = photo(tmp_path / "portrait.png", shape=(90, 60))
    assert cli.main(["--content", portrait, "--output", str(tmp_path / "o"), "--iterations", "1", "--quiet"]) == 0
    assert iio.imread(tmp_path / "o" / "final.png").shape == (400, 267, 3)  # 90x60 scaled by 400/90, nothing cut
    assert cli.main(["--content", portrait, "--output", str(tmp_path / "s"), "--size", "300x400", "--iterations",
                     "1", "--quiet"]) == 0
    assert iio.imread(tmp_path / "s" / "final.png").shape == (300, 400, 3)  # --size still crops to exactly that


def test_the_tools_default_outputs_leave_the_checkout_clean(tiny_vgg, tmp_path, monkeypatch):
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(ROOT), str(clone)], check=True)
    monkeypatch.chdir(clone)
    assert gallery.main(["--vgg", tiny_vgg["new"][0], "--only", "pooling", "--max-side", "40",
                         "--iterations", "2"]) == 0
    assert (clone / "gallery" / "gallery_pooling.png").exists()
    status = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, check=True)
    assert status.stdout == ""


def test_bench_quick_runs_on_a_fresh_install(tiny_vgg, capsys):
    assert bench.main(["--quick", "--vgg", tiny_vgg["new"][0]]) == 0
    out = capsys.readouterr().out
    assert "192x256" in out and "384x512" not in out and out.count("x limit") == 1


def test_a_preset_sets_everything_and_options_given_win():
    jc = cli.parse(["--preset", "jcjohnson"]).config
    assert (jc.alpha, jc.beta, jc.tv_weight, jc.tv_form, jc.pooling, jc.optimizer, jc.iterations, jc.max_side,
            jc.init, jc.init_std) == (20.0, 100.0, 1e-3, "jcjohnson", "max", "lbfgs", 1000, 512, "gaussian", 0.001)
    assert [w for _, w in jc.style_layers] == [4 / 64**2, 4 / 128**2, 4 / 256**2, 4 / 512**2, 4 / 512**2]
    mine = cli.parse(["--preset", "jcjohnson", "--iterations", "300", "--size", "300x400", "--init", "mix"]).config
    assert (mine.iterations, mine.size, mine.max_side, mine.init, mine.init_std, mine.alpha) == \
        (300, (300, 400), None, "mix", 0.001, 20.0)  # the preset's longer side and its start's std give way
    assert cli.parse(["--preset", "course"]).config == cli.parse([]).config


def test_a_preset_runs_and_cannot_be_changed_on_resume(tiny_vgg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    out = tmp_path / "jc"
    assert cli.main(["--preset", "jcjohnson", "--max-side", "48", "--iterations", "3", "--seed", "0",
                     "--output", str(out), "--quiet"]) == 0
    rows = read_history(out)
    assert len(rows) >= 2 and float(rows[-1]["J"]) < float(rows[0]["J"])  # L-BFGS from the gaussian start
    code = cli.main(["--resume", str(out), "--preset", "course"])
    assert_one_line(code, capsys.readouterr().err, "--preset course sets --alpha 10, the run has 20")
