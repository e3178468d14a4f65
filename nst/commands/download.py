"""Fetch the VGG-19 weights into the user cache: ``nst download [DEST]``.

The file (about 510 MB) is streamed into ``DEST.part`` with a progress bar; a
rerun after a cut resumes it with an HTTP Range request. It is renamed to DEST
only once the MD5 of the whole file is one of the two known releases, so an
interrupted or corrupted download never looks like weights.
"""
import hashlib
import http.client
import os
import urllib.error
import urllib.request

from tqdm import tqdm

from nst.algorithm.vgg import (
    WEIGHTS_ENV,
    WEIGHTS_FILE,
    cached_weights_path,
    resolve_weights_path,
)
from nst.errors import NSTError, OneLineParser, report

URL = "http://www.vlfeat.org/matconvnet/models/beta16/imagenet-vgg-verydeep-19.mat"
KNOWN_MD5 = {
    "8ee3263992981a1d26e73b3ca028a123": "old release (normalization.averageImage is a mean image)",
    "106118b7cf60435e6d8e04f6a6dc3657": "new release (meta.normalization)",
}
CHUNK = 1 << 20
TIMEOUT_S = 30


def _file_md5(path):
    """The MD5 object of a file's bytes, read in chunks (the file is 510 MB)."""
    md5 = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            md5.update(chunk)
    return md5


def _accepted(md5):
    """{digest: description} of the files to keep: the known releases, or the one digest asked for."""
    if not md5:
        return KNOWN_MD5
    if len(md5) != 32 or not all(c in "0123456789abcdef" for c in md5.lower()):
        raise NSTError(f"'{md5}' is not an MD5 digest (32 hex digits)")  # before fetching 510 MB
    return {md5.lower(): "MD5 as given"}


def _open(url, offset):
    """The response for ``url``, asking for the bytes from ``offset`` on when a part is already here."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        return urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=TIMEOUT_S)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:  # the part already holds the whole file
            return None
        raise


def _resumes(response, offset):
    """Whether ``response`` is the rest of the file from ``offset`` (206), not the whole file again."""
    content_range = response.headers.get("Content-Range", "")
    return response.status == 206 and content_range.startswith(f"bytes {offset}-")


def _stream(response, part, offset, progress):
    """Write ``response`` into ``part`` (appending from ``offset`` or from 0); returns the file's MD5."""
    md5 = _file_md5(part) if offset else hashlib.md5()
    length = response.headers.get("Content-Length")
    total = offset + int(length) if length else None
    received = offset
    with open(part, "ab" if offset else "wb") as out, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, desc="VGG-19", disable=not progress
    ) as bar:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            md5.update(chunk)
            bar.update(len(chunk))
            received += len(chunk)
    if total is not None and received < total:  # http.client reads a cut as a quiet end of file
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
    return md5.hexdigest()


def _fetch(url, part, progress):
    """Bring ``part`` to the whole file, resuming it if it exists; returns the whole file's MD5."""
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    response = _open(url, offset)
    if response is None:
        return _file_md5(part).hexdigest()
    with response:
        if not _resumes(response, offset):
            offset = 0  # the server sent the whole file: start again
        os.makedirs(os.path.dirname(part), exist_ok=True)  # only once the server answered
        return _stream(response, part, offset, progress)


def _network_error(url, exc, dest, part):
    reason = f"HTTP {exc.code} {exc.reason}" if isinstance(exc, urllib.error.HTTPError) else getattr(exc, "reason", exc)
    kept = f"{part} kept, run again to resume; or " if os.path.exists(part) else ""
    return NSTError(
        f"{url}: cannot download ({reason}); {kept}fetch {WEIGHTS_FILE} by another way and put it at {dest}, "
        f"or set {WEIGHTS_ENV} to it"
    )


def _first_existing(folder):
    """The nearest of ``folder`` and its parents that exists: above it, a failure removes nothing."""
    while not os.path.isdir(folder):
        folder = os.path.dirname(folder)
    return folder


def _remove_folders_made(folder, existing):
    """Remove the empty folders from ``folder`` up to ``existing``: a failed download leaves none."""
    while folder != existing and os.path.isdir(folder) and not os.listdir(folder):
        os.rmdir(folder)
        folder = os.path.dirname(folder)


def download(dest=None, url=URL, md5=None, progress=True):
    """Download the weights to ``dest`` (default: the user cache), checked and renamed into place.

    ``md5`` replaces the known releases' digests (a mirror of another file, a
    test). Returns (path, description). A network error keeps ``DEST.part`` so
    a rerun resumes; a wrong MD5 keeps nothing and leaves an existing DEST as it was.
    """
    dest = dest or cached_weights_path()
    if os.path.isdir(dest) or dest.endswith(os.sep):  # a folder: the file goes inside it
        dest = os.path.join(dest, WEIGHTS_FILE)
    dest = os.path.abspath(dest)
    accepted, part = _accepted(md5), dest + ".part"
    if os.path.isfile(dest) and (digest := _file_md5(dest).hexdigest()) in accepted:
        return dest, f"already there, {accepted[digest]}"
    existing = _first_existing(os.path.dirname(dest))
    try:
        digest = _fetch(url, part, progress)
    except (OSError, http.client.HTTPException) as exc:  # URLError, timeouts, resets, cuts
        _remove_folders_made(os.path.dirname(dest), existing)
        raise _network_error(url, exc, dest, part) from None
    if digest not in accepted:
        os.unlink(part)
        _remove_folders_made(os.path.dirname(dest), existing)
        expected = " or ".join(accepted)
        raise NSTError(f"{url}: downloaded file has MD5 {digest}, expected {expected}; nothing kept")
    os.replace(part, dest)
    return dest, f"downloaded, {accepted[digest]}"


def _hint(path):
    """How ``nst train`` finds ``path``, when its search would not."""
    found = resolve_weights_path()
    if os.path.abspath(found) == path:
        return ""
    return f"; nst train looks at {found} first, so pass it --vgg {path} or set {WEIGHTS_ENV}={path}"


PROG = "nst download"


def main(argv=None, prog=PROG):
    parser = OneLineParser(prog=prog, description="Fetch the VGG-19 weights (about 510 MB) into "
                           "the user cache: resumable, MD5-checked, renamed into place only when whole.")
    parser.add_argument("dest", nargs="?", metavar="DEST", help=f"file or folder to save to "
                        f"(default: {cached_weights_path()}, from $XDG_CACHE_HOME or ~/.cache)")
    parser.add_argument("--url", default=URL, help=f"where to fetch from, e.g. a mirror (default: {URL})")
    parser.add_argument("--md5", metavar="HEX", help="accept this MD5 instead of the two known releases'")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    try:
        args = parser.parse_args(argv)
        path, description = download(args.dest, args.url, args.md5, progress=not args.quiet)
    except NSTError as exc:
        return report(parser.prog, exc)
    print(f"{path}: {description}{_hint(path)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
