"""Coarse-to-fine starts: optimise G at smaller sizes first, each stage starting from the last one's G
upsampled, and the full-size run from the last.

A step at half size costs about a quarter of a full one, and the large structures of the style settle
there; the larger stages then only refine. Either optimizer can run each stage
(``run(graph, G, iterations) -> image``).
"""
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm import images
from nst.algorithm.graph import CostSettings, StyleTransferGraph, new_session
from nst.algorithm.guides import StyleGuide
from nst.algorithm.styles import StyleImages
from nst.algorithm.tiled import make_graph
from nst.algorithm.vgg import VGGWeights

# How a stage is optimised: (graph, normalised start G, iterations) -> the normalised G reached.
Stage = Callable[[StyleTransferGraph, np.ndarray, int], np.ndarray]


def half_size(size: Sequence[int]) -> Tuple[int, ...]:
    """Half of (height, width), aspect kept, the shorter side never below what VGG-19 can take."""
    scale = max(0.5, images.MIN_SIDE / min(size))
    return tuple(round(side * scale) for side in size)


def level_size(size: Sequence[int], longer_side: int) -> Tuple[int, ...]:
    """(height, width) of ``size``'s aspect with the given longer side (the shorter never below MIN_SIDE)."""
    scale = max(longer_side / max(size), images.MIN_SIDE / min(size))
    return tuple(round(side * scale) for side in size)


def resize_normalized(image: np.ndarray, size: Sequence[int], mean_pixel: np.ndarray) -> np.ndarray:
    """Resize a normalised (1, h, w, 3) image to ``size`` (no crop: it is already G's aspect)."""
    pixels = images.resize_image(image[0] + mean_pixel, size, crop=False)
    return images.reshape_and_normalize_image(pixels, mean_pixel)


def coarse_start(weights: VGGWeights, content: np.ndarray, styles: StyleImages,
                 generated: np.ndarray, settings: Optional[CostSettings], iterations: int, run: Stage,
                 style_blend: Optional[Sequence[float]] = None) -> np.ndarray:
    """Run ``iterations`` at half size from the downsampled G; return the result upsampled."""
    size = generated.shape[1:3]
    return pyramid_start(weights, content, styles, generated, settings, [(half_size(size), iterations)], run,
                         style_blend)


def pyramid_start(weights: VGGWeights, content: np.ndarray, styles: StyleImages, generated: np.ndarray,
                  settings: Optional[CostSettings], stages: Sequence[Tuple[Sequence[int], int]], run: Stage,
                  style_blend: Optional[Sequence[float]] = None,
                  guides: Optional[Sequence[StyleGuide]] = None) -> np.ndarray:
    """Run each of ``stages`` ((height, width), iterations) in order; return the last G at full size.

    ``content`` and each of ``styles`` (one array or a list) are (H, W, 3) on 0..255 as the full-size run
    sees them; each is scaled with G. ``generated`` is the normalised full-size start (1, H, W, 3). The
    ``guides``' masks are resized to each stage's pictures by the graph (nst.algorithm.guides).
    """
    full, mean = generated.shape[1:3], weights.mean_pixel
    styles = styles if isinstance(styles, (list, tuple)) else [styles]
    image = generated
    for size, iterations in stages:
        image = _stage(weights, content, styles, resize_normalized(image, size, mean), settings, iterations, run,
                       style_blend, guides)
    return resize_normalized(image, full, mean)


def _stage(weights, content, styles, start, settings, iterations, run, style_blend, guides):
    """One smaller run: C and each S scaled as G is, a graph of that size, ``run`` on it."""
    size, mean = start.shape[1:3], weights.mean_pixel
    scale = size[0] / content.shape[0]

    def scaled(picture, target):
        return images.reshape_and_normalize_image(images.resize_image(picture, target, crop=False), mean)

    C = scaled(content, size)
    S = [scaled(s, tuple(max(images.MIN_SIDE, round(side * scale)) for side in s.shape[:2])) for s in styles]
    sess = new_session()
    try:
        return run(make_graph(sess, weights, C, S, settings, style_blend, guides), start, iterations)
    finally:
        sess.close()
