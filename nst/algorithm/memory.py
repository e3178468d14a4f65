"""Will a size fit? Estimate a run's peak memory from the layer shapes, before building anything.

Peak memory of one Adam step grows with the number of activations kept for the
backward pass; the constants below were fitted to measured peak RSS on the
CPU (see README, "Speed and memory").
"""
import math
import os
from typing import Optional, Sequence, Tuple

from nst.algorithm.images import MIN_SIDE
from nst.algorithm import tiles
from nst.algorithm.vgg import LAYER_ORDER, VGGWeights, canonical_layer, layer_shape
from nst.errors import NSTError

# Fitted to the peak RSS of 3-step runs of nst train on the CPU: 0.82 GiB at 64x64, 1.10 GiB at
# 300x400, 2.54 GiB at 768x1024, 7.25 GiB at 1536x2048 (up to conv5_1: 0.2 M, 38.8 M, 254 M and
# 1016 M activations): 1.0 GiB + 6.6 bytes per activation, plus 10 % for safety.
BASE_BYTES = 1.1 * 2**30  # TensorFlow runtime, the weights (held once), Python
BYTES_PER_ACTIVATION = 7.3  # float32: the forward activations kept for the backward pass, and gradients
HEADROOM = 0.85  # never plan to use the last 15 % of free memory
# A tiled run holds, besides one tile's step, what has the size of the whole picture: G, Adam's two slots,
# the gradient, the G read for the step, C and the pictures read (about 8 float32 copies of the RGB
# picture), and the content targets a_C (counted apart, by their layers' shapes).
STATE_BYTES_PER_PIXEL = 96


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


def whole_picture_bytes(weights: VGGWeights, size: Sequence[int], content_layers: Sequence[Tuple[str, float]]
                        ) -> float:
    """What a tiled run holds for the whole picture, whatever the tile (see STATE_BYTES_PER_PIXEL)."""
    a_C = sum(math.prod(layer_shape(size, name)) * weights.convs[name][0].shape[3] for name, _ in content_layers
              if name.startswith("conv"))
    return STATE_BYTES_PER_PIXEL * size[0] * size[1] + 4.0 * a_C


def estimate_tiled_peak_bytes(weights: VGGWeights, size: Sequence[int], tile: int, up_to: str,
                              content_layers: Sequence[Tuple[str, float]]) -> float:
    """Peak of a tiled step: one step of the largest crop, plus the whole picture's state."""
    crop = tiles.largest_crop(size, tile, tiles.halo(up_to))
    return estimate_peak_bytes(weights, *crop, up_to) + whole_picture_bytes(weights, size, content_layers)


def plan_tile(weights: VGGWeights, size: Sequence[int], up_to: str, content_layers: Sequence[Tuple[str, float]],
              setting: Optional[str], available: Optional[float] = None) -> Optional[int]:
    """The tile (px) a run at ``size`` uses, or None for the untiled graph.

    ``setting`` None: untiled. "auto": untiled where it fits ``available`` (free memory), else the largest
    tile that fits. A number: tiles of that size (rounded down to the deepest layer's stride), which must fit.
    """
    if setting is None:
        return None
    up_to = canonical_layer(up_to)
    free = HEADROOM * (available_bytes() if available is None else available)
    height, width = size
    if setting == "auto":
        if estimate_peak_bytes(weights, height, width, up_to) <= free:
            return None
        step = tiles.stride(up_to)
        for tile in range(tiles.aligned(max(size), up_to), 0, -step):
            if estimate_tiled_peak_bytes(weights, size, tile, up_to, content_layers) <= free:
                return tile
        raise NSTError(f"only {free / 2**30:.1f} GiB of memory is free: not enough for size {height}x{width} "
                       f"even in tiles of {step} px")
    tile = tiles.aligned(int(setting), up_to)
    needed = estimate_tiled_peak_bytes(weights, size, tile, up_to, content_layers)
    if needed > free:
        raise NSTError(f"{{option}} {setting}: tiles of {tile} px at size {height}x{width} need about "
                       f"{needed / 2**30:.1f} GiB but {free / 2**30:.1f} GiB is free: use a smaller tile, or auto",
                       "tile")
    return tile
