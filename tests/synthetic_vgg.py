"""Tiny MatConvNet VGG-19 files, in both published layouts, for tests without real weights.

The layer names, types and struct fields follow the real files; only the
channel counts are small, so a whole style-transfer run takes seconds.
"""
import numpy as np
import scipy.io

BLOCKS = (2, 2, 4, 4, 4)
MEAN = np.array([123.68, 116.779, 103.939])


def _struct(fields):
    """A MATLAB struct (scipy: a (1, 1) record array) with fields in the given order."""
    record = np.empty((1, 1), dtype=[(name, object) for name, _ in fields])
    for name, value in fields:
        record[0, 0][name] = value
    return record


def _cell(items):
    cell = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        cell[0, i] = item
    return cell


def _conv(name, filters, biases, fmt):
    weights = _cell([filters, biases])
    if fmt == "old":  # old file: 'weights' is the first field
        return _struct([("weights", weights), ("pad", np.ones((1, 4))), ("type", "conv"),
                        ("name", name), ("stride", np.ones((1, 2)))])
    return _struct([("name", name), ("type", "conv"), ("weights", weights),
                    ("size", np.array([filters.shape], float)), ("pad", np.ones((1, 4))),
                    ("stride", np.ones((1, 2))), ("precious", 0), ("dilate", 1), ("opts", np.empty((0, 0)))])


def _simple(name, kind, fmt):
    if kind == "pool":
        fields = [("name", name), ("type", "pool"), ("method", "max"), ("pool", np.array([[2.0, 2.0]])),
                  ("stride", np.array([[2.0, 2.0]])), ("pad", np.zeros((1, 4)))]
    else:
        fields = [("name", name), ("type", kind)]
    return _struct(fields[::-1] if fmt == "old" else fields)


def make_weights(channels=(4, 6, 8, 8, 8), seed=0, blocks=BLOCKS):
    """{conv name: (filters [3, 3, in, out] float32, biases [out] float32)} in VGG-19 order."""
    rng = np.random.RandomState(seed)
    convs, cin = {}, 3
    for b, (n, cout) in enumerate(zip(blocks, channels), 1):
        for i in range(1, n + 1):
            scale = np.sqrt(2.0 / (9 * cin))
            filters = (rng.randn(3, 3, cin, cout) * scale).astype(np.float32)
            convs[f"conv{b}_{i}"] = (filters, (rng.randn(cout) * 0.1).astype(np.float32))
            cin = cout
    return convs


def write_vgg_mat(path, fmt="new", convs=None, blocks=BLOCKS, extra_fc=True, mean=MEAN):
    """Write a MatConvNet-style VGG file: fmt 'new' (meta.normalization) or 'old' (normalization)."""
    convs = convs if convs is not None else make_weights(blocks=blocks)
    layers = []
    for b, n in enumerate(blocks, 1):
        for i in range(1, n + 1):
            filters, biases = convs[f"conv{b}_{i}"]
            layers.append(_conv(f"conv{b}_{i}", filters, biases.reshape(-1, 1), fmt))
            layers.append(_simple(f"relu{b}_{i}", "relu", fmt))
        layers.append(_simple(f"pool{b}", "pool", fmt))
    if extra_fc:  # the real file goes on to fc6..prob; the loader must ignore them
        fc = np.zeros((7, 7, convs["conv5_4"][0].shape[3] if "conv5_4" in convs else 8, 5), np.float32)
        layers.append(_conv("fc6", fc, np.zeros((5, 1), np.float32), fmt))
        layers.append(_simple("prob", "softmax", fmt))
    if fmt == "old":  # a whole mean image; its per-channel mean is the mean pixel
        average = np.broadcast_to(mean, (8, 8, 3)).copy()
        average[0, 0] += 1.0
        average[0, 1] -= 1.0
        data = {"layers": _cell(layers), "normalization": _struct([("averageImage", average)]),
                "classes": _struct([("name", _cell(["a", "b"]))])}
    else:
        norm = _struct([("imageSize", np.array([[224, 224, 3]])), ("averageImage", np.reshape(mean, (1, 1, -1)))])
        data = {"layers": _cell(layers), "meta": _struct([("normalization", norm)])}
    scipy.io.savemat(path, data)
    return convs
