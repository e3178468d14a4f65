"""Where the weights are found: given path > $NST_VGG19 > ./pretrained-model > the user cache."""
import os

import pytest

from nst.algorithm.vgg import cache_dir, read_vgg_weights, resolve_weights_path, weights_not_found

NAME = "imagenet-vgg-verydeep-19.mat"


@pytest.fixture
def places(tmp_path, monkeypatch):
    """A fresh current folder and user cache, no $NST_VGG19; returns (local file, cached file) paths."""
    monkeypatch.delenv("NST_VGG19", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return tmp_path / "work" / "pretrained-model" / NAME, tmp_path / "cache" / "nst" / NAME


def _put(path, data=b"weights"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_search_order(places, monkeypatch):
    local, cached = places
    assert resolve_weights_path() == str(cached)  # nothing anywhere: where a download would go
    _put(cached)
    assert resolve_weights_path() == str(cached)
    _put(local)
    assert os.path.abspath(resolve_weights_path()) == str(local)
    monkeypatch.setenv("NST_VGG19", "/env.mat")  # given paths are taken even when missing
    assert resolve_weights_path() == "/env.mat"
    assert resolve_weights_path("/flag.mat") == "/flag.mat"


def test_cache_found_from_another_working_folder(places, tmp_path, monkeypatch, tiny_vgg):
    _, cached = places
    _put(cached, open(tiny_vgg["new"][0], "rb").read())
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert resolve_weights_path() == str(cached)
    weights = read_vgg_weights(resolve_weights_path())
    assert weights.convs["conv1_1"][0].tobytes() == tiny_vgg["new"][1]["conv1_1"][0].tobytes()


def test_cache_dir_follows_xdg(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_dir() == str(tmp_path / "xdg" / "nst")
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert cache_dir() == str(tmp_path / "home" / ".cache" / "nst")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")  # the XDG spec: ignore a relative value
    assert cache_dir() == str(tmp_path / "home" / ".cache" / "nst")


def test_not_found_lists_the_folders_searched(places):
    local, cached = places
    message = str(weights_not_found(resolve_weights_path()))
    assert message.startswith(f"{cached}: VGG-19 weights not found (looked in ")
    assert f"pretrained-model/{NAME} (current folder) and {cached} (user cache)" in message
    assert "nst download" in message and "\n" not in message and "--" not in message
    assert str(weights_not_found("/given.mat")).startswith("/given.mat: VGG-19 weights not found; get them")
