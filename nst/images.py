"""Images in and out: load any common format as RGB, resize, normalise, add noise, save.

Everything the network sees is float32 RGB on 0..255 minus the VGG mean pixel,
with a leading batch axis: shape (1, H, W, 3).
"""
import os
import tempfile
import warnings

import imageio.v3 as iio
import numpy as np
from PIL import Image

from nst.errors import NSTError

MIN_SIDE = 32  # below this the five poolings leave nothing of the image
DEFAULT_SIZE = (300, 400)  # (height, width), as in the course
NOISE_RANGE = 20.0  # noise is uniform(-20, 20), as in the course
VGG_MEAN = np.array([123.68, 116.779, 103.939], np.float32)  # RGB; the .mat file's value wins


def _to_rgb(path, pixels):
    """Any imageio result -> float32 (H, W, 3) on 0..255: gray, alpha, 16-bit, frames."""
    a = np.asarray(pixels)
    if a.ndim == 4:  # animated image: first frame
        a = a[0]
    if a.ndim == 2:
        a = a[:, :, None]
    if a.ndim != 3 or a.shape[2] not in (1, 2, 3, 4) or a.size == 0:
        raise NSTError(f"{path}: not an image with 1 to 4 channels (array of shape {a.shape})")
    if a.dtype == np.uint16:
        a = a / 257.0
    elif a.dtype.kind == "f" and a.max(initial=0) <= 1.0:
        a = a * 255.0
    elif a.dtype == bool:
        a = a * 255.0
    channels = a.shape[2]
    rgb = a[:, :, :1].repeat(3, axis=2) if channels < 3 else a[:, :, :3]  # drop alpha
    return np.clip(rgb, 0, 255).astype(np.float32)


def load_image(path):
    """Read an image file as float32 RGB (H, W, 3) on 0..255, with a clear error if it can't be."""
    if not os.path.isfile(path):
        raise NSTError(f"{path}: no such image file")
    if os.path.getsize(path) == 0:
        raise NSTError(f"{path}: empty file, not an image")
    try:
        with warnings.catch_warnings():  # imageio warns about each plugin it tries on a non-image
            warnings.simplefilter("ignore")
            pixels = iio.imread(path)
    except PermissionError:
        raise NSTError(f"{path}: permission denied") from None
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NSTError(f"{path}: not a readable image (truncated or unknown format?): {detail}") from None
    image = _to_rgb(path, pixels)
    if min(image.shape[:2]) < MIN_SIDE:
        raise NSTError(
            f"{path}: image is {image.shape[0]}x{image.shape[1]}, "
            f"smaller than {MIN_SIDE} px on a side"
        )
    return image


def parse_size(text):
    """'300x400' -> (300, 400) as (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise NSTError(f"bad size '{text}': write it as HEIGHTxWIDTH, e.g. 300x400") from None
    check_size((height, width))
    return height, width


def check_size(size):
    if min(size) < MIN_SIDE:
        raise NSTError(f"size {size[0]}x{size[1]} is too small: each side must be at least {MIN_SIDE} px")


def fit_max_side(shape, max_side):
    """The (height, width) whose longer side is ``max_side``, keeping the aspect ratio."""
    height, width = shape[:2]
    scale = max_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    check_size(size)
    return size


def _center_crop(image, aspect):
    """Crop the centre to width/height == aspect, so a resize does not stretch it."""
    height, width = image.shape[:2]
    if width / height > aspect:
        new_w = max(1, round(height * aspect))
        x = (width - new_w) // 2
        return image[:, x : x + new_w]
    new_h = max(1, round(width / aspect))
    y = (height - new_h) // 2
    return image[y : y + new_h]


def resize_image(image, size, crop=True):
    """Resize (H, W, 3) float to ``size`` = (height, width); crop first to keep the aspect."""
    height, width = size
    if crop:
        image = _center_crop(image, width / height)
    if image.shape[:2] == (height, width):
        return image.astype(np.float32)
    planes = [Image.fromarray(np.ascontiguousarray(image[:, :, c], np.float32)) for c in range(3)]  # mode F
    channels = [np.asarray(plane.resize((width, height), Image.LANCZOS)) for plane in planes]
    return np.clip(np.stack(channels, axis=2), 0, 255).astype(np.float32)


def reshape_and_normalize_image(image, mean_pixel=VGG_MEAN):
    """(H, W, 3) on 0..255 -> (1, H, W, 3) minus the mean pixel: what VGG was trained on."""
    return (np.asarray(image, np.float32) - np.asarray(mean_pixel, np.float32))[None]


def generate_noise_image(content_image, noise_ratio=0.6, seed=None):
    """G = N * noise_ratio + C * (1 - noise_ratio), N ~ uniform(-20, 20) (the seed's init)."""
    rng = np.random.RandomState(seed)
    noise = rng.uniform(-NOISE_RANGE, NOISE_RANGE, np.shape(content_image)).astype(np.float32)
    return (noise * noise_ratio + np.asarray(content_image, np.float32) * (1 - noise_ratio)).astype(np.float32)


def to_pixels(image, mean_pixel=VGG_MEAN):
    """(1, H, W, 3) normalised -> (H, W, 3) uint8: add the mean back and clip."""
    pixels = np.asarray(image, np.float32).reshape(np.shape(image)[-3:]) + np.asarray(mean_pixel, np.float32)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def write_atomic(path, data):
    """Write bytes to ``path`` through a temp file + rename: a reader sees old or new, never half."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def encode_image(pixels, path):
    """Encode uint8 pixels in the format named by ``path``'s extension."""
    extension = os.path.splitext(path)[1].lower() or ".png"
    try:
        return iio.imwrite("<bytes>", pixels, extension=extension)
    except Exception as exc:
        raise NSTError(f"{path}: cannot encode an image with extension '{extension}': {exc}") from None


def save_image(path, image, mean_pixel=VGG_MEAN):
    """Save a normalised (1, H, W, 3) image as a picture, atomically."""
    write_atomic(path, encode_image(to_pixels(image, mean_pixel), path))


def default_content_image():
    """Grace Hopper's portrait from matplotlib's own bundled sample data (no download)."""
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return load_image(str(path)), "matplotlib sample_data/grace_hopper.jpg"


def default_style_image(size=(512, 512), seed=7):
    """A procedurally painted swirl style: warped bands of a blue/gold palette and strokes."""
    height, width = size
    rng = np.random.RandomState(seed)
    y, x = np.mgrid[0:height, 0:width] / max(height, width) * 2 * np.pi
    warp = np.zeros_like(x)
    for k in range(1, 5):  # domain warping by a few random sinusoids
        fx, fy, ph = rng.uniform(0.5, 2.5, 3) * k
        warp += np.sin(fx * x + fy * y + ph * 3) / k
    swirl = np.sin(6 * x + 4 * warp) + np.cos(5 * y - 3 * warp)
    strokes = np.sin(40 * (x * np.cos(warp) + y * np.sin(warp)))  # fine brush-like stripes
    t = (swirl + 0.35 * strokes - (-2.35)) / 4.7
    palette = np.array([[12, 28, 84], [32, 86, 170], [90, 160, 210], [235, 205, 90], [250, 240, 200]], np.float64)
    stops = np.linspace(0, 1, len(palette))
    rgb = np.stack([np.interp(t, stops, palette[:, c]) for c in range(3)], axis=2)
    return np.clip(rgb, 0, 255).astype(np.float32), "procedural swirl (nst.images.default_style_image)"

