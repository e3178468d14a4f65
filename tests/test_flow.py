"""Optical flow, warping and the reliability weights (nst.flow), against known geometry."""
import numpy as np
import pytest

from helpers import require

cv2 = require("cv2")  # the test extra (opencv-python-headless): missing, these tests fail
from nst.video.flow import optical_flow, reliability, short_term_error, warp  # noqa: E402


def texture(shape=(96, 128), seed=0):
    """A smooth random RGB picture on 0..255: enough detail at every scale for a flow to lock onto."""
    rng = np.random.RandomState(seed)
    base = rng.uniform(0, 255, (shape[0] // 4, shape[1] // 4, 3)).astype(np.float32)
    fine = cv2.resize(base, (shape[1], shape[0]), interpolation=cv2.INTER_CUBIC)
    return np.clip(cv2.GaussianBlur(fine, (0, 0), 1.0), 0, 255)


def test_the_flow_recovers_a_known_pan_to_within_a_pixel():
    scene = texture((112, 148))
    dx, dy = 3, 2  # the camera moves right 3 px and down 2 px: the scene moves left and up in the frame
    a = scene[8:8 + 96, 8:8 + 128]
    b = scene[8 + dy:8 + dy + 96, 8 + dx:8 + dx + 128]
    inner = (slice(12, -12), slice(12, -12))
    backward = optical_flow(b, a)  # b(p) = a(p + (dx, dy))
    assert np.abs(backward[inner][..., 0] - dx).max() < 1.0
    assert np.abs(backward[inner][..., 1] - dy).max() < 1.0
    forward = optical_flow(a, b)
    assert np.abs(forward[inner] + [dx, dy]).max() < 1.0
    # warping a by the flow gives b, up to the interpolation of a smooth picture
    assert np.abs(warp(a, backward)[inner] - b[inner]).mean() < 2.0


def test_warp_samples_bilinearly_at_p_plus_the_flow():
    image = np.random.RandomState(1).uniform(0, 255, (20, 24, 3)).astype(np.float32)
    flow = np.zeros((20, 24, 2), np.float32)
    flow[..., 0], flow[..., 1] = 1.25, -0.5
    out = warp(image, flow)
    y, x = 10, 12  # reads (x + 1.25, y - 0.5): a bilinear mix of four neighbours, in float64
    img = image.astype(np.float64)
    top = 0.75 * img[y - 1, x + 1] + 0.25 * img[y - 1, x + 2]
    bottom = 0.75 * img[y, x + 1] + 0.25 * img[y, x + 2]
    np.testing.assert_allclose(out[y, x], 0.5 * top + 0.5 * bottom, atol=0.05)


def square_flows(shape=(40, 50), top=10, left=10, side=12, d=6):
    """Flows of a square moving ``d`` px right over a still background: (forward i-1 -> i, backward i -> i-1)."""
    forward, backward = np.zeros((*shape, 2), np.float32), np.zeros((*shape, 2), np.float32)
    forward[top:top + side, left:left + side, 0] = d
    backward[top:top + side, left + d:left + d + side, 0] = -d
    return forward, backward


def test_reliability_is_zero_where_the_moving_square_uncovered_the_background_and_one_elsewhere():
    top, left, side, d = 10, 10, 12, 6
    c = reliability(*square_flows(top=top, left=left, side=side, d=d))
    rows = slice(top + 1, top + side - 1)
    uncovered = c[rows, left + 1:left + d - 1]  # background in frame i, under the square in frame i-1
    assert uncovered.max() == 0
    assert c[rows, left + d + 2:left + side + d - 2].min() == 1  # the square's inside: moved consistently
    assert c[rows, left + side + d - 1].max() == 0  # its leading edge: a motion boundary
    assert c[30:, :].min() == 1 and c[:, 35:].min() == 1  # still background away from it


def test_reliability_from_real_flows_masks_the_disoccluded_region():
    background = texture((96, 128), seed=2)
    square = texture((30, 30), seed=3)[::-1] * 0.5 + 100
    frames = []
    for x in (30, 40):  # the square moves 10 px right
        frame = background.copy()
        frame[30:60, x:x + 30] = square
        frames.append(frame)
    c = reliability(optical_flow(*frames), optical_flow(frames[1], frames[0]))
    assert c[34:56, 32:38].mean() < 0.2  # uncovered by the square
    assert c[70:, :].mean() > 0.95 and c[:20, :].mean() > 0.95  # still background


def test_the_short_term_error_counts_reliable_pixels_only():
    previous = np.full((8, 10, 3), 100.0)
    output = previous.copy()
    output[:, :5] += 4.0  # a change of 4 on the left half
    weights = np.zeros((8, 10), np.float32)
    weights[:, 3:7] = 1  # half of the reliable columns changed
    still = np.zeros((8, 10, 2), np.float32)
    assert short_term_error(output, previous, still, weights) == pytest.approx(16.0 * 2 / 4)
