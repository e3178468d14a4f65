"""The single place that puts TensorFlow into the TF1 graph mode this package is written in.

Every module imports ``tf`` from here, so the switch happens exactly once and
before any graph is built. TensorFlow's C++ start-up chatter (oneDNN notices,
"no CUDA driver") ignores TF_CPP_MIN_LOG_LEVEL in recent releases, so it is
held back at the file-descriptor level while TensorFlow loads; set
NST_TF_VERBOSE=1 to see it.
"""
import contextlib
import os
import sys
from typing import Any, Iterator

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


with quiet_stderr():
    import tensorflow.compat.v1 as tf

    tf.disable_eager_execution()
    tf.logging.set_verbosity(tf.logging.ERROR)
    GPUS = tf.config.list_physical_devices("GPU")

# What the annotations call TensorFlow's objects (TensorFlow has no type information, so each is Any):
Tensor = Any  # a tf.Tensor or tf.Variable of the graph
Session = Any  # a tf.Session (the course's tf.InteractiveSession)
Operation = Any  # a tf.Operation: a train step, an assign, an initializer
Optimizer = Any  # a tf.train.Optimizer
DType = Any  # a tf.DType (tf.float32, tf.bfloat16)

__all__ = ["tf", "GPUS", "quiet_stderr", "Tensor", "Session", "Operation", "Optimizer", "DType"]
