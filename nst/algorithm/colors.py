"""Keeping the content's colours (Gatys et al. 2016, "Preserving color in neural artistic style transfer").

Two ways, each a value of ``nst train --preserve-colors``:

- ``luminance``: the transfer runs on luminance only. C and S become their Y
  channel (YIQ; S's Y matched to C's mean and standard deviation) repeated in
  R, G and B, and every image saved is G's Y with C's I and Q.
- ``histogram``: the style's colours are matched to the content's before its
  Gram targets are computed: x' = A (x - mu_S) + mu_C with
  A = Sigma_C^(1/2) Sigma_S^(-1/2), so S's RGB mean and covariance become C's.

:func:`chroma_distance` measures what is left of other colours: the mean
distance, per pixel, between two images' (I, Q) chroma, on the 0..255 scale.
All functions take and return float (H, W, 3) RGB on 0..255.
"""
from typing import Callable, Optional

import numpy as np

MODES = ("luminance", "histogram")
YIQ_FROM_RGB = np.array([[0.299, 0.587, 0.114],  # NTSC, as in Gatys et al. (2016)
                         [0.595716, -0.274453, -0.321263],
                         [0.211456, -0.522591, 0.311135]])
RGB_FROM_YIQ = np.linalg.inv(YIQ_FROM_RGB)
EPS = 1e-6


def rgb_to_yiq(pixels: np.ndarray) -> np.ndarray:
    return np.asarray(pixels, np.float64) @ YIQ_FROM_RGB.T


def yiq_to_rgb(yiq: np.ndarray) -> np.ndarray:
    return np.asarray(yiq, np.float64) @ RGB_FROM_YIQ.T


def _gray(luminance):
    """A luminance plane as an RGB image (Y in all three channels), clipped to 0..255."""
    return np.repeat(np.clip(luminance, 0, 255)[:, :, None], 3, axis=2).astype(np.float32)


def luminance_image(pixels: np.ndarray) -> np.ndarray:
    """The image's Y as a gray RGB image: what the network sees of C in luminance mode."""
    return _gray(rgb_to_yiq(pixels)[:, :, 0])


def matched_luminance_image(style: np.ndarray, content: np.ndarray) -> np.ndarray:
    """The style's Y shifted and scaled to the content's mean and std, as a gray RGB image."""
    y_s, y_c = rgb_to_yiq(style)[:, :, 0], rgb_to_yiq(content)[:, :, 0]
    return _gray((y_s - y_s.mean()) * (y_c.std() / max(y_s.std(), EPS)) + y_c.mean())


def recombine(generated: np.ndarray, content: np.ndarray) -> np.ndarray:
    """G's luminance with C's chroma (I, Q), back to RGB and clipped to 0..255."""
    yiq = rgb_to_yiq(content)
    yiq[:, :, 0] = rgb_to_yiq(generated)[:, :, 0]
    return np.clip(yiq_to_rgb(yiq), 0, 255).astype(np.float32)


def _sqrtm(cov, power):
    """cov^power of a symmetric positive semi-definite matrix, small eigenvalues clamped."""
    values, vectors = np.linalg.eigh(cov)
    return (vectors * np.maximum(values, EPS) ** power) @ vectors.T


def match_color_statistics(style: np.ndarray, content: np.ndarray, clip: bool = True) -> np.ndarray:
    """The style with its RGB mean and covariance replaced by the content's (module doc)."""
    s, c = (np.asarray(x, np.float64).reshape(-1, 3) for x in (style, content))
    mu_s, mu_c = s.mean(axis=0), c.mean(axis=0)
    A = _sqrtm(np.cov(c, rowvar=False, bias=True), 0.5) @ _sqrtm(np.cov(s, rowvar=False, bias=True), -0.5)
    out = ((s - mu_s) @ A.T + mu_c).reshape(np.shape(style))
    return np.clip(out, 0, 255).astype(np.float32) if clip else out


def chroma_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over pixels of |(I, Q)_a - (I, Q)_b|: 0 when two images have the same colours."""
    diff = rgb_to_yiq(a)[:, :, 1:] - rgb_to_yiq(b)[:, :, 1:]
    return float(np.sqrt((diff**2).sum(axis=2)).mean())


def prepare_content(content: np.ndarray, mode: Optional[str]) -> np.ndarray:
    """C as the network sees it: its luminance in luminance mode, else unchanged."""
    return luminance_image(content) if mode == "luminance" else content


def prepare_style(style: np.ndarray, content: np.ndarray, mode: Optional[str]) -> np.ndarray:
    """S as the network sees it, given C at G's size (``content``) and the mode."""
    if mode == "luminance":
        return matched_luminance_image(style, content)
    if mode == "histogram":
        return match_color_statistics(style, content)
    return style


def output_transform(content: np.ndarray, mode: Optional[str]) -> Optional[Callable[[np.ndarray], np.ndarray]]:
    """What turns G's pixels into the saved picture: recombination in luminance mode, else None."""
    if mode != "luminance":
        return None
    return lambda pixels: recombine(pixels, content)
