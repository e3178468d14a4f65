"""Read a dict of tensors saved by PyTorch's legacy ``torch.save`` as numpy arrays, without torch.

That format is five pickles in a row (magic number, protocol, system info,
the object, the storage keys) followed by each storage's raw bytes, an int64
element count first. Only the few names such a dict of tensors needs may be
looked up while unpickling, so a file cannot run code: it is data, or it is
refused.
"""
import collections
import pickle
import struct
from typing import Dict

import numpy as np

from nst.errors import NSTError

MAGIC = 0x1950A86A20F9469CFC6C
PROTOCOL = 1001
STORAGE_TYPES = {"ByteStorage": np.uint8, "CharStorage": np.int8, "ShortStorage": np.int16,
                 "IntStorage": np.int32, "LongStorage": np.int64, "HalfStorage": np.float16,
                 "FloatStorage": np.float32, "DoubleStorage": np.float64}


class _Storage:
    def __init__(self, dtype, numel):
        self.dtype, self.numel, self.array = np.dtype(dtype), numel, None


class _Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, tuple(size), tuple(stride)

    def numpy(self) -> np.ndarray:
        base = self.storage.array[self.offset:]
        strides = [s * base.itemsize for s in self.stride]
        return np.lib.stride_tricks.as_strided(base, self.size, strides).copy()


def _rebuild_tensor_v2(storage, offset, size, stride, *_):
    return _Tensor(storage, offset, size, stride)


class _Unpickler(pickle.Unpickler):
    def __init__(self, f, path):
        super().__init__(f)
        self.path, self.storages = path, {}

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor_v2
        if module == "torch" and name in STORAGE_TYPES:
            return STORAGE_TYPES[name]
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        raise NSTError(f"{self.path}: refers to {module}.{name}, which a file of tensors does not need; refused")

    def persistent_load(self, pid):
        kind, dtype, key, _location, numel = pid[:5]
        if kind != "storage":
            raise NSTError(f"{self.path}: unknown persistent object {kind!r}")
        return self.storages.setdefault(key, _Storage(dtype, numel))


def _read_storage(f, storage, path):
    (count,) = struct.unpack("<q", f.read(8))
    data = f.read(count * storage.dtype.itemsize)
    if count != storage.numel or len(data) != count * storage.dtype.itemsize:
        raise NSTError(f"{path}: truncated tensor data")
    storage.array = np.frombuffer(data, storage.dtype)


def read_tensors(path: str, f) -> Dict[str, np.ndarray]:
    """{name: array} of the legacy-format file open as ``f`` (named ``path`` in errors)."""
    try:
        if pickle.load(f) != MAGIC or pickle.load(f) != PROTOCOL:
            raise NSTError(f"{path}: not a PyTorch legacy-format file")
        pickle.load(f)  # system info: little-endian is all that is written on the machines that made it
        unpickler = _Unpickler(f, path)
        result = unpickler.load()
        keys = pickle.load(f)
        for key in keys:
            _read_storage(f, unpickler.storages[key], path)
    except (pickle.UnpicklingError, EOFError, struct.error, KeyError, ValueError, TypeError) as exc:
        raise NSTError(f"{path}: cannot read as saved tensors ({exc})") from None
    if not isinstance(result, dict) or not all(isinstance(v, _Tensor) for v in result.values()):
        raise NSTError(f"{path}: does not hold a dict of tensors")
    return {name: tensor.numpy() for name, tensor in result.items()}
