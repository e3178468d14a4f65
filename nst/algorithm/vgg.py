"""VGG-19 from the MatConvNet ``.mat`` file: read the weights, build the graph.

Both published versions of ``imagenet-vgg-verydeep-19.mat`` are read by field
name (never by position): the old one keeps the mean image under
``normalization``, the new one under ``meta.normalization``. Filters are stored
as ``[height, width, in, out]`` with RGB input, which is already the layout
``tf.nn.conv2d`` expects, so they are used as they are.
"""
import functools
import math
import hashlib
from typing import Dict, Iterable, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm import onednn
from nst.algorithm.images import check_regular_file
from nst.algorithm.tf1 import DType, Session, Tensor, tf
from nst.errors import NSTError
from nst.weights.matfile import BLOCKS  # convs per block: the downloads need it without TensorFlow
from nst.weights.locate import (  # noqa: F401  (the weights search, re-exported where it was)
    DEFAULT_WEIGHTS, WEIGHTS_ENV, WEIGHTS_FILE, cache_dir, cached_weights_path, resolve_weights_path,
    weights_not_found)

WEIGHTS_COLLECTION = "vgg_weights"
# What the convolutions run in (the costs stay float32); "auto" is bf16 where the machine runs it fast.
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "auto": None}

# The convolutional part of VGG-19, in order. Each conv is followed by its relu.
CONV_LAYERS = tuple(f"conv{b}_{i}" for b, n in enumerate(BLOCKS, 1) for i in range(1, n + 1))
# Order in which the graph is built; 'convX_Y' names the activation after its ReLU.
LAYER_ORDER = tuple(
    name
    for b, n in enumerate(BLOCKS, 1)
    for name in [f"conv{b}_{i}" for i in range(1, n + 1)] + [f"pool{b}"]
)


class VGGWeights(NamedTuple):
    """What the graph needs from the file: conv filters/biases by name and the mean pixel."""

    path: str
    convs: Dict[str, Tuple[np.ndarray, np.ndarray]]  # name -> (filters [h, w, in, out] float32, biases [out] float32)
    mean_pixel: np.ndarray  # shape (3,), RGB

    def digest(self) -> str:
        """SHA-256 of the arrays by layer name: the same weights from any file, copy or format agree."""
        digest = hashlib.sha256(np.ascontiguousarray(self.mean_pixel, np.float64).tobytes())
        for name in sorted(self.convs):
            for array in self.convs[name]:
                digest.update(name.encode() + np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()


def canonical_layer(name: str) -> str:
    """Accept 'relu4_2' as a synonym of 'conv4_2' (the activation after the ReLU)."""
    if name.startswith("relu"):
        name = "conv" + name[4:]
    if name not in LAYER_ORDER:
        raise NSTError(f"unknown VGG-19 layer '{name}': use one of {', '.join(LAYER_ORDER)}")
    return name


def canonical_layers(pairs: Iterable[Tuple[str, float]]) -> Tuple[Tuple[str, float], ...]:
    """((name, weight), ...) with canonical names and float weights."""
    return tuple((canonical_layer(name), float(weight)) for name, weight in pairs)


def deepest(names: Iterable[str]) -> str:
    """The deepest of some layer names, i.e. where building the network can stop."""
    return max((canonical_layer(n) for n in names), key=LAYER_ORDER.index)


def receptive_field(layer: str) -> Tuple[int, int]:
    """(size, stride) in pixels of a position at ``layer``: 3x3 convolutions and 2x2 poolings from the input."""
    size, stride = 1, 1
    for name in LAYER_ORDER[: LAYER_ORDER.index(layer) + 1]:
        if name.startswith("pool"):
            size, stride = size + stride, stride * 2
        else:
            size += 2 * stride
    return size, stride


def layer_shape(size: Sequence[int], layer: str) -> Tuple[int, int]:
    """(nH, nW) of ``layer`` for an input of ``size``: each 'SAME' pooling before it rounds half up."""
    height, width = size
    for name in LAYER_ORDER[: LAYER_ORDER.index(layer) + 1]:
        if name.startswith("pool"):
            height, width = math.ceil(height / 2), math.ceil(width / 2)
    return height, width


def _field(struct, name):
    """A MATLAB struct field by name, with scipy's (1, 1) wrappers peeled off."""
    while isinstance(struct, np.ndarray) and struct.dtype.names is None and struct.size == 1:
        struct = struct.flat[0]
    if not isinstance(struct, np.ndarray) or struct.dtype.names is None or name not in struct.dtype.names:
        return None
    value = struct[name]
    return value.flat[0] if value.size == 1 else value


def _text(value):
    return str(np.asarray(value).squeeze()) if value is not None else ""


def _check_weights_file(path):
    """The file's stat, refusing a missing path or one that is not a regular file (no open, no block)."""
    return check_regular_file(path, "VGG-19 weights", missing=str(weights_not_found(path)))


def _load_mat(path):
    import scipy.io  # a tenth of a second: here, not where a command's --help imports this module

    try:
        return scipy.io.loadmat(path, variable_names=("layers", "meta", "normalization"))
    except PermissionError:
        raise NSTError(f"{path}: permission denied") from None
    except Exception as exc:  # scipy raises many types for a damaged file
        raise NSTError(f"{path}: cannot read as a .mat file (truncated or corrupt?): {exc}") from None


def _mean_pixel(path, data):
    """The RGB mean the network was trained around: 3 finite values, or the file is refused."""
    norm = data.get("normalization")
    if norm is None and "meta" in data:
        norm = _field(data["meta"], "normalization")
    average = _field(norm, "averageImage") if norm is not None else None
    if average is None:
        raise NSTError(f"{path}: not a MatConvNet VGG file (no normalization.averageImage)")
    try:
        average = np.asarray(average, np.float64)
    except (TypeError, ValueError):
        raise NSTError(f"{path}: normalization.averageImage is not numeric") from None
    if average.ndim == 0 or average.shape[-1] != 3 or average.size == 0:
        raise NSTError(f"{path}: normalization.averageImage has shape {average.shape}, not 3 RGB values")
    # Old file: a whole 224x224x3 mean image; new file: a (1, 1, 3) vector.
    mean = average.reshape(-1, 3).mean(axis=0)
    if not np.isfinite(mean).all():
        raise NSTError(f"{path}: mean pixel {np.array2string(mean, precision=3)} is not finite")
    return mean.astype(np.float32)


def _conv_weights(path, name, struct):
    """One layer's (filters, biases), checked: 3x3 kernels, one bias per filter, all finite."""
    weights = _field(struct, "weights")
    try:
        filters, biases = np.asarray(weights[0, 0], np.float32), np.asarray(weights[0, 1], np.float32)
    except (TypeError, IndexError, ValueError):
        raise NSTError(f"{path}: layer {name} has no {{filters, biases}} weights") from None
    if filters.ndim != 4:
        raise NSTError(f"{path}: layer {name} has filters of shape {filters.shape}, not [height, width, in, out]")
    if filters.shape[:2] != (3, 3):
        raise NSTError(f"{path}: layer {name} has {filters.shape[0]}x{filters.shape[1]} kernels, VGG-19 has 3x3")
    if biases.size != filters.shape[3]:
        raise NSTError(f"{path}: layer {name} has {filters.shape[3]} filters but {biases.size} biases")
    if not (np.isfinite(filters).all() and np.isfinite(biases).all()):
        raise NSTError(f"{path}: layer {name} has NaN or infinite weights")
    return filters, biases.reshape(-1)


def _check_chain(path, convs):
    missing = [n for n in CONV_LAYERS if n not in convs]
    if missing:
        hint = " (a VGG-16 file?)" if len(convs) == 13 else ""
        raise NSTError(f"{path}: not a VGG-19 model{hint}: missing layers {', '.join(missing)}")
    channels = 3
    for name in CONV_LAYERS:
        filters = convs[name][0]
        if filters.shape[2] != channels:
            raise NSTError(
                f"{path}: layer {name} expects {filters.shape[2]} input channels, "
                f"the layer before gives {channels}"
            )
        channels = filters.shape[3]


@functools.lru_cache(maxsize=2)
def _read_cached(path, mtime, size):
    data = _load_mat(path)
    if "layers" not in data:
        raise NSTError(f"{path}: not a MatConvNet model file (no 'layers' variable)")
    convs = {}
    for struct in np.asarray(data["layers"]).flat:
        name, kind = _text(_field(struct, "name")), _text(_field(struct, "type"))
        if kind == "conv" and name in CONV_LAYERS:
            convs[name] = _conv_weights(path, name, struct)
    _check_chain(path, convs)
    return VGGWeights(path, convs, _mean_pixel(path, data))


_IN_MEMORY = {}  # path -> VGGWeights given by use_weights


def use_weights(weights: VGGWeights) -> None:
    """Serve ``weights`` for their path from now on, unread: a batch worker got them from Ray's object store."""
    _IN_MEMORY[weights.path] = weights


def read_vgg_weights(path: str) -> VGGWeights:
    """Read and check a MatConvNet VGG-19 file; cached, so repeated runs read it once."""
    if path in _IN_MEMORY:
        return _IN_MEMORY[path]
    info = _check_weights_file(path)
    return _read_cached(path, info.st_mtime, info.st_size)


def _conv_relu(prev, filters, biases):
    conv = tf.nn.conv2d(prev, filters, strides=[1, 1, 1, 1], padding="SAME")
    return tf.nn.relu(tf.nn.bias_add(conv, biases))


def precision_dtype(precision: str) -> DType:
    """The dtype the convolutions run in: float32, or bfloat16 for ``precision='bf16'`` (see machine_precision)."""
    if precision not in PRECISIONS:
        raise NSTError(f"{{option}}: unknown value {precision!r}: use one of {', '.join(PRECISIONS)}", "precision")
    return tf.as_dtype(PRECISIONS[machine_precision(precision)])


def machine_precision(precision: str) -> str:
    """``precision`` with "auto" made "bf16" on a GPU or a CPU with bfloat16 instructions, else "fp32".

    Why: bfloat16 nearly halves a step where the hardware has it and is several times slower where it is
    emulated, so a preset that wants speed cannot name one format for every machine.
    """
    if precision != "auto":
        return precision
    from nst.algorithm.tf1 import gpus

    return "bf16" if gpus() or onednn.has_bf16() else "fp32"


def _pool(prev, pooling):
    pool = tf.nn.avg_pool2d if pooling == "avg" else tf.nn.max_pool2d
    return pool(prev, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")


def _layers(prev, params, pooling, last, make_params=None, conv_relu=_conv_relu):
    """The layers from ``prev`` through ``last`` as {name: tensor}.

    ``params`` maps conv names to (filters, biases) graph nodes; missing ones
    are made with ``make_params(name)`` inside the layer's name scope. The
    network runs in the weights' dtype; every layer is given in float32, where
    the costs are computed (both casts are no-ops for float32 weights).
    """
    model = {}
    for name in LAYER_ORDER[: LAYER_ORDER.index(last) + 1]:
        with tf.name_scope(name):
            if name.startswith("pool"):
                prev = _pool(prev, pooling)
            else:
                if name not in params:
                    params[name] = make_params(name)
                filters, biases = params[name]
                prev = conv_relu(tf.cast(prev, filters.dtype), filters, biases)
        model[name] = tf.cast(prev, tf.float32)
        if name.startswith("conv"):
            model["relu" + name[4:]] = model[name]
    return model


def _weight_variable(value, name, dtype):
    """A fixed weight, held once in a non-trainable variable that initialises itself from ``value``.

    Not a tf.constant: each constant is copied into the GraphDef, the session
    and the optimised graph (about 5 copies of the 80 MB of filters, measured);
    a variable holds one. Its initial value is a ``numpy_function`` returning
    the array, so the GraphDef holds no weights and the course's
    ``tf.global_variables_initializer()`` initialises the model with no feed,
    in any session. Not trainable: ``minimize(J)`` moves only the image.
    """
    def initial_value():
        return value.astype(dtype.as_numpy_dtype, copy=False)

    # stateful: grappler would fold a stateless one into a constant, the weights held twice (+68 MB, measured)
    initial = tf.numpy_function(initial_value, [], dtype, stateful=True, name=name + "_value")
    initial.set_shape(value.shape)
    return tf.Variable(initial, trainable=False, name=name,
                       collections=[tf.GraphKeys.GLOBAL_VARIABLES, WEIGHTS_COLLECTION])


def initialize_weights(sess: Session, model: Dict[str, Tensor]) -> None:
    """Load the weights into ``sess`` (done by build_vgg for its session or the default one)."""
    sess.run(model["weights_init"])


def build_vgg(weights: VGGWeights, height: int, width: int, pooling: str = "avg", up_to: Optional[str] = None,
              sess: Optional[Session] = None, constant_weights: bool = False,
              precision: str = "fp32") -> Dict[str, Tensor]:
    """Build VGG-19 on a (1, height, width, 3) input variable, stopping at ``up_to``.

    Returns a dict of graph nodes: 'input' (the variable to assign images to),
    'G' (the one read of it that the layers use), 'convX_Y' (after ReLU; 'reluX_Y' is the same node), 'poolX', and
    'weights' (the filters and biases, for :func:`apply_vgg`). The weights are
    loaded into ``sess``, else into the default session if there is one (the
    course's InteractiveSession), else by :func:`initialize_weights` later.
    ``constant_weights`` builds them as graph constants instead, as the course
    did (kept for the benchmark's baseline). ``precision='bf16'`` holds the
    weights and runs the network in bfloat16, the layers given in float32.
    Where :func:`nst.onednn.available`, this network's convolutions keep their
    filters in oneDNN's layout between steps (branches from :func:`apply_vgg`
    run once and don't).
    """
    if pooling not in ("avg", "max"):
        raise NSTError(f"unknown pooling '{pooling}': use avg or max")
    last = canonical_layer(up_to) if up_to else LAYER_ORDER[-1]
    model = {"input": tf.Variable(tf.zeros([1, height, width, 3]), name="input"), "weights": {}}

    dtype = precision_dtype(precision)

    def make_params(name):
        filters, biases = weights.convs[name]
        if constant_weights:
            return tf.constant(filters, dtype), tf.constant(biases, dtype)
        return _weight_variable(filters, "filters", dtype), _weight_variable(biases, "biases", dtype)

    # One read of the variable feeds the whole network; fetching it with a train step gives G as
    # the step saw it (TF copies a variable before updating it while a read of it is alive).
    model["G"] = tf.identity(model["input"], name="G")
    conv_relu = onednn.conv_relu if onednn.available() and not constant_weights else _conv_relu
    model.update(_layers(model["G"], model["weights"], pooling, last, make_params, conv_relu))
    model["weights_init"] = tf.group(*[v.initializer for pair in model["weights"].values() for v in pair
                                       if not constant_weights])
    sess = sess or tf.get_default_session()
    if sess is not None and sess.graph is tf.get_default_graph():
        initialize_weights(sess, model)
    return model


def apply_vgg(model: Dict[str, Tensor], image: Tensor, pooling: str = "avg", up_to: Optional[str] = None,
              scope: str = "branch") -> Dict[str, Tensor]:
    """The network of ``model`` on another input tensor, e.g. a style image of another size.

    It reuses the model's weight variables, so the graph holds one copy of the
    weights however many inputs the network is applied to. ``up_to`` must not
    be deeper than the model.
    """
    last = canonical_layer(up_to) if up_to else deepest([n for n in model if n in LAYER_ORDER])
    if last not in model:
        raise ValueError(f"apply_vgg: the model stops before {last}")
    with tf.name_scope(scope):
        return _layers(image, model["weights"], pooling, last)


def load_vgg_model(path: str, height: int, width: int, pooling: str = "avg",
                   up_to: Optional[str] = None) -> Dict[str, Tensor]:
    """The course's entry point: read ``path`` and build the network up to ``up_to``."""
    return build_vgg(read_vgg_weights(path), height, width, pooling, up_to)
