"""Will a size fit? Estimate a run's peak memory from the layer shapes, before building anything.

Peak memory of one Adam step grows with the number of activations kept for the
backward pass; the constants below were fitted to measured peak RSS on the
CPU (see README, "Speed and memory").
"""
import math
import os
from typing import Optional, Sequence

from nst.algorithm.images import MIN_SIDE
from nst.algorithm.vgg import LAYER_ORDER, VGGWeights, canonical_layer
from nst.errors import NSTError

# Fitted to the peak RSS of 3-step runs of nst train on the CPU: 0.82 GiB at 64x64, 1.10 GiB at
# 300x400, 2.54 GiB at 768x1024, 7.25 GiB at 1536x2048 (up to conv5_1: 0.2 M, 38.8 M, 254 M and
# 1016 M activations): 1.0 GiB + 6.6 bytes per activation, plus 10 % for safety.
BASE_BYTES = 1.1 * 2**30  # TensorFlow runtime, the weights (held once), Python
BYTES_PER_ACTIVATION = 7.3  # float32: the forward activations kept for the backward pass, and gradients
HEADROOM = 0.85  # never plan to use the last 15 % of free memory


def activation_count(weights: VGGWeights, height: int, width: int, up_to: str) -> int:
    """Number of floats in the activations of every layer built, input included."""
    total, h, w, channels = height * width * 3, height, width, 3
    for name in LAYER_ORDER[: LAYER_ORDER.index(canonical_layer(up_to)) + 1]:
        if name.startswith("pool"):
            h, w = math.ceil(h / 2), math.ceil(w / 2)
        else:
            channels = weights.convs[name][0].shape[3]
        total += h * w * channels
    return total


def estimate_peak_bytes(weights: VGGWeights, height: int, width: int, up_to: str) -> float:
    return BASE_BYTES + BYTES_PER_ACTIVATION * activation_count(weights, height, width, up_to)


def available_bytes() -> int:
    """MemAvailable from /proc/meminfo (Linux), else the physical memory size."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_fits(weights: VGGWeights, size: Sequence[int], up_to: str, available: Optional[float] = None,
               option: str = "size") -> None:
    """Refuse a size whose estimated peak exceeds free memory, naming the largest that fits.

    ``option`` is the setting the user sized G with (``size`` or ``max_side``): the answer is in its terms.
    """
    height, width = size
    available = HEADROOM * (available_bytes() if available is None else available)
    needed = estimate_peak_bytes(weights, height, width, up_to)
    if needed <= available:
        return
    scale = math.sqrt(max(available - BASE_BYTES, 0) / (needed - BASE_BYTES))
    while scale > 0 and estimate_peak_bytes(weights, int(height * scale), int(width * scale), up_to) > available:
        scale *= 0.99  # the pooled sizes round up: step down until the suggestion really fits
    if min(height, width) * scale < MIN_SIDE:
        raise NSTError(f"only {available / 2**30:.1f} GiB of memory is free: not enough for any image size")
    fit_h, fit_w = int(height * scale), int(width * scale)
    fit = f"{max(fit_h, fit_w)} or smaller (a size of {fit_h}x{fit_w})" if option == "max_side" else \
        f"{fit_h}x{fit_w} or smaller (a longer side of {max(fit_h, fit_w)} px)"
    raise NSTError(
        f"size {height}x{width} needs about {needed / 2**30:.1f} GiB but {available / 2**30:.1f} GiB "
        f"is free: use {{option}} {fit}", option)
