"""The single place that puts TensorFlow into the TF1 graph mode this package is written in.

Every module imports ``tf`` from here. TensorFlow takes seconds to import, so
``tf`` stands in for it until first used: importing any module of the package
loads none of it, and a command's ``--help``, its parser and its errors come at
once; the first attribute read (building a graph, asking for a GPU) imports it
and switches it to graph mode, exactly once, before any graph is built.
TensorFlow's C++ start-up chatter (oneDNN notices, "no CUDA driver") ignores
TF_CPP_MIN_LOG_LEVEL in recent releases, so it is held back at the
file-descriptor level while TensorFlow loads; set NST_TF_VERBOSE=1 to see it.
"""
import contextlib
import functools
import os
import sys
import threading
import types
from typing import Any, Iterator, Tuple

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send fd 2 to /dev/null for the duration (C++ logging bypasses sys.stderr)."""
    if os.environ.get("NST_TF_VERBOSE"):
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


_LOADING = threading.Lock()  # two threads' first uses: one import, one redirect of fd 2 at a time


def _tensorflow() -> Tuple[Any, Tuple[Any, ...]]:
    with _LOADING:
        return _load()


@functools.lru_cache(maxsize=None)
def _load() -> Tuple[Any, Tuple[Any, ...]]:
    """TensorFlow in graph mode, and its GPUs: asked for here, where CUDA's start-up chatter is held back too."""
    with quiet_stderr():
        import tensorflow.compat.v1 as v1

        v1.disable_eager_execution()
        v1.logging.set_verbosity(v1.logging.ERROR)
        return v1, tuple(v1.config.list_physical_devices("GPU"))


class _OnFirstUse(types.ModuleType):
    """``tensorflow.compat.v1`` once an attribute is read; its names are copied in, so later reads are direct."""

    def __getattr__(self, name: str) -> Any:
        real = _tensorflow()[0]
        self.__dict__.update(vars(real))
        return getattr(real, name)  # names TensorFlow itself loads on first use, too


tf: Any = _OnFirstUse("tensorflow.compat.v1")


def gpus() -> Tuple[Any, ...]:
    """The GPUs TensorFlow sees (it loads TensorFlow)."""
    return _tensorflow()[1]


# What the annotations call TensorFlow's objects (TensorFlow has no type information, so each is Any):
Tensor = Any  # a tf.Tensor or tf.Variable of the graph
Session = Any  # a tf.Session (the course's tf.InteractiveSession)
Operation = Any  # a tf.Operation: a train step, an assign, an initializer
Optimizer = Any  # a tf.train.Optimizer
DType = Any  # a tf.DType (tf.float32, tf.bfloat16)

__all__ = ["tf", "gpus", "quiet_stderr", "Tensor", "Session", "Operation", "Optimizer", "DType"]
