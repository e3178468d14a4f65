"""load_image reads every file as a viewer shows it: each Pillow mode by its real range,
EXIF orientation, the first frame, a header-checked pixel limit, and no blocking on odd paths.

Every expected value is computed here with numpy from the pixels written.
"""
import os
import stat
import threading
import time

import numpy as np
import pytest
from PIL import Image, ImageFile, features

from nst.algorithm import images
from nst.errors import NSTError

H, W = 40, 48  # over MIN_SIDE, and not square, so a rotation shows


def pattern(channels=3, seed=0, high=256, dtype=np.uint8, shape=(H, W)):
    """Random pixels: every position distinct enough that a flip or rotation is caught."""
    size = shape + ((channels,) if channels > 1 else ())
    return np.random.RandomState(seed).randint(0, high, size).astype(dtype)


def save(tmp_path, name, image, **options):
    path = str(tmp_path / name)
    image.save(path, **options)
    return path


def grey_to_rgb(a):
    return np.repeat(np.asarray(a, np.float64)[:, :, None], 3, axis=2)


def expect_error(path, message, **options):
    """load_image fails with exactly ``message``, on one line."""
    with pytest.raises(NSTError) as info:
        images.load_image(str(path), **options)
    assert str(info.value) == message and "\n" not in message


# --- 8-bit modes ---------------------------------------------------------------------------

def test_grey_L(tmp_path):
    grey = pattern(1)
    image = images.load_image(save(tmp_path, "l.png", Image.fromarray(grey)))
    assert image.dtype == np.float32 and image.shape == (H, W, 3)
    np.testing.assert_array_equal(image, grey_to_rgb(grey))


def test_one_bit(tmp_path):
    bits = pattern(1, high=2).astype(bool)
    picture = Image.fromarray(bits)
    assert picture.mode == "1"
    image = images.load_image(save(tmp_path, "b.png", picture))
    np.testing.assert_array_equal(image, grey_to_rgb(bits * 255.0))


def test_grey_with_alpha_LA_drops_alpha(tmp_path):
    la = pattern(2, seed=1)
    path = save(tmp_path, "la.png", Image.fromarray(la, "LA"))
    assert Image.open(path).mode == "LA"
    np.testing.assert_array_equal(images.load_image(path), grey_to_rgb(la[:, :, 0]))


def palette_image(seed=2):
    """A 'P' image and the RGB it stands for: 16 random palette colours."""
    rng = np.random.RandomState(seed)
    palette = rng.randint(0, 256, (16, 3)).astype(np.uint8)
    index = rng.randint(0, 16, (H, W)).astype(np.uint8)
    picture = Image.fromarray(index, "P")
    picture.putpalette(palette.ravel().tolist())
    return picture, palette[index]


@pytest.mark.parametrize("name", ["p.png", "p.gif", "p.bmp"])
def test_palette_P(tmp_path, name):
    picture, rgb = palette_image()
    path = save(tmp_path, name, picture)
    assert Image.open(path).mode == "P"
    np.testing.assert_array_equal(images.load_image(path), rgb)


@pytest.mark.parametrize("name", ["t.png", "t.gif"])
def test_palette_with_transparency_gives_the_palette_colour(tmp_path, name):
    picture, rgb = palette_image(seed=3)
    path = save(tmp_path, name, picture, transparency=5)  # index 5 transparent: its colour is kept
    opened = Image.open(path)
    assert opened.mode == "P" and opened.info.get("transparency") == 5
    np.testing.assert_array_equal(images.load_image(path), rgb)


@pytest.mark.parametrize("mode", ["PA", "RGBX", "RGBa", "La"])
def test_modes_no_file_writer_makes(mode):
    """Modes only a decoder builds in memory: premultiplied alpha is undone, then alpha dropped."""
    raw = pattern(len(mode) if mode != "RGBX" else 4, seed=4)
    if mode in ("RGBa", "La"):
        raw[..., -1] = np.maximum(raw[..., -1], 1)
        raw[..., :-1] = np.minimum(raw[..., :-1], raw[..., -1:])  # premultiplied: colour <= alpha
    picture = Image.frombytes(mode, (W, H), raw.tobytes())
    if mode == "PA":
        palette = pattern(3, seed=5, shape=(256,))
        picture.putpalette(palette.ravel().tolist())
        want = palette[raw[:, :, 0]].astype(np.float64)
    elif mode == "RGBX":
        want = raw[:, :, :3].astype(np.float64)
    else:
        colour, alpha = raw[..., :-1].astype(np.float64), raw[..., -1:].astype(np.float64)
        want = colour * 255 / alpha
        want = want if mode == "RGBa" else np.repeat(want, 3, axis=2)
    got = images._rgb_pixels("mem", picture)
    np.testing.assert_allclose(got, want, atol=1.0)  # Pillow unpremultiplies in integers


def tiff_with_extra_sample(tmp_path, name, rgba, kind):
    """An uncompressed RGBA TIFF whose ExtraSamples tag (338) says ``kind``: 0 unspecified, 1 premultiplied."""
    path = tmp_path / name
    Image.fromarray(rgba, "RGBA").save(path)
    entry = b"\x52\x01\x03\x00\x01\x00\x00\x00\x02\x00"  # tag 338, SHORT, count 1, value 2
    data = path.read_bytes()
    assert data[:2] == b"II" and data.count(entry) == 1
    path.write_bytes(data.replace(entry, entry[:8] + bytes([kind, 0])))
    return str(path)


def test_rgba_drops_alpha_without_compositing(tmp_path):
    rgba = pattern(4, seed=6)
    rgba[0, 0, 3] = 0  # fully transparent keeps its colour: alpha is dropped, not composited
    np.testing.assert_array_equal(images.load_image(save(tmp_path, "a.png", Image.fromarray(rgba))),
                                  rgba[:, :, :3])


def test_tiff_extra_samples(tmp_path):
    rgba = pattern(4, seed=7)
    rgba[..., 3] = np.maximum(rgba[..., 3], 1)
    rgba[..., :3] = np.minimum(rgba[..., :3], rgba[..., 3:])
    unspecified = tiff_with_extra_sample(tmp_path, "x.tif", rgba, 0)
    np.testing.assert_array_equal(images.load_image(unspecified), rgba[:, :, :3])
    premultiplied = tiff_with_extra_sample(tmp_path, "p.tif", rgba, 1)
    want = rgba[..., :3].astype(np.float64) * 255 / rgba[..., 3:]
    np.testing.assert_allclose(images.load_image(premultiplied), want, atol=1.0)


# --- CMYK and YCbCr --------------------------------------------------------------------------

def cmyk_to_rgb(cmyk):
    c, m, y, k = (np.asarray(cmyk, np.float64)[..., i] / 255 for i in range(4))
    return np.stack([255 * (1 - c) * (1 - k), 255 * (1 - m) * (1 - k), 255 * (1 - y) * (1 - k)], axis=-1)


COLOURS = {"red": (0, 255, 255, 0), "green": (255, 0, 255, 0), "blue": (255, 255, 0, 0),
           "dark orange": (0, 128, 255, 64), "grey": (0, 0, 0, 128)}


@pytest.mark.parametrize("colour", COLOURS)
def test_cmyk_jpeg_is_not_inverted(tmp_path, colour):
    """Pillow writes Adobe (inverted) CMYK JPEGs; reading one back gives the colour, not its negative."""
    cmyk = COLOURS[colour]
    path = save(tmp_path, "c.jpg", Image.new("CMYK", (W, H), cmyk), quality=95)
    opened = Image.open(path)
    assert opened.mode == "CMYK" and "adobe" in opened.info
    image = images.load_image(path)
    want = cmyk_to_rgb(cmyk)
    np.testing.assert_allclose(image, np.broadcast_to(want, image.shape), atol=3)
    if colour == "red":
        assert image[..., 0].min() > 250 and image[..., 1:].max() < 5


def test_cmyk_tiff(tmp_path):
    cmyk = pattern(4, seed=8)
    path = save(tmp_path, "c.tif", Image.fromarray(cmyk, "CMYK"))
    np.testing.assert_allclose(images.load_image(path), cmyk_to_rgb(cmyk), atol=1.0)


def test_ycbcr_tiff(tmp_path):
    ycc = pattern(3, seed=9)
    path = save(tmp_path, "y.tif", Image.frombytes("YCbCr", (W, H), ycc.tobytes()))
    assert Image.open(path).tag_v2[262] == 6  # PhotometricInterpretation: YCbCr
    try:
        Image.open(path).load()
    except OSError:  # Pillow 12 decodes it through libtiff and fails: then one clear line, no crash
        with pytest.raises(NSTError, match=r"y\.tif: not a readable image"):
            images.load_image(path)
        return
    y, cb, cr = (ycc[..., i].astype(np.float64) for i in range(3))
    want = np.stack([y + 1.402 * (cr - 128), y - 0.344136 * (cb - 128) - 0.714136 * (cr - 128),
                     y + 1.772 * (cb - 128)], axis=-1)  # JFIF
    np.testing.assert_allclose(images.load_image(path), np.clip(want, 0, 255), atol=1.0)


# --- 16-bit, 32-bit, float ---------------------------------------------------------------------

@pytest.mark.parametrize("name,mode", [("d.png", "I;16"), ("d.tif", "I;16"), ("d.tif", "I;16B")])
def test_sixteen_bit(tmp_path, name, mode):
    deep = pattern(1, seed=10, high=65536, dtype=np.uint16)
    picture = Image.frombytes(mode, (W, H), deep.astype(">u2" if mode.endswith("B") else "<u2").tobytes())
    path = save(tmp_path, name, picture)
    assert Image.open(path).mode == mode
    np.testing.assert_allclose(images.load_image(path), grey_to_rgb(deep / 257.0), rtol=1e-6)


@pytest.mark.parametrize("high,scale", [(256, 1.0), (65536, 257.0), (2**31 - 1, (2**31 - 1) / 255.0)])
def test_thirty_two_bit_integer_by_its_range(tmp_path, high, scale):
    """Mode I: max <= 255 is 8-bit data, <= 65535 is 16-bit, beyond is the signed 32-bit range."""
    data = pattern(1, seed=11, high=high, dtype=np.int64).astype(np.int32)
    data[0, 0], data[0, 1] = high - 1, -5  # the peak that sets the range; negatives read as 0
    path = save(tmp_path, "i.tif", Image.fromarray(data))
    assert Image.open(path).mode == "I"
    want = np.clip(data / scale, 0, 255)
    np.testing.assert_allclose(images.load_image(path), grey_to_rgb(want), rtol=1e-6, atol=1e-4)


def test_sixteen_bit_data_in_32_bits_maps_like_16_bit(tmp_path):
    data = np.full((H, W), 257 * 200, np.int32)
    data[0, 0] = 65535
    got = images.load_image(save(tmp_path, "i.tif", Image.fromarray(data)))
    assert got[1, 1, 0] == pytest.approx(200.0) and got[0, 0, 0] == pytest.approx(255.0)


def test_float_zero_to_one_is_scaled(tmp_path):
    data = np.random.RandomState(12).uniform(0, 1, (H, W)).astype(np.float32)
    got = images.load_image(save(tmp_path, "f.tif", Image.fromarray(data)))
    np.testing.assert_allclose(got, grey_to_rgb(data * 255.0), rtol=1e-6)


def test_float_beyond_one_is_clipped_to_0_255(tmp_path):
    data = np.random.RandomState(13).uniform(-50, 400, (H, W)).astype(np.float32)
    got = images.load_image(save(tmp_path, "f.tif", Image.fromarray(data)))
    np.testing.assert_allclose(got, grey_to_rgb(np.clip(data, 0, 255)), rtol=1e-6)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_pixels_are_refused(tmp_path, bad):
    data = np.full((H, W), 0.5, np.float32)
    data[3, 4] = bad
    path = save(tmp_path, "f.tif", Image.fromarray(data))
    expect_error(path, f"{path}: image has NaN or infinite pixel values")


# --- EXIF orientation ------------------------------------------------------------------------

SHOWN = {  # what a viewer displays for each EXIF orientation of the stored pixels a
    1: lambda a: a,
    2: lambda a: a[:, ::-1],
    3: lambda a: a[::-1, ::-1],
    4: lambda a: a[::-1],
    5: lambda a: a.transpose(1, 0, 2),
    6: lambda a: np.rot90(a, -1),  # stored landscape, shown turned clockwise: a portrait phone photo
    7: lambda a: a[::-1, ::-1].transpose(1, 0, 2),
    8: lambda a: np.rot90(a, 1),
}


def with_orientation(orientation):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return exif


@pytest.mark.parametrize("orientation", sorted(SHOWN))
def test_exif_orientation_png(tmp_path, orientation):
    rgb = pattern(3, seed=14)
    path = save(tmp_path, "o.png", Image.fromarray(rgb), exif=with_orientation(orientation))
    np.testing.assert_array_equal(images.load_image(path), SHOWN[orientation](rgb))


@pytest.mark.parametrize("orientation", [6, 8])
def test_portrait_phone_jpeg_comes_out_portrait(tmp_path, orientation):
    rgb = np.zeros((64, 96, 3), np.uint8)  # landscape as stored: four flat quadrants
    rgb[:32, :48], rgb[:32, 48:], rgb[32:, :48], rgb[32:, 48:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0)
    path = save(tmp_path, "phone.jpg", Image.fromarray(rgb), quality=95, exif=with_orientation(orientation))
    image = images.load_image(path)
    want = SHOWN[orientation](rgb)
    assert image.shape == (96, 64, 3)
    centres = np.ix_([16, 80], [16, 48])  # the middle of each quadrant, away from JPEG's edge ringing
    np.testing.assert_allclose(image[centres], want[centres], atol=8)


# --- first frame ----------------------------------------------------------------------------

def frames(seed=15, n=3):
    return [pattern(3, seed=seed + i, high=4) * 80 for i in range(n)]  # few colours: exact in a GIF


@pytest.mark.parametrize("name,options", [
    ("a.gif", {}), ("a.png", {}), ("a.webp", {"lossless": True}), ("a.tif", {})])
def test_first_frame_of_animations_and_pages(tmp_path, name, options):
    if name.endswith("webp") and not features.check("webp"):
        pytest.skip("Pillow without WebP")
    first, *rest = frames()
    path = save(tmp_path, name, Image.fromarray(first), save_all=True,
                append_images=[Image.fromarray(f) for f in rest], **options)
    assert Image.open(path).n_frames == 3
    np.testing.assert_array_equal(images.load_image(path), first)


def test_grey_multi_page_tiff(tmp_path):
    pages = [pattern(1, seed=20 + i) for i in range(3)]
    path = save(tmp_path, "g.tif", Image.fromarray(pages[0]), save_all=True,
                append_images=[Image.fromarray(p) for p in pages[1:]])
    np.testing.assert_array_equal(images.load_image(path), grey_to_rgb(pages[0]))


# --- the pixel limit, from the header ----------------------------------------------------------

def forbid_decoding(monkeypatch):
    """From now on, fail the test if any image is decoded."""
    def refuse(self, *args):
        raise AssertionError("decoded pixels: the limit must be checked from the header")

    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)
    monkeypatch.setattr(Image.Image, "load", refuse)


def test_huge_declared_size_is_refused_before_decoding(tmp_path, monkeypatch):
    path = str(tmp_path / "bomb.png")
    Image.new("1", (13000, 13000)).save(path)  # 169 megapixels of zeros: a few KB of PNG
    forbid_decoding(monkeypatch)
    assert os.path.getsize(path) < 200_000
    start = time.perf_counter()
    with pytest.warns(Image.DecompressionBombWarning):  # Pillow's own warning is not silenced
        expect_error(path, f"{path}: image is 13000x13000 (169.0 megapixels), over the limit of 100 megapixels "
                           "(raise max_pixels to read it)")
    assert time.perf_counter() - start < 0.5


def test_limit_is_a_parameter(tmp_path, monkeypatch):
    path = save(tmp_path, "s.png", Image.new("RGB", (W, H)))
    forbid_decoding(monkeypatch)
    expect_error(path, f"{path}: image is {W}x{H} (0.0 megapixels), over the limit of 0.0015 megapixels "
                 "(raise max_pixels to read it)", max_pixels=1500)


def test_exactly_at_the_limit_is_read(tmp_path):
    path = save(tmp_path, "s.png", Image.new("RGB", (W, H), (9, 8, 7)))
    image = images.load_image(path, max_pixels=W * H)
    np.testing.assert_array_equal(image, np.broadcast_to([9, 8, 7], (H, W, 3)))


def test_over_pillows_own_bomb_limit_is_one_line(tmp_path, monkeypatch):
    path = str(tmp_path / "bigger.png")
    Image.new("1", (14000, 14000)).save(path)  # 196 megapixels: Pillow's open itself refuses
    forbid_decoding(monkeypatch)
    with pytest.raises(NSTError) as info:
        images.load_image(path, max_pixels=10**9)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "decompression bomb" in message and "\n" not in message


# --- paths that are not regular files ----------------------------------------------------------

def returns_quickly(call, path, timeout=5.0):
    """Run ``call(path)`` in a thread; fail (after unblocking it) if it has not returned by ``timeout``."""
    outcome = {}

    def target():
        try:
            call(path)
            outcome["result"] = "returned"
        except NSTError as exc:
            outcome["error"] = str(exc)

    thread = threading.Thread(target=target, daemon=True)
    start = time.perf_counter()
    thread.start()
    thread.join(timeout)
    if thread.is_alive():  # a reader blocks on a FIFO until a writer opens it: open one to free it
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(timeout)
        pytest.fail(f"blocked on {path}")
    return outcome, time.perf_counter() - start


def test_fifo_is_refused_without_blocking(tmp_path):
    fifo = str(tmp_path / "pipe.png")
    os.mkfifo(fifo)
    outcome, seconds = returns_quickly(images.load_image, fifo)
    assert outcome == {"error": f"{fifo}: not a regular file (a FIFO)"} and seconds < 1.0


def test_directory_is_refused(tmp_path):
    folder = tmp_path / "photos.jpg"
    folder.mkdir()
    expect_error(folder, f"{folder}: not a regular file (a directory)")
    link = tmp_path / "link.png"
    link.symlink_to(folder)
    expect_error(link, f"{link}: not a regular file (a directory)")


@pytest.mark.parametrize("device", ["/dev/null", "/dev/zero"])
def test_device_is_refused_without_reading(device):
    if not os.path.exists(device) or not stat.S_ISCHR(os.stat(device).st_mode):
        pytest.skip(f"no {device} character device here")
    outcome, seconds = returns_quickly(images.load_image, device)
    assert outcome == {"error": f"{device}: not a regular file (a device)"} and seconds < 1.0


def test_check_regular_file_accepts_a_file_and_names_what_is_missing(tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(b"12345")
    assert images.check_regular_file(str(path)).st_size == 5
    with pytest.raises(NSTError, match=r"^.*none\.txt: no such style file$"):
        images.check_regular_file(str(tmp_path / "none.txt"), what="style")


def test_permission_denied_on_open(tmp_path, monkeypatch):
    """Root reads anything, so the denial is simulated where Pillow opens the file."""
    path = save(tmp_path, "p.png", Image.new("RGB", (W, H)))

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", path)

    monkeypatch.setattr(Image, "open", denied)
    expect_error(path, f"{path}: permission denied")


def test_socket_is_refused(tmp_path):
    import socket

    path = tmp_path / "s.png"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
        expect_error(path, f"{path}: not a regular file (a socket)")


def test_nul_byte_in_path_is_one_line():
    expect_error("a\0b.png", "a\0b.png: cannot read the image file: embedded null byte")
