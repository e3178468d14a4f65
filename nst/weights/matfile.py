"""Write converted weights as a MatConvNet ``.mat``, and record where a cached file came from.

The file is written in the layout of the current ("meta") release: a 1xN
cell of layer structs read by field name, filters ``[h, w, in, out]`` with
RGB input, biases ``[out, 1]``, the mean pixel in
``meta.normalization.averageImage``. It ends at ``pool5``: style transfer
needs nothing deeper. So everything after a download reads one format.
"""
import json
import os
from typing import Dict, Optional, Tuple

import numpy as np

BLOCKS = (2, 2, 4, 4, 4)  # VGG-19's convolutions per block (nst.algorithm.vgg builds on it)
MEAN_PIXEL_RGB = (123.68, 116.779, 103.939)  # the ImageNet mean pixel every VGG-19 release uses
Convs = Dict[str, Tuple[np.ndarray, np.ndarray]]


def conv_names():
    return [f"conv{b}_{i}" for b, n in enumerate(BLOCKS, 1) for i in range(1, n + 1)]


def _struct(fields):
    record = np.empty((1, 1), dtype=[(name, object) for name, _ in fields])
    for name, value in fields:
        record[0, 0][name] = value
    return record


def _cell(items):
    cell = np.empty((1, len(items)), dtype=object)
    for i, item in enumerate(items):
        cell[0, i] = item
    return cell


def _layers(convs: Convs):
    layers = []
    for b, n in enumerate(BLOCKS, 1):
        for i in range(1, n + 1):
            filters, biases = convs[f"conv{b}_{i}"]
            weights = _cell([np.asarray(filters, np.float32), np.asarray(biases, np.float32).reshape(-1, 1)])
            layers.append(_struct([("name", f"conv{b}_{i}"), ("type", "conv"), ("weights", weights),
                                   ("size", np.array([filters.shape], float)), ("pad", np.ones((1, 4))),
                                   ("stride", np.ones((1, 2)))]))
            layers.append(_struct([("name", f"relu{b}_{i}"), ("type", "relu")]))
        layers.append(_struct([("name", f"pool{b}"), ("type", "pool"), ("method", "max"),
                               ("pool", np.array([[2.0, 2.0]])), ("stride", np.array([[2.0, 2.0]])),
                               ("pad", np.zeros((1, 4)))]))
    return _cell(layers)


def write_mat(path: str, convs: Convs, mean_pixel=MEAN_PIXEL_RGB) -> None:
    """Write ``convs`` (RGB input) to ``path`` through ``path.part``, so a cut never leaves half a file."""
    import scipy.io  # a tenth of a second: here, not where a command's --help imports this module

    meta = _struct([("normalization", _struct([("averageImage", np.asarray(mean_pixel, float).reshape(1, 1, 3))]))])
    part = path + ".part"
    with open(part, "wb") as f:
        scipy.io.savemat(f, {"layers": _layers(convs), "meta": meta}, do_compression=False)
    os.replace(part, path)


def provenance_path(path: str) -> str:
    return path + ".json"


def write_provenance(path: str, record: dict) -> None:
    """Record beside ``path`` where it came from (source, URL, digest, whether quantised)."""
    part = provenance_path(path) + ".part"
    with open(part, "w", encoding="utf-8") as f:
        json.dump(record, f, indent=1, sort_keys=True)
    os.replace(part, provenance_path(path))


def read_provenance(path: str) -> Optional[dict]:
    """The record beside ``path``, or None where there is none (a file the user brought) or it is unreadable."""
    try:
        with open(provenance_path(path), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None
