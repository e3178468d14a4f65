"""Loading every kind of image as RGB, resizing, normalising, the noise init, atomic saving."""
import os

import imageio.v3 as iio
import numpy as np
import pytest

from nst.algorithm import images
from nst.errors import NSTError


def write(path, pixels):
    iio.imwrite(path, pixels)
    return str(path)


def test_grayscale_becomes_three_equal_channels(tmp_path):
    gray = np.arange(48 * 40, dtype=np.uint8).reshape(48, 40)
    image = images.load_image(write(tmp_path / "g.png", gray))
    assert image.shape == (48, 40, 3) and image.dtype == np.float32
    for c in range(3):
        np.testing.assert_array_equal(image[:, :, c], gray)


def test_alpha_is_dropped(tmp_path):
    rgba = np.random.RandomState(0).randint(0, 256, (40, 40, 4)).astype(np.uint8)
    image = images.load_image(write(tmp_path / "a.png", rgba))
    np.testing.assert_array_equal(image, rgba[:, :, :3])


def test_sixteen_bit_is_scaled_to_0_255(tmp_path):
    deep = np.full((40, 40), 65535, np.uint16)
    deep[0, 0] = 0
    image = images.load_image(write(tmp_path / "d.png", deep))
    assert image.max() == pytest.approx(255.0) and image.min() == 0.0


def test_jpeg_round_trip(tmp_path):
    rgb = np.full((40, 50, 3), (200, 100, 50), np.uint8)
    image = images.load_image(write(tmp_path / "c.jpg", rgb))
    np.testing.assert_allclose(image, rgb, atol=3)


@pytest.mark.parametrize("make,fragment", [
    (lambda p: None, "no such image file"),
    (lambda p: p.write_bytes(b""), "empty file"),
    (lambda p: p.write_text("this is not a picture"), "not a readable image"),
])
def test_bad_files_name_file_and_problem(tmp_path, make, fragment):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(NSTError, match=fragment) as info:
        images.load_image(str(path))
    assert str(path) in str(info.value)


def test_truncated_image(tmp_path):
    good = tmp_path / "good.png"
    iio.imwrite(good, np.random.RandomState(0).randint(0, 256, (64, 64, 3)).astype(np.uint8))
    cut = tmp_path / "cut.png"
    cut.write_bytes(good.read_bytes()[:300])
    with pytest.raises(NSTError, match="not a readable image"):
        images.load_image(str(cut))


def test_too_small_image(tmp_path):
    with pytest.raises(NSTError, match="smaller than 32 px"):
        images.load_image(write(tmp_path / "s.png", np.zeros((31, 100, 3), np.uint8)))


def test_sizes():
    assert images.parse_size("300x400") == (300, 400)
    assert images.fit_max_side((600, 512), 256) == (256, 218)
    assert images.fit_max_side((100, 200), 64) == (32, 64)
    for bad in ("300", "axb", "20x400"):
        with pytest.raises(NSTError):
            images.parse_size(bad)


def test_resize_crops_to_the_aspect_instead_of_stretching():
    image = np.zeros((100, 300, 3), np.float32)
    image[:, 100:200] = 255.0  # a white centre square between black side bands
    out = images.resize_image(image, (50, 50))
    assert out.shape == (50, 50, 3)
    assert out.min() > 250  # the side bands were cropped away, not squeezed in
    assert images.resize_image(image, (50, 150), crop=False).shape == (50, 150, 3)


def test_normalise_and_back():
    pixels = np.random.RandomState(1).randint(0, 256, (8, 9, 3)).astype(np.float32)
    x = images.reshape_and_normalize_image(pixels, images.VGG_MEAN)
    assert x.shape == (1, 8, 9, 3)
    np.testing.assert_allclose(x[0, 2, 3], pixels[2, 3] - images.VGG_MEAN)
    np.testing.assert_array_equal(images.to_pixels(x), pixels.astype(np.uint8))


def test_noise_image_is_the_seed_formula():
    content = np.random.RandomState(2).randn(1, 6, 7, 3).astype(np.float32) * 50
    G = images.generate_noise_image(content, 0.6, seed=5)
    noise = np.random.RandomState(5).uniform(-20, 20, content.shape)
    np.testing.assert_allclose(G, noise * 0.6 + content * 0.4, rtol=1e-5, atol=1e-4)
    np.testing.assert_array_equal(G, images.generate_noise_image(content, 0.6, seed=5))
    np.testing.assert_allclose(images.generate_noise_image(content, 0.0, seed=5), content)
    assert np.abs(images.generate_noise_image(content, 1.0, seed=5)).max() <= 20


def test_save_is_atomic_and_lossless(tmp_path):
    x = images.reshape_and_normalize_image(np.random.RandomState(3).randint(0, 256, (33, 35, 3)))
    path = tmp_path / "out.png"
    path.write_bytes(b"old")
    images.save_image(str(path), x)
    np.testing.assert_array_equal(images.load_image(str(path)), images.to_pixels(x))
    assert os.listdir(tmp_path) == ["out.png"]


def test_failed_write_keeps_the_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    path.write_bytes(b"previous")

    def broken_fsync(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(OSError):
        images.write_atomic(str(path), b"new data")
    assert path.read_bytes() == b"previous" and os.listdir(tmp_path) == ["out.png"]


def test_default_images_need_no_download():
    content, name = images.default_content_image()
    assert content.shape == (600, 512, 3) and "grace_hopper" in name
    style, _ = images.default_style_image((64, 80))
    assert style.shape == (64, 80, 3) and 0 <= style.min() and style.max() <= 255
    assert style.std() > 30  # a real texture, not a flat colour
