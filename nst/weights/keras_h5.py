"""Read Keras's VGG-19 "notop" weights (HDF5) as the ``.mat``'s filters: same network, float32.

Keras names the convolutions ``block{b}_conv{i}`` and stores each kernel as
``[h, w, in, out]`` (TensorFlow's conv2d layout) with the bias beside it; the
dataset names changed between Keras versions, so a layer's kernel is found as
its one 4-D dataset and its bias as its one 1-D dataset. Keras's first layer
takes BGR (Caffe's order): ``conv1_1``'s input channels are reversed so the
file takes RGB, like the original ``.mat``.
"""
from nst.errors import NSTError
from nst.weights.matfile import Convs, conv_names


def keras_name(conv: str) -> str:
    """'conv3_2' -> 'block3_conv2'."""
    block, index = conv[len("conv"):].split("_")
    return f"block{block}_conv{index}"


def _arrays(group):
    found = []
    group.visititems(lambda _, item: found.append(item[()]) if hasattr(item, "shape") else None)
    return found


def _layer(path, f, conv):
    name = keras_name(conv)
    if name not in f:
        raise NSTError(f"{path}: not Keras VGG-19 weights: no layer {name}")
    arrays = _arrays(f[name])
    kernels = [a for a in arrays if a.ndim == 4]
    biases = [a for a in arrays if a.ndim == 1]
    if len(kernels) != 1 or len(biases) != 1:
        raise NSTError(f"{path}: layer {name} does not hold one kernel and one bias")
    return kernels[0].astype("float32"), biases[0].astype("float32")


def read_keras_h5(path: str) -> Convs:
    """{conv name: (filters [h, w, in, out] taking RGB, biases [out])} from a Keras weights file."""
    import h5py  # installed with TensorFlow; only this route needs it

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise NSTError(f"{path}: cannot read as an HDF5 file: {exc}") from None
    with f:
        convs = {conv: _layer(path, f, conv) for conv in conv_names()}
    filters, biases = convs["conv1_1"]
    convs["conv1_1"] = (filters[:, :, ::-1, :].copy(), biases)  # BGR -> RGB
    return convs
