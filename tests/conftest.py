import os

import pytest

from helpers import REAL_WEIGHTS, TINY
from nst.commands import train as cli
from synthetic_vgg import write_vgg_mat


@pytest.fixture(scope="session")
def tiny_vgg(tmp_path_factory):
    """{'new': path, 'old': path} of tiny synthetic VGG-19 files, and their weights."""
    folder = tmp_path_factory.mktemp("vgg")
    files = {}
    for fmt in ("new", "old"):
        path = str(folder / f"tiny-{fmt}.mat")
        files[fmt] = (path, write_vgg_mat(path, fmt))
    return files


@pytest.fixture
def user_cache(tmp_path, monkeypatch):
    """An empty user cache (XDG_CACHE_HOME), no NST_VGG19, a working folder of its own: nst's cache folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("NST_VGG19", raising=False)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "cache" / "nst"


@pytest.fixture
def real_vgg():
    if not REAL_WEIGHTS:
        pytest.skip("NST_VGG19 is not set: real-weight tests need the VGG-19 .mat")
    if not os.path.exists(REAL_WEIGHTS):
        pytest.skip(f"NST_VGG19={REAL_WEIGHTS} does not exist")
    return REAL_WEIGHTS


@pytest.fixture
def bad_input(tiny_vgg, tmp_path, monkeypatch, capsys):
    """Run the CLI with extra args; return (exit code, stderr) and check nothing was written."""
    monkeypatch.setenv("NST_VGG19", tiny_vgg["new"][0])
    out = tmp_path / "out"
    out.mkdir()
    (out / "final.png").write_bytes(b"an earlier result")

    def run(*args):
        code = cli.main(["--output", str(out), "--iterations", "2", *TINY, *args])
        err = capsys.readouterr().err
        assert (out / "final.png").read_bytes() == b"an earlier result"  # nothing already written is lost
        assert sorted(os.listdir(out)) == ["final.png"]
        return code, err

    return run
