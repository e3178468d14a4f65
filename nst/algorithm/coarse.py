"""Coarse-to-fine start: optimise G at half size first, then upsample it as the full-size start.

A half-size step costs a quarter of a full one, and the large structures of
the style settle there; the full-size run then only refines. Either optimizer
can run each stage (``run(graph, G, iterations) -> image``).
"""
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm import images
from nst.algorithm.graph import CostSettings, StyleTransferGraph, build_graph, new_session
from nst.algorithm.styles import StyleImages
from nst.algorithm.vgg import VGGWeights

# How a stage is optimised: (graph, normalised start G, iterations) -> the normalised G reached.
Stage = Callable[[StyleTransferGraph, np.ndarray, int], np.ndarray]


def half_size(size: Sequence[int]) -> Tuple[int, ...]:
    """Half of (height, width), aspect kept, the shorter side never below what VGG-19 can take."""
    scale = max(0.5, images.MIN_SIDE / min(size))
    return tuple(round(side * scale) for side in size)


def resize_normalized(image: np.ndarray, size: Sequence[int], mean_pixel: np.ndarray) -> np.ndarray:
    """Resize a normalised (1, h, w, 3) image to ``size`` (no crop: it is already G's aspect)."""
    pixels = images.resize_image(image[0] + mean_pixel, size, crop=False)
    return images.reshape_and_normalize_image(pixels, mean_pixel)


def coarse_start(weights: VGGWeights, content: np.ndarray, styles: StyleImages,
                 generated: np.ndarray, settings: Optional[CostSettings], iterations: int, run: Stage,
                 style_blend: Optional[Sequence[float]] = None) -> np.ndarray:
    """Run ``iterations`` at half size from the downsampled G; return the result upsampled.

    ``content`` and each of ``styles`` (one array or a list) are (H, W, 3) on
    0..255 as the full-size run sees them; each is halved with G.
    ``generated`` is the normalised full-size start (1, H, W, 3).
    """
    size, small = generated.shape[1:3], half_size(generated.shape[1:3])
    mean = weights.mean_pixel

    def halved(picture: np.ndarray, target: Sequence[int]) -> np.ndarray:
        return images.reshape_and_normalize_image(images.resize_image(picture, target, crop=False), mean)

    styles = styles if isinstance(styles, (list, tuple)) else [styles]
    C = halved(content, small)
    S = [halved(s, half_size(s.shape[:2])) for s in styles]
    sess = new_session()
    try:
        graph = build_graph(sess, weights, C, S, settings, style_blend=style_blend)
        image = run(graph, resize_normalized(generated, small, mean), iterations)
    finally:
        sess.close()
    return resize_normalized(image, size, mean)
