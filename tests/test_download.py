"""The weights download: MD5-checked, atomic, and one clear line when offline."""
import hashlib
import os

import pytest

from nst.tools import download
from nst.errors import NSTError


def test_keeps_file_only_when_md5_is_known(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"weights" * 1000)
    dest = tmp_path / "models" / "vgg.mat"
    md5 = hashlib.md5(source.read_bytes()).hexdigest()
    release = download.download(str(dest), source.as_uri(), {md5: "test release"}, progress=False)
    assert release == "test release"
    assert dest.read_bytes() == source.read_bytes()
    assert os.listdir(dest.parent) == ["vgg.mat"]  # no temp file left


def test_unknown_md5_keeps_nothing_and_spares_existing_file(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(b"not weights")
    dest = tmp_path / "vgg.mat"
    dest.write_bytes(b"earlier file")
    with pytest.raises(NSTError, match="not a known VGG-19 release"):
        download.download(str(dest), source.as_uri(), progress=False)
    assert dest.read_bytes() == b"earlier file"
    assert sorted(os.listdir(tmp_path)) == ["source.bin", "vgg.mat"]


def test_offline_is_one_clear_line(tmp_path, capsys):
    dest = tmp_path / "vgg.mat"
    code = download.main([str(dest), "--url", "http://127.0.0.1:9/imagenet-vgg-verydeep-19.mat"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "cannot download" in err and str(dest) in err
    assert not dest.exists() and os.listdir(tmp_path) == []


def test_known_hashes_are_the_two_releases():
    assert set(download.KNOWN_MD5) == {"8ee3263992981a1d26e73b3ca028a123", "106118b7cf60435e6d8e04f6a6dc3657"}
