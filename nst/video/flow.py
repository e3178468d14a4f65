"""Optical flow between frames, warping by it, and where it can be trusted (Ruder et al., 2016).

A flow ``w`` from frame a to frame b gives, for each pixel p of a, the
displacement to where p's content is in b: ``a(p) ~ b(p + w(p))``. Warping
the previous stylised frame into frame i therefore uses the flow from frame i
back to frame i-1 (``warp(x_prev, flow(frame_i, frame_prev))``). The flow is
OpenCV's DIS optical flow (dense, fast on a CPU, in the wheel).

The reliability weights c are 1 where the warped previous frame is a fair
target and 0 where it is not, with the paper's two tests on the pixels of
frame i, given the backward flow b (i -> i-1) and the forward flow f (i-1 -> i)
warped to frame i, f~(p) = f(p + b(p)):

* disocclusion: |f~ + b|^2 > 0.01 (|f~|^2 + |b|^2) + 0.5 (the round trip does
  not come back: the pixel was hidden in frame i-1);
* motion boundary: |grad b_u|^2 + |grad b_v|^2 > 0.01 |b|^2 + 0.002.
"""
import cv2
import numpy as np

DISOCCLUSION = (0.01, 0.5)  # |f~ + b|^2 > a (|f~|^2 + |b|^2) + b
MOTION_BOUNDARY = (0.01, 0.002)  # |grad b_u|^2 + |grad b_v|^2 > a |b|^2 + b


def _gray(frame):
    """uint8 luminance of an (H, W, 3) frame on 0..255: what DIS reads."""
    pixels = np.clip(np.rint(np.asarray(frame, np.float32)), 0, 255).astype(np.uint8)
    return cv2.cvtColor(pixels, cv2.COLOR_RGB2GRAY)


def optical_flow(a, b):
    """(H, W, 2) float32 flow (dx, dy) from frame ``a`` to frame ``b``: a(p) ~ b(p + flow(p))."""
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    return dis.calc(_gray(a), _gray(b), None)


def warp(image, flow):
    """``image`` (H, W, C) sampled at p + flow(p), bilinear; outside the frame the border is repeated."""
    height, width = flow.shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    source = np.asarray(image, np.float32)
    warped = cv2.remap(source, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                       borderMode=cv2.BORDER_REPLICATE)
    return warped.reshape(source.shape)


def _squared_norm(v):
    return v[..., 0] ** 2 + v[..., 1] ** 2


def reliability(forward, backward):
    """The weights c (H, W) float32 on frame i's pixels: 0 at disocclusions and motion boundaries, else 1.

    ``forward`` is the flow i-1 -> i, ``backward`` the flow i -> i-1.
    """
    forward_warped = warp(forward, backward)
    a, b = DISOCCLUSION
    round_trip = _squared_norm(forward_warped + backward)
    disoccluded = round_trip > a * (_squared_norm(forward_warped) + _squared_norm(backward)) + b
    gradient = sum(g ** 2 for channel in (backward[..., 0], backward[..., 1]) for g in np.gradient(channel))
    a, b = MOTION_BOUNDARY
    boundary = gradient > a * _squared_norm(backward) + b
    return (~(disoccluded | boundary)).astype(np.float32)


def flow_pair(previous, current):
    """(flow current -> previous, its reliability weights c): what warping previous into current needs."""
    backward = optical_flow(current, previous)
    return backward, reliability(optical_flow(previous, current), backward)


def short_term_error(output, previous_output, backward, weights):
    """Ruder et al.'s short-term consistency error: mean squared difference of ``output`` and
    ``previous_output`` warped by ``backward`` over the reliable pixels (per value, 0..255 scale)."""
    warped = warp(previous_output, backward).astype(np.float64)
    difference = np.sum((np.asarray(output, np.float64) - warped) ** 2, axis=-1)
    channels = np.shape(output)[-1]
    return float(np.sum(weights * difference) / max(np.sum(weights) * channels, 1.0))
