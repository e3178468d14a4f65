"""Colour preservation: YIQ, luminance recombination, colour-statistics matching, chroma distance."""
import numpy as np
import pytest

from nst.algorithm import colors


def photo(seed, shape=(20, 30)):
    rng = np.random.RandomState(seed)
    base = rng.uniform(40, 215, 3)  # a dominant colour, so images differ in colour
    return np.clip(base + rng.normal(0, 25, (*shape, 3)), 0, 255)


def test_yiq_of_primaries_and_round_trip():
    rgb = np.array([[[255.0, 0, 0], [255, 255, 255], [0, 0, 255]]])
    yiq = colors.rgb_to_yiq(rgb)
    np.testing.assert_allclose(yiq[0, 0], [0.299 * 255, 0.595716 * 255, 0.211456 * 255])
    np.testing.assert_allclose(yiq[0, 1], [255, 0, 0], atol=1e-3)  # white: no chroma
    np.testing.assert_allclose(colors.yiq_to_rgb(yiq), rgb, atol=1e-9)


def test_chroma_distance_by_hand():
    gray, red = np.full((4, 5, 3), 128.0), np.tile([255.0, 0, 0], (4, 5, 1))
    assert colors.chroma_distance(gray, red) == pytest.approx(255 * np.hypot(0.595716, 0.211456))
    assert colors.chroma_distance(red, red) == 0.0
    assert colors.chroma_distance(gray, np.full((4, 5, 3), 30.0)) == pytest.approx(0.0, abs=1e-9)  # luminance only


def test_recombine_takes_luminance_from_G_and_chroma_from_C():
    G, C = photo(1), photo(2)
    out = colors.recombine(G, C)
    y_out, y_g = colors.rgb_to_yiq(out)[:, :, 0], colors.rgb_to_yiq(G)[:, :, 0]
    inside = ((out > 0) & (out < 255)).all(axis=2)  # pixels that clipping did not touch
    assert inside.mean() > 0.9
    np.testing.assert_allclose(y_out[inside], y_g[inside], atol=1e-3)
    np.testing.assert_allclose(colors.rgb_to_yiq(out)[inside][:, 1:], colors.rgb_to_yiq(C)[inside][:, 1:], atol=1e-3)
    assert colors.chroma_distance(out, C) < 0.05 * colors.chroma_distance(G, C)


def test_luminance_images_are_gray_and_the_style_is_matched_to_C():
    C, S = photo(3), photo(4, (24, 16))
    gray = colors.luminance_image(C)
    np.testing.assert_array_equal(gray[:, :, 0], gray[:, :, 2])
    np.testing.assert_allclose(gray[:, :, 0], 0.299 * C[:, :, 0] + 0.587 * C[:, :, 1] + 0.114 * C[:, :, 2], atol=1e-4)
    matched = colors.matched_luminance_image(S, C)[:, :, 0].astype(np.float64)
    y_c = gray[:, :, 0].astype(np.float64)
    assert matched.mean() == pytest.approx(y_c.mean(), abs=0.05)
    assert matched.std() == pytest.approx(y_c.std(), rel=1e-3)


def test_color_statistics_matching_gives_C_mean_and_covariance():
    C, S = photo(5), photo(6, (24, 16))
    out = colors.match_color_statistics(S, C, clip=False).reshape(-1, 3)
    c = C.reshape(-1, 3)
    np.testing.assert_allclose(out.mean(axis=0), c.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(np.cov(out.T, bias=True), np.cov(c.T, bias=True), rtol=1e-7, atol=1e-7)
    assert colors.chroma_distance(colors.match_color_statistics(S, C)[:20, :16], C[:20, :16]) < \
        colors.chroma_distance(S[:20, :16], C[:20, :16])


def test_matching_a_gray_style_does_not_blow_up():
    gray = np.repeat(photo(7)[:, :, :1], 3, axis=2)
    out = colors.match_color_statistics(gray, photo(8))
    assert np.isfinite(out).all() and 0 <= out.min() and out.max() <= 255


def test_modes():
    C, S = photo(9), photo(10)
    assert colors.prepare_content(C, None) is C and colors.prepare_style(S, C, None) is S
    assert colors.output_transform(C, "histogram") is None
    np.testing.assert_array_equal(colors.output_transform(C, "luminance")(S), colors.recombine(S, C))
