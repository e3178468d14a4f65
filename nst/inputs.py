"""The pictures of a run as the network sees them, and G's first value.

C is resized to G's size, each style image to G's size times the style scale,
and both go through the colour preservation mode (``nst.colors``); C keeps its
colours beside, as the target of that mode. G starts as the seed's noise +
content mix unless ``--init`` names another start.
"""
from typing import Any, NamedTuple

from nst import colors, images
from nst.errors import NSTError

NOISE_RATIO = 0.6  # the seed's
INIT_KEYWORDS = ("content", "noise", "style")


class Inputs(NamedTuple):
    """The pictures of a run at the network's sizes, on 0..255, and their names."""

    content: Any  # C as the network sees it (its luminance in luminance mode)
    styles: list  # S_k as the network sees them, at G's size times the style scale
    original: Any  # C with its colours, at G's size: what colour preservation aims at
    init: Any  # G's start picture for --init style|PATH, else None
    content_name: str
    style_names: list


def style_size(size, scale):
    """The style images' size: G's times --style-scale (same aspect)."""
    scaled = (round(size[0] * scale), round(size[1] * scale))
    if min(scaled) < images.MIN_SIDE:
        raise NSTError(f"--style-scale {scale:g}: style images would be {scaled[0]}x{scaled[1]}, "
                       f"under {images.MIN_SIDE} px on a side")
    return scaled


def read_init(init):
    """The --init image file as loaded, or None for the keywords and the default."""
    if init is None or init in INIT_KEYWORDS:
        return None
    try:
        return images.load_image(init)
    except NSTError as exc:
        raise NSTError(f"--init: {exc} (or use {', '.join(INIT_KEYWORDS)})") from None


def network_inputs(loaded, size, scaled, mode, init, init_picture=None):
    """Resize C, the styles and the start picture; apply the colour ``mode`` to what the network sees.

    ``loaded`` is (content, styles, content name, style names) as read from
    disk; ``init`` the --init option and ``init_picture`` its file as read by
    :func:`read_init`.
    """
    content, styles, content_name, style_names = loaded
    original = images.resize_image(content, size)
    if init == "style":
        start = colors.prepare_style(images.resize_image(styles[0], size), original, mode)
    else:
        start = None if init_picture is None else images.resize_image(init_picture, size)
    prepared = [colors.prepare_style(images.resize_image(s, scaled), original, mode) for s in styles]
    return Inputs(colors.prepare_content(original, mode), prepared, original, start, content_name, style_names)


def initial_image(init, C, start, mean_pixel, seed=None, noise_ratio=None):
    """G's first value, normalised: the seed's noise + C mix unless ``init`` says otherwise."""
    if init == "content":
        return C
    if init == "noise":
        return images.generate_noise_image(C, 1.0, seed)
    if start is not None:
        return images.reshape_and_normalize_image(start, mean_pixel)
    return images.generate_noise_image(C, NOISE_RATIO if noise_ratio is None else noise_ratio, seed)
