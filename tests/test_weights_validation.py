"""The .mat loader checks every VGG-19 layer and names the one that is wrong, and never
blocks on a path that is not a regular file."""
import os
import threading
import time

import numpy as np
import pytest

from nst.errors import NSTError
from nst.algorithm.vgg import CONV_LAYERS, read_vgg_weights
from synthetic_vgg import MEAN, make_weights, write_vgg_mat


def refused(path, message=None):
    """read_vgg_weights fails on one line starting with the path; equal to ``message`` if given."""
    with pytest.raises(NSTError) as info:
        read_vgg_weights(str(path))
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    if message is not None:
        assert text == message
    return text


def write_with(tmp_path, edit, fmt="new", **options):
    """A tiny VGG-19 file whose weights ``edit(convs)`` changed in place."""
    convs = make_weights()
    edit(convs)
    path = str(tmp_path / f"vgg-{fmt}.mat")
    write_vgg_mat(path, fmt, convs=convs, **options)
    return path


def kernels(name, size):
    """Replace a layer's filters with size x size ones of the same channels."""
    def edit(convs):
        filters, biases = convs[name]
        convs[name] = (np.ones((size, size) + filters.shape[2:], np.float32), biases)
    return edit


def test_a_good_file_is_read_unchanged(tmp_path):
    path = write_with(tmp_path, lambda convs: None)
    want = make_weights()
    weights = read_vgg_weights(path)
    for name in CONV_LAYERS:
        np.testing.assert_array_equal(weights.convs[name][0], want[name][0])
    np.testing.assert_allclose(weights.mean_pixel, MEAN, rtol=1e-6)


@pytest.mark.parametrize("name,size", [("conv1_1", 5), ("conv4_2", 1), ("conv5_4", 7)])
def test_kernels_must_be_3x3(tmp_path, name, size):
    path = write_with(tmp_path, kernels(name, size))
    refused(path, f"{path}: layer {name} has {size}x{size} kernels, VGG-19 has 3x3")


@pytest.mark.parametrize("name,part,bad", [
    ("conv3_2", 0, np.nan), ("conv1_2", 0, np.inf), ("conv2_1", 1, np.nan), ("conv5_4", 1, -np.inf)])
def test_weights_must_be_finite(tmp_path, name, part, bad):
    def edit(convs):
        values = convs[name][part]
        values.flat[values.size // 2] = bad

    path = write_with(tmp_path, edit)
    refused(path, f"{path}: layer {name} has NaN or infinite weights")


def test_one_bias_per_filter(tmp_path):
    def edit(convs):
        filters, biases = convs["conv2_1"]
        convs["conv2_1"] = (filters, np.append(biases, 0.5).astype(np.float32))

    path = write_with(tmp_path, edit)
    out = make_weights()["conv2_1"][0].shape[3]
    refused(path, f"{path}: layer conv2_1 has {out} filters but {out + 1} biases")


def test_channels_must_chain(tmp_path):
    def edit(convs):
        filters, biases = convs["conv3_1"]
        convs["conv3_1"] = (filters[:, :, :-1], biases)

    path = write_with(tmp_path, edit)
    given = make_weights()["conv2_2"][0].shape[3]
    refused(path, f"{path}: layer conv3_1 expects {given - 1} input channels, the layer before gives {given}")


@pytest.mark.parametrize("fmt,bad", [("new", np.nan), ("new", np.inf), ("old", np.nan), ("old", -np.inf)])
def test_mean_pixel_must_be_finite(tmp_path, fmt, bad):
    mean = MEAN.copy()
    mean[1] = bad
    path = write_with(tmp_path, lambda convs: None, fmt, mean=mean)
    message = refused(path)
    assert message.startswith(f"{path}: mean pixel [") and message.endswith("] is not finite")
    assert ("nan" if np.isnan(bad) else "inf") in message


@pytest.mark.parametrize("values", [4, 2])
def test_mean_pixel_must_have_three_values(tmp_path, values):
    path = write_with(tmp_path, lambda convs: None, mean=np.arange(values, dtype=float))
    refused(path, f"{path}: normalization.averageImage has shape (1, 1, {values}), not 3 RGB values")


def test_missing_file_names_how_to_get_it_without_flags(tmp_path):
    path = tmp_path / "none.mat"
    message = refused(path, f"{path}: VGG-19 weights not found; get them with `nst download`, "
                            "or set NST_VGG19 to the file")
    assert "--" not in message


def test_directory_is_refused(tmp_path):
    refused(tmp_path, f"{tmp_path}: not a regular file (a directory)")


def test_device_is_refused():
    if not os.path.exists("/dev/zero"):
        pytest.skip("no /dev/zero here")
    refused("/dev/zero", "/dev/zero: not a regular file (a device)")


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = str(tmp_path / "weights.mat")
    os.mkfifo(fifo)
    outcome = {}

    def read():
        try:
            read_vgg_weights(fifo)
        except NSTError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=read, daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(5.0)
    if thread.is_alive():  # blocked opening the FIFO: a writer frees it, then fail
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(5.0)
        pytest.fail("read_vgg_weights blocked on a FIFO")
    assert outcome == {"error": f"{fifo}: not a regular file (a FIFO)"}
    assert time.perf_counter() - start < 1.0


def test_the_weights_digest_is_of_the_arrays_not_the_file(tmp_path):
    """One fingerprint for the weights (resume and batch alike): both layouts of the same arrays agree,
    one changed value, one swapped layer name or another mean pixel do not; the value is SHA-256 over
    the arrays, computed here independently."""
    import hashlib
    for folder in ("new", "old", "edit"):
        (tmp_path / folder).mkdir()
    new, old = (read_vgg_weights(write_with(tmp_path / fmt, lambda c: None, fmt)) for fmt in ("new", "old"))
    want = hashlib.sha256(np.asarray(new.mean_pixel, np.float64).tobytes())
    for name in sorted(new.convs):
        want.update(name.encode() + new.convs[name][0].tobytes())
        want.update(name.encode() + new.convs[name][1].tobytes())
    assert new.digest() == old.digest() == want.hexdigest()

    def nudge(convs):
        convs["conv5_4"][0].flat[7] += 1e-3  # a layer no default cost uses still counts
    assert read_vgg_weights(write_with(tmp_path / "edit", nudge)).digest() != new.digest()
    assert new._replace(mean_pixel=new.mean_pixel + 1).digest() != new.digest()
    swapped = dict(new.convs, conv1_1=new.convs["conv1_2"], conv1_2=new.convs["conv1_1"])
    assert new._replace(convs=swapped).digest() != new.digest()
