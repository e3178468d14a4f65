"""Fetch the seed's VGG-19 weights: ``python -m nst.download [DEST]``.

The file (about 510 MB) is streamed into a temporary file beside DEST with a
progress bar and renamed into place only when its MD5 is one of the two known
releases, so an interrupted or corrupted download never looks like weights.
"""
import hashlib
import os
import tempfile
import urllib.request

from tqdm import tqdm

from nst.errors import NSTError, OneLineParser, report
from nst.vgg import DEFAULT_WEIGHTS

URL = "http://www.vlfeat.org/matconvnet/models/beta16/imagenet-vgg-verydeep-19.mat"
KNOWN_MD5 = {
    "8ee3263992981a1d26e73b3ca028a123": "old release (normalization.averageImage is a mean image)",
    "106118b7cf60435e6d8e04f6a6dc3657": "new release (meta.normalization)",
}
CHUNK = 1 << 20


def _stream(response, out, progress):
    total = int(response.headers.get("Content-Length") or 0) or None
    md5 = hashlib.md5()
    with tqdm(total=total, unit="B", unit_scale=True, desc="VGG-19", disable=not progress) as bar:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            md5.update(chunk)
            bar.update(len(chunk))
    return md5.hexdigest()


def download(dest=DEFAULT_WEIGHTS, url=URL, known_md5=KNOWN_MD5, progress=True):
    """Download ``url`` to ``dest`` atomically, checking the MD5; returns the release found."""
    folder = os.path.dirname(os.path.abspath(dest))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".vgg19-", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    digest = _stream(response, out, progress)
            except OSError as exc:  # URLError, timeouts, resets
                reason = getattr(exc, "reason", exc)
                raise NSTError(
                    f"{url}: cannot download ({reason}); fetch it by another way and put it at "
                    f"{dest}, or point NST_VGG19 / --vgg at it"
                ) from None
        if digest not in known_md5:
            raise NSTError(f"{url}: downloaded file has MD5 {digest}, not a known VGG-19 release; nothing kept")
        os.replace(tmp, dest)
        return known_md5[digest]
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main(argv=None):
    parser = OneLineParser(prog="nst.download", description=__doc__.splitlines()[0])
    parser.add_argument("dest", nargs="?", default=DEFAULT_WEIGHTS, help=f"where to save (default: {DEFAULT_WEIGHTS})")
    parser.add_argument("--url", default=URL, help="where to fetch from (default: the seed's URL)")
    try:
        args = parser.parse_args(argv)
        release = download(args.dest, args.url)
    except NSTError as exc:
        return report("nst.download", exc)
    print(f"saved {args.dest} ({release})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
