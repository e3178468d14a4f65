"""A conv + bias + ReLU whose filter oneDNN reorders once and keeps, for filters held in variables.

Why: TensorFlow's oneDNN convolution keeps a filter in its own blocked layout
between steps only when the filter is a graph constant (``is_filter_const``,
set by its layout pass). nst holds the weights in variables, once, so that the
GraphDef, the session and the optimised graph do not each copy them (constants
cost about 0.5 GB more); oneDNN then reads the filter in TensorFlow's plain
layout every step, which on some CPUs is slower than the blocked one (an
Intel Xeon with AMX ran 10-15 % slower per step; ``ONEDNN_VERBOSE=1`` shows
``wei:...:cdba`` against ``wei:...:Acdb64a``). This module builds the node the
layout pass would build for a constant filter (``_MklNativeFusedConv2D`` with
``is_filter_const``), fed by the variable: one cached, reordered copy of each
filter, the ReLU fused. It is correct because the weights never change after
they are loaded. The gradient to the image is registered here (the filter's
and bias's are not: they are never trained).

It is not free: the cached copies cost 130-180 MB more at the default size
(measured on an AMD EPYC, where it gained no speed). So by default it is used
where the blocked layout was measured faster, CPUs with AMX (Intel Xeon 4th
generation and later); ``NST_FILTER_CACHE=1`` or ``0`` forces it on or off
(``nst bench`` times both). It is used only where it runs: TensorFlow built
with oneDNN and using it, no GPU, and a one-off check that the node gives the
plain convolution's values.
"""
import functools
import os
from typing import FrozenSet

import numpy as np

from nst.algorithm.tf1 import Tensor, tf

OP = "_MklNativeFusedConv2D"
ENV = "NST_FILTER_CACHE"


def _list(**kw):
    return tf.AttrValue(list=tf.AttrValue.ListValue(**kw))


def _attrs(dtype):
    a = tf.AttrValue
    return {
        "T": a(type=dtype.as_datatype_enum), "TArgs": _list(type=[dtype.as_datatype_enum]),
        "num_args": a(i=1), "num_host_args": a(i=0), "strides": _list(i=[1, 1, 1, 1]),
        "dilations": _list(i=[1, 1, 1, 1]), "explicit_paddings": _list(i=[]), "padding": a(s=b"SAME"),
        "data_format": a(s=b"NHWC"), "filter_format": a(s=b"HWIO"), "use_cudnn_on_gpu": a(b=False),
        "fused_ops": _list(s=[b"BiasAdd", b"Relu"]), "epsilon": a(f=0.0001), "leakyrelu_alpha": a(f=0.2),
        "is_filter_const": a(b=True),
        "_kernel": a(s=b"MklNameChangeOp"),  # the label oneDNN's kernels are registered under
    }


def conv_relu(prev: Tensor, filters: Tensor, biases: Tensor) -> Tensor:
    """relu(conv2d(prev, filters, SAME) + biases) with the filter reordered once and cached."""
    _register_gradient()
    filters, biases = tf.convert_to_tensor(filters), tf.convert_to_tensor(biases)
    op = tf.get_default_graph().create_op(OP, [prev, filters, biases], [prev.dtype], attrs=_attrs(prev.dtype),
                                          name="conv_relu")
    return op.outputs[0]


@functools.lru_cache(maxsize=None)
def _register_gradient():
    """Tell TensorFlow the node's gradient, once, when the first node is made (importing loads no TensorFlow)."""
    tf.RegisterGradient(OP)(_conv_relu_grad)


def _conv_relu_grad(op, grad):
    """d/dprev of relu(conv + b): TF's own ReLU and conv gradients in turn. The weights get none."""
    prev, filters, _ = op.inputs
    masked = tf.raw_ops.ReluGrad(gradients=grad, features=op.outputs[0])
    return tf.nn.conv2d_transpose(masked, filters, tf.shape(prev), [1, 1, 1, 1], "SAME"), None, None


@functools.lru_cache(maxsize=None)
def cpu_flags() -> FrozenSet[str]:
    """The CPU's feature flags (/proc/cpuinfo; empty where there is none)."""
    try:
        with open("/proc/cpuinfo") as info:
            return frozenset(next((line.split(":", 1)[1].split() for line in info if line.startswith("flags")), []))
    except OSError:
        return frozenset()


def has_bf16() -> bool:
    """AVX-512 BF16 or AMX: what oneDNN's bfloat16 convolutions need to be fast."""
    return bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def wanted() -> bool:
    """NST_FILTER_CACHE=1 or 0 as set; otherwise whether the CPU has AMX (see the module's text)."""
    setting = os.environ.get(ENV, "auto")
    if setting in ("0", "1"):
        return setting == "1"
    return "amx_tile" in cpu_flags()


@functools.lru_cache(maxsize=None)
def available() -> bool:
    """True where the cached-filter node is wanted, runs, and matches tf.nn.conv2d (checked once)."""
    if not wanted() or tf.config.list_physical_devices("GPU"):
        return False
    try:
        from tensorflow.python.framework import op_def_registry
        from tensorflow.python.util import _pywrap_util_port

        if not _pywrap_util_port.IsMklEnabled() or op_def_registry.get(OP) is None:
            return False
        return _matches_plain()
    except Exception:  # any failure (no kernel, another build): the plain convolution it is
        return False


def _matches_plain():
    rng = np.random.RandomState(0)
    x, f, b = (rng.randn(*shape).astype(np.float32) for shape in ((1, 5, 6, 3), (3, 3, 3, 4), (4,)))
    with tf.Graph().as_default(), tf.Session() as sess:
        filters = tf.Variable(f)
        sess.run(filters.initializer)
        got = conv_relu(tf.constant(x), filters, tf.constant(b))
        want = tf.nn.relu(tf.nn.conv2d(x, f, [1, 1, 1, 1], "SAME") + b)
        got, want = sess.run([got, want])
    return bool(np.allclose(got, want, rtol=1e-5, atol=1e-5))
