"""Images in and out: load any common format as RGB, resize, normalise, add noise, save.

Files are read with Pillow as an image viewer shows them: EXIF orientation applied,
each mode scaled by its real range, the first frame of an animation or multi-page file,
and a pixel-count limit checked from the header before anything is decoded.

Everything the network sees is float32 RGB on 0..255 minus the VGG mean pixel,
with a leading batch axis: shape (1, H, W, 3).
"""
import os
import stat
import tempfile
from typing import Optional, Sequence, Tuple, Union

import imageio.v3 as iio
import numpy as np
from PIL import Image, ImageOps

from nst.errors import NSTError

MIN_SIDE = 32  # below this the five poolings leave nothing of the image
MAX_SIDE = 65536  # beyond any memory; also keeps the size arithmetic in range
DEFAULT_MAX_SIDE = 400  # the course's width: the longer side of G when no size is given
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")  # what a result can be saved as
NOISE_RANGE = 20.0  # noise is uniform(-20, 20), as in the course
VGG_MEAN = np.array([123.68, 116.779, 103.939], np.float32)  # RGB; the .mat file's value wins
DEFAULT_MAX_PIXELS = 100_000_000  # checked from the header, before decoding
StrPath = Union[str, "os.PathLike[str]"]  # a file's path, as a string or a pathlib.Path


_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a device"),
          (stat.S_ISBLK, "a device"), (stat.S_ISSOCK, "a socket"))


def check_regular_file(path: StrPath, what: str = "image", missing: Optional[str] = None) -> os.stat_result:
    """Refuse a path that is not a regular file, from its stat alone: opening a FIFO blocks, a device never ends.

    Returns the ``os.stat`` result; ``missing`` replaces the 'no such {what} file' message.
    """
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise NSTError(missing or f"{path}: no such {what} file") from None
    except PermissionError:
        raise NSTError(f"{path}: permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL byte in the path
        raise NSTError(f"{path}: cannot read the {what} file: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = next((name for test, name in _KINDS if test(info.st_mode)), "not a file")
        raise NSTError(f"{path}: not a regular file ({kind})")
    return info


def check_pixel_count(path, size, max_pixels, what="image is"):
    """Refuse (width, height) from the header alone: a tiny compressed file can declare gigabytes of pixels."""
    width, height = size
    if width * height > max_pixels:
        raise NSTError(
            f"{path}: {what} {width}x{height} ({width * height / 1e6:.1f} megapixels), "
            f"over the limit of {max_pixels / 1e6:g} megapixels (raise {{option}} to read it)", "max_pixels"
        )


def _int_scale(peak):
    """Divisor taking 32-bit integer ('I') pixels to 0..255, guessed from their largest value.

    Pillow reads 8- and 16-bit data into 'I' too, so the range follows the data: a peak
    up to 255 is 8-bit (as is), up to 65535 is 16-bit (/257), else the full signed 32-bit
    range 0..2**31-1 maps to 0..255. Negative values become 0.
    """
    if peak <= 255:
        return 1.0
    return 257.0 if peak <= 65535 else (2**31 - 1) / 255.0


def _deep_pixels(path, image):
    """'1', 16-bit, 32-bit integer and float pixels -> float64 (H, W) on 0..255 by their range."""
    a = np.asarray(image)
    if image.mode == "1":
        return a * 255.0
    if image.mode.startswith("I;16"):
        return a / 257.0
    if image.mode == "F":
        if not np.isfinite(a).all():
            raise NSTError(f"{path}: image has NaN or infinite pixel values")
        return a * 255.0 if a.max(initial=0) <= 1.0 else a.astype(np.float64)
    a = a.astype(np.float64)  # 'I' and the other 32-bit integer modes
    return a / _int_scale(a.max(initial=0))


def _rgb_pixels(path, image):
    """A decoded Pillow image in any mode -> float32 (H, W, 3) on 0..255, alpha dropped (not composited).

    8-bit modes go through Pillow's own conversion, which knows each one's meaning
    (CMYK, YCbCr, LAB, palettes, premultiplied alpha); the deeper modes are scaled here.
    """
    mode = image.mode
    if mode == "1" or mode.startswith("I") or mode == "F":
        grey = _deep_pixels(path, image)
        rgb = np.repeat(grey[:, :, None], 3, axis=2)
    else:
        if mode == "La":  # premultiplied: Pillow converts it to nothing but LA
            image = image.convert("LA")
        rgb = np.asarray(image.convert("RGB"))
    return np.clip(rgb, 0, 255).astype(np.float32)


def _decode(path, max_pixels):
    """Open lazily, check the header's size, then decode the first frame as a viewer shows it."""
    with Image.open(path) as image:
        check_pixel_count(path, image.size, max_pixels)
        return _rgb_pixels(path, ImageOps.exif_transpose(image))


def load_image(path: StrPath, max_pixels: float = DEFAULT_MAX_PIXELS) -> np.ndarray:
    """Read an image file as float32 RGB (H, W, 3) on 0..255, as an image viewer shows it.

    EXIF orientation applied, every Pillow mode scaled by its real range, the first frame
    of an animation or multi-page file; anything else is one clear NSTError line.
    """
    if check_regular_file(path).st_size == 0:
        raise NSTError(f"{path}: empty file, not an image")
    try:
        image = _decode(path, max_pixels)
    except NSTError:
        raise
    except PermissionError:
        raise NSTError(f"{path}: permission denied") from None
    except Image.DecompressionBombError as exc:
        raise NSTError(f"{path}: refused by Pillow as a possible decompression bomb: {exc}") from None
    except Exception as exc:  # Pillow raises many types for a damaged or unknown file
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NSTError(f"{path}: not a readable image (truncated or unknown format?): {detail}") from None
    if min(image.shape[:2]) < MIN_SIDE:
        raise NSTError(
            f"{path}: image is {image.shape[0]}x{image.shape[1]}, "
            f"smaller than {MIN_SIDE} px on a side"
        )
    return image


def parse_size(text: str) -> Tuple[int, int]:
    """'300x400' -> (300, 400) as (height, width)."""
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise NSTError(f"bad size '{text}': write it as HEIGHTxWIDTH, e.g. 300x400") from None
    check_size((height, width))
    return height, width


def check_size(size: Sequence[int]) -> None:
    if min(size) < MIN_SIDE:
        raise NSTError(f"size {size[0]}x{size[1]} is too small: each side must be at least {MIN_SIDE} px")
    if max(size) > MAX_SIDE:
        raise NSTError(f"size {size[0]}x{size[1]} is too large: each side must be at most {MAX_SIDE} px")


def fit_max_side(shape: Sequence[int], max_side: int) -> Tuple[int, int]:
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


def resize_image(image: np.ndarray, size: Sequence[int], crop: bool = True) -> np.ndarray:
    """Resize (H, W, 3) float to ``size`` = (height, width); crop first to keep the aspect."""
    height, width = size
    if crop:
        image = _center_crop(image, width / height)
    if image.shape[:2] == (height, width):
        return image.astype(np.float32)
    planes = [Image.fromarray(np.ascontiguousarray(image[:, :, c], np.float32)) for c in range(3)]  # mode F
    channels = [np.asarray(plane.resize((width, height), Image.Resampling.LANCZOS)) for plane in planes]
    return np.clip(np.stack(channels, axis=2), 0, 255).astype(np.float32)


def reshape_and_normalize_image(image: np.ndarray, mean_pixel: np.ndarray = VGG_MEAN) -> np.ndarray:
    """(H, W, 3) on 0..255 -> (1, H, W, 3) minus the mean pixel: what VGG was trained on."""
    return (np.asarray(image, np.float32) - np.asarray(mean_pixel, np.float32))[None]


def generate_noise_image(content_image: np.ndarray, noise_ratio: float = 0.6, seed: Optional[int] = None
                         ) -> np.ndarray:
    """G = N * noise_ratio + C * (1 - noise_ratio), N ~ uniform(-20, 20) (the paper's start, as in the course)."""
    rng = np.random.RandomState(seed)
    noise = rng.uniform(-NOISE_RANGE, NOISE_RANGE, np.shape(content_image)).astype(np.float32)
    return (noise * noise_ratio + np.asarray(content_image, np.float32) * (1 - noise_ratio)).astype(np.float32)


def to_pixels(image: np.ndarray, mean_pixel: np.ndarray = VGG_MEAN) -> np.ndarray:
    """(1, H, W, 3) normalised -> (H, W, 3) uint8: add the mean back and clip."""
    pixels = np.asarray(image, np.float32).reshape(np.shape(image)[-3:]) + np.asarray(mean_pixel, np.float32)
    return np.clip(np.rint(pixels), 0, 255).astype(np.uint8)


def file_mode() -> int:
    """The permissions a new file gets under the process's umask (0644 under umask 022)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return 0o666 & ~umask


TEMPORARY_MARK = ".nst-"  # in write_atomic's temporary names, so only nst's own are ever cleaned up


def write_atomic(path: StrPath, data: bytes) -> None:
    """Write bytes to ``path`` through a temp file + rename: a reader sees old or new, never half.

    The file gets the umask's permissions, not the private 0600 of a temporary file.
    """
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + TEMPORARY_MARK, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fchmod(f.fileno(), file_mode())
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm")


def unwritable_extension(path: StrPath) -> Optional[str]:
    """The extension of ``path`` when it names a picture or video format nst cannot save a result as, else None.

    (Such a name would otherwise be taken for a folder: ``result.gif/``.)
    """
    extension = os.path.splitext(str(path))[1].lower()
    if not extension or extension in IMAGE_EXTENSIONS:
        return None
    known = set(Image.registered_extensions()) | set(VIDEO_EXTENSIONS)
    return extension if extension in known else None


def is_image_path(path: StrPath) -> bool:
    """Whether ``path`` names an image file by its extension (``out.jpg``), not a folder."""
    return os.path.splitext(str(path))[1].lower() in IMAGE_EXTENSIONS


def encode_image(pixels: np.ndarray, path: StrPath) -> bytes:
    """Encode uint8 pixels in the format named by ``path``'s extension."""
    extension = os.path.splitext(path)[1].lower() or ".png"
    try:
        return iio.imwrite("<bytes>", pixels, extension=extension)
    except Exception as exc:
        raise NSTError(f"{path}: cannot encode an image with extension '{extension}': {exc}") from None


def save_image(path: StrPath, image: np.ndarray, mean_pixel: np.ndarray = VGG_MEAN) -> None:
    """Save a normalised (1, H, W, 3) image as a picture, atomically."""
    write_atomic(path, encode_image(to_pixels(image, mean_pixel), path))


def default_content_image() -> Tuple[np.ndarray, str]:
    """Grace Hopper's portrait from matplotlib's own bundled sample data (no download)."""
    import matplotlib.cbook

    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    return load_image(str(path)), "matplotlib sample_data/grace_hopper.jpg"


def default_style_image(size: Tuple[int, int] = (512, 512), seed: int = 7) -> Tuple[np.ndarray, str]:
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
    return np.clip(rgb, 0, 255).astype(np.float32), "procedural swirl (nst.algorithm.images.default_style_image)"

