"""A file is trusted for its digest, never for its transport.

Each source lists the digests of the releases it has served. A download is
accepted only when its MD5 or SHA-256 is one of them, or is the digest the
user gave (``--md5``/``--sha256``), which then replaces the list.
"""
import hashlib
from typing import Dict, NamedTuple, Optional

from nst.errors import NSTError

CHUNK = 1 << 20
LENGTHS = {"md5": 32, "sha256": 64}


class Digests(NamedTuple):
    """Both digests of one file's bytes: a release is known by whichever was published."""

    md5: str
    sha256: str


class Hasher:
    """MD5 and SHA-256 at once, fed chunk by chunk while a file streams in."""

    def __init__(self):
        self._md5, self._sha256 = hashlib.md5(), hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self._md5.update(chunk)
        self._sha256.update(chunk)

    def digests(self) -> Digests:
        return Digests(self._md5.hexdigest(), self._sha256.hexdigest())


def hash_file(path: str, hasher: Optional[Hasher] = None) -> Hasher:
    """``hasher`` (or a new one) fed with the bytes of ``path``, read in chunks (the file may be 510 MB)."""
    hasher = hasher or Hasher()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            hasher.update(chunk)
    return hasher


def file_digests(path: str) -> Digests:
    return hash_file(path).digests()


def given(md5: Optional[str] = None, sha256: Optional[str] = None) -> Dict[str, str]:
    """{digest: description} for the digests a user gave, checked before anything is fetched."""
    accepted = {}
    for kind, value in (("md5", md5), ("sha256", sha256)):
        if not value:
            continue
        value = value.strip().lower()
        if len(value) != LENGTHS[kind] or any(c not in "0123456789abcdef" for c in value):
            raise NSTError(f"'{value}' is not an {kind.upper()} digest ({LENGTHS[kind]} hex digits)")
        accepted[value] = f"{kind.upper()} as given"
    return accepted


def match(digests: Digests, accepted: Dict[str, str]) -> Optional[str]:
    """The description of the accepted release these bytes are, or None."""
    return accepted.get(digests.sha256) or accepted.get(digests.md5)


def refusal(what: str, digests: Digests, accepted: Dict[str, str]) -> NSTError:
    """The one line for bytes whose digest is no accepted release's."""
    expected = " or ".join(accepted)
    return NSTError(f"{what}: downloaded file has MD5 {digests.md5} (SHA-256 {digests.sha256}), "
                    f"expected {expected}; nothing kept")
