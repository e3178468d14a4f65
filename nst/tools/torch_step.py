"""The benchmark's PyTorch row: the same VGG-19, weights, images and costs as nst's default, one Adam step.

Written as a plain PyTorch user would write it (eager mode, autograd, the
course's equations), so ``nst bench`` shows how nst's graph compares with the
other framework people reach for. Imported only when PyTorch is installed.
"""
import time

from nst.algorithm.costs import ALPHA, BETA, CONTENT_LAYER, STYLE_LAYERS
from nst.algorithm.graph import LEARNING_RATE
from nst.algorithm.vgg import LAYER_ORDER


def _network(torch, weights, last):
    """(name, conv filter OIHW, bias) or (name, None, None) for a pool, in order through ``last``."""
    layers = []
    for name in LAYER_ORDER[: LAYER_ORDER.index(last) + 1]:
        if name.startswith("pool"):
            layers.append((name, None, None))
        else:
            filters, biases = weights.convs[name]  # HWIO, as TensorFlow takes them
            layers.append((name, torch.from_numpy(filters.transpose(3, 2, 0, 1).copy()), torch.from_numpy(biases)))
    return layers


def _activations(torch, layers, x, wanted):
    F = torch.nn.functional
    out = {}
    for name, filters, biases in layers:
        x = F.avg_pool2d(x, 2, ceil_mode=True) if filters is None else F.relu(F.conv2d(x, filters, biases, padding=1))
        if name in wanted:
            out[name] = x
    return out


def _gram(a):
    c = a.shape[1]
    flat = a.reshape(c, -1)
    return flat @ flat.T


def torch_steps(weights, C, S, G):
    """(build seconds, one Adam step as a function, J at G): eq. (1) at conv4_2, eq. (2) over the five layers."""
    import torch

    torch.manual_seed(0)
    start = time.perf_counter()
    style_layers = dict(STYLE_LAYERS)
    wanted = set(style_layers) | {CONTENT_LAYER}
    layers = _network(torch, weights, max(wanted, key=LAYER_ORDER.index))
    nchw = lambda x: torch.from_numpy(x.transpose(0, 3, 1, 2).copy())  # noqa: E731
    with torch.no_grad():
        a_C = _activations(torch, layers, nchw(C), {CONTENT_LAYER})[CONTENT_LAYER]
        grams_S = {k: _gram(v) for k, v in _activations(torch, layers, nchw(S), set(style_layers)).items()}
    image = torch.nn.Parameter(nchw(G))
    adam = torch.optim.Adam([image], lr=LEARNING_RATE)

    def J():
        a = _activations(torch, layers, image, wanted)
        _, c, h, w = a[CONTENT_LAYER].shape
        J_content = ((a_C - a[CONTENT_LAYER]) ** 2).sum() / (4 * h * w * c)
        J_style = 0
        for name, lam in style_layers.items():
            _, c, h, w = a[name].shape
            J_style = J_style + lam * ((grams_S[name] - _gram(a[name])) ** 2).sum() / (4 * c**2 * (h * w) ** 2)
        return ALPHA * J_content + BETA * J_style

    def step():
        adam.zero_grad()
        cost = J()
        cost.backward()
        adam.step()
        return cost.item()

    with torch.no_grad():
        J0 = float(J())
    return time.perf_counter() - start, step, J0
