"""An independent float64 numpy forward pass of VGG layers, to check the TF graph against."""
import numpy as np


def conv3x3_relu(x, filters, biases):
    """SAME 3x3 convolution + bias + ReLU; x (H, W, Cin), filters (3, 3, Cin, Cout)."""
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))  # H, W, Cin, 3, 3
    out = np.einsum("hwcij,ijco->hwo", windows, filters.astype(np.float64)) + biases
    return np.maximum(out, 0.0)


def pool2x2(x, method="avg"):
    """2x2 stride-2 pooling of (H, W, C) with even H and W."""
    h, w, c = x.shape
    blocks = x.reshape(h // 2, 2, w // 2, 2, c)
    return blocks.mean(axis=(1, 3)) if method == "avg" else blocks.max(axis=(1, 3))


def forward(image, convs, up_to, pooling="avg"):
    """Activations {name: (H, W, C)} of a normalised (H, W, 3) image, through ``up_to``."""
    out, x, block, index = {}, image.astype(np.float64), 1, 1
    while True:
        name = f"conv{block}_{index}"
        if name in convs:
            x = conv3x3_relu(x, *convs[name])
            index += 1
        else:
            name = f"pool{block}"
            x = pool2x2(x, pooling)
            block, index = block + 1, 1
        out[name] = x
        if name == up_to:
            return out
