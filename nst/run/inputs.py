"""The pictures of a run as the network sees them, and G's first value.

C is resized to G's size, each style image to G's size times the style scale,
and both go through the colour preservation mode (``nst.colors``); C keeps its
colours beside, as the target of that mode. G starts as the paper's noise +
content mix unless the configuration names another start.
"""
from typing import Any, NamedTuple

import numpy as np

from nst.algorithm import colors, images
from nst.errors import NSTError

START_KEYWORDS = ("mix", "content", "noise", "style", "gaussian")  # starts that need no picture of their own


class Inputs(NamedTuple):
    """The pictures of a run at the network's sizes, on 0..255, and their names."""

    content: Any  # C as the network sees it (its luminance in luminance mode)
    styles: list  # S_k as the network sees them, at G's size times the style scale
    original: Any  # C with its colours, at G's size: what colour preservation aims at
    init: Any  # G's start picture for --init style|PATH, else None
    content_name: str
    style_names: list


def target_size(config, content_shape):
    """G's (height, width): the configured size (cropped to), else the content's aspect with the
    configured longer side, else with the course's width of 400 px as the longer side (nothing cut)."""
    if config.size:
        return config.size
    side = config.max_side or images.DEFAULT_MAX_SIDE
    try:
        return images.fit_max_side(content_shape, side)
    except NSTError as exc:  # a narrow content: its shorter side falls under the minimum
        raise NSTError(f"{{option}} {side}: with the content's aspect kept, {exc}; raise it", "max_side") from None


def style_size(size, scale):
    """The style images' size: G's times the style scale (same aspect)."""
    if max(size) * scale > images.MAX_SIDE:  # before rounding: 1e308 times a size is infinity
        raise NSTError(f"{{option}} {scale:g}: style images would be {max(size) * scale:.3g} px on their longer "
                       f"side, over {images.MAX_SIDE} px", "style_scale")
    scaled = (round(size[0] * scale), round(size[1] * scale))
    if min(scaled) < images.MIN_SIDE:
        raise NSTError(f"{{option}} {scale:g}: style images would be {scaled[0]}x{scaled[1]}, "
                       f"under {images.MIN_SIDE} px on a side", "style_scale")
    return scaled


def _start_picture(path, max_pixels):
    try:
        return images.load_image(path, max_pixels)
    except NSTError as exc:
        raise NSTError(f"{{option}}: {exc} (or start from {', '.join(START_KEYWORDS)})", "init") from None


def read_pictures(config, content=None):
    """The files a run reads, as loaded: (content, styles, start picture or None, content name).

    ``content`` is (picture, name) when the content is not a file of the configuration (a video's frame).
    """
    if content is None:
        content = (images.load_image(config.content, config.max_pixels), config.content) if config.content \
            else images.default_content_image()
    content, content_name = content
    styles = [images.load_image(path, config.max_pixels) for path in config.style]
    start = _start_picture(config.init_image, config.max_pixels) if config.init == "image" else None
    return content, styles, start, content_name


def read_inputs(config, pictures, size, scaled):
    """The pictures of a run as :class:`Inputs`: resized, colour mode applied; the default style painted."""
    content, styles, start, content_name = pictures
    if styles:
        style_names = list(config.style)
    else:
        painted, name = images.default_style_image(scaled)
        styles, style_names = [painted], [name]
    return network_inputs((content, styles, content_name, style_names), size, scaled, config.preserve_colors,
                          config.init, start)


def network_inputs(loaded, size, scaled, mode, init, init_picture=None):
    """Resize C, the styles and the start picture; apply the colour ``mode`` to what the network sees.

    ``loaded`` is (content, styles, content name, style names) as read from
    disk; ``init`` the start's kind and ``init_picture`` its picture, if any.
    """
    content, styles, content_name, style_names = loaded
    seen, original = content_inputs(content, size, mode)
    if init == "style":
        start = colors.prepare_style(images.resize_image(styles[0], size), original, mode)
    else:
        start = None if init_picture is None else images.resize_image(init_picture, size)
    prepared = [colors.prepare_style(images.resize_image(s, scaled), original, mode) for s in styles]
    return Inputs(seen, prepared, original, start, content_name, style_names)


def content_inputs(content, size, mode):
    """(C as the network sees it, C with its colours), both at G's size: one frame's or one image's."""
    original = images.resize_image(content, size)
    return colors.prepare_content(original, mode), original


GAUSSIAN_STD = 0.001  # jcjohnson/neural-style's -init random: torch.randn(...):mul(0.001)


def gaussian_noise_image(shape, std=GAUSSIAN_STD, seed=None):
    """A normalised G of i.i.d. N(0, std^2) values: the mean pixel plus faint noise, whatever C is.

    jcjohnson/neural-style's ``-init random``: std 0.001 on its mean-subtracted
    pixel scale (0..256 there, 0..255 here); its BGR order does not change an i.i.d. draw.
    """
    return (np.random.RandomState(seed).standard_normal(shape) * std).astype(np.float32)


def initial_image(init, C, start, mean_pixel, seed=None, noise_ratio=0.6, init_std=GAUSSIAN_STD):
    """G's first value, normalised: the paper's noise + C mix ("mix") unless ``init`` says otherwise.

    ``init_std`` is the standard deviation of the "gaussian" start, and used by it only.
    """
    if init == "gaussian":
        return gaussian_noise_image(np.shape(C), init_std, seed)
    if init == "content":
        return C
    if init == "noise":
        return images.generate_noise_image(C, 1.0, seed)
    if start is not None:
        return images.reshape_and_normalize_image(start, mean_pixel)
    return images.generate_noise_image(C, noise_ratio, seed)
