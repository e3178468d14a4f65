"""The style masks of a run, read and checked: one :class:`nst.algorithm.guides.StyleGuide` per style.

A mask is any picture ``nst`` reads; its grey level (ITU-R 601 luma, 0..255 -> 0..1) is the weight of each
pixel, so soft edges work. A mask over G must have the content's aspect and is cropped and resized as the
content is; a source mask must have its style image's aspect and is cropped and resized as that image is.
"""
import math
import os
from typing import List, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm import guides, images
from nst.algorithm.images import IMAGE_EXTENSIONS
from nst.algorithm.guides import StyleGuide
from nst.errors import NSTError
from nst.run.config import NO_MASK, RunConfig

LUMA = np.array([0.299, 0.587, 0.114], np.float32)
ASPECT_TOLERANCE = 0.03  # a mask's width/height may differ from its picture's by this fraction (rounding)


def read_mask(path: str, max_pixels: float) -> np.ndarray:
    """A mask file as (H, W) float32 weights in 0..1."""
    return np.clip(images.load_image(path, max_pixels) @ LUMA / 255.0, 0.0, 1.0).astype(np.float32)


def _aspect(shape):
    return shape[1] / shape[0]


def check_aspect(name: str, mask_shape: Sequence[int], picture_shape: Sequence[int], what: str) -> None:
    """Refuse a mask whose aspect is not its picture's (``what`` names the picture)."""
    if abs(math.log(_aspect(mask_shape) / _aspect(picture_shape))) > math.log1p(ASPECT_TOLERANCE):
        raise NSTError(f"{name}: a mask of {mask_shape[0]}x{mask_shape[1]} (aspect {_aspect(mask_shape):.3g}) for "
                       f"{what} of {picture_shape[0]}x{picture_shape[1]} (aspect {_aspect(picture_shape):.3g}): "
                       "draw it over that picture, at any size of its aspect")


def fitted(mask: np.ndarray, path: str, picture_shape: Sequence[int], size: Sequence[int], what: str) -> np.ndarray:
    """``mask`` cropped and resized as its picture (of ``picture_shape``) is to ``size``; refused if the aspects
    differ (``what`` names the picture) or if nothing of it is left."""
    check_aspect(path, mask.shape, picture_shape, what)
    grey = np.repeat(mask[:, :, None] * 255.0, 3, axis=2)
    mask = images.resize_image(grey, size)[:, :, 0] / 255.0  # cropped to G's aspect, as its picture is
    if not np.any(mask > 0):
        raise NSTError(f"{path}: the mask is black everywhere: the style would apply nowhere")
    return np.clip(mask, 0.0, 1.0).astype(np.float32)


def _source_left(mask, path, layers, mode):
    """Refuse a source mask with nothing left at one of its style's layers (eroded away)."""
    for name, _ in layers:
        if guides.mass(guides.layer_mask(mask, name, mask.shape, mode)) == 0:
            raise NSTError(f"{path}: the source mask leaves nothing of the style at {name}"
                           + (" once eroded: widen it, or use --mask-mode resize" if mode == "eroded" else ""))


def folder_masks(path: str) -> List[str]:
    """The masks of a folder, one per frame in the order of their names; refused when it holds none."""
    names = sorted(n for n in os.listdir(path) if n.lower().endswith(IMAGE_EXTENSIONS + (".gif",)))
    if not names:
        raise NSTError(f"{path}: a folder of masks (one per frame) with no pictures in it")
    return [os.path.join(path, n) for n in names]


def g_mask(path: str, frame: Optional[int], content_shape, size, max_pixels) -> np.ndarray:
    """The G mask of ``path`` at ``size``: the file, or a folder's mask of ``frame`` (a video's)."""
    if os.path.isdir(path):
        if frame is None:
            raise NSTError(f"{path}: is a folder: a folder of masks, one per frame, is for nst video")
        files = folder_masks(path)
        if frame >= len(files):
            raise NSTError(f"{path}: {len(files)} masks, none for frame {frame} (one per frame is needed)")
        path = files[frame]
    return fitted(read_mask(path, max_pixels), path, content_shape, size, "a content")


def style_guides(config: RunConfig, content_shape: Sequence[int], style_shapes: Sequence[Sequence[int]],
                 size: Tuple[int, int], scaled: Tuple[int, int], frame: Optional[int] = None
                 ) -> Optional[List[StyleGuide]]:
    """The styles' guides at G's ``size`` and the styles' ``scaled`` size; None when no style has a control.

    ``content_shape`` and ``style_shapes`` are the pictures' shapes as read (their aspects the masks must
    have); ``frame`` is a video's first frame, where a folder gives one mask per frame.
    """
    count = len(style_shapes)
    if not (config.style_masks or config.style_source_masks or config.style_layer_sets):
        return None
    masks = config.style_masks or (NO_MASK,) * count
    sources = config.style_source_masks or (NO_MASK,) * count
    layer_sets = config.style_layer_sets or (None,) * count
    result = []
    for k in range(count):
        layers = layer_sets[k] or config.effective_style_layers()
        mask = None if masks[k] == NO_MASK else g_mask(masks[k], frame, content_shape, size, config.max_pixels)
        moving = masks[k] != NO_MASK and os.path.isdir(masks[k])
        source = None
        if sources[k] != NO_MASK:
            source = fitted(read_mask(sources[k], config.max_pixels), sources[k], style_shapes[k], scaled,
                            f"style image {k + 1}")
            _source_left(source, sources[k], layers, config.mask_mode)
        result.append(StyleGuide(mask, source, layer_sets[k] or None, masks[k] if moving else None, moving))
    return result


def mask_arrays(guide_list: Optional[Sequence[StyleGuide]]) -> List[np.ndarray]:
    """The mask arrays of a run, in order: what its fingerprint covers besides the pictures."""
    return [m for g in guide_list or () for m in (g.mask, g.source_mask) if m is not None]


def mask_files(config: RunConfig) -> List[str]:
    """The mask files of a run in the order of :func:`mask_arrays`."""
    count = max(len(config.style_masks), len(config.style_source_masks))
    masks = config.style_masks or (NO_MASK,) * count
    sources = config.style_source_masks or (NO_MASK,) * count
    return [p for pair in zip(masks, sources) for p in pair if p != NO_MASK]
