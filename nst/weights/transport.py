"""Stream a URL into ``FILE.part``: resumable, TLS verified first, hashed as it arrives.

A known source whose certificate fails verification (vlfeat.org's expired in
December 2022) is fetched again without verification, after one line saying
so: the bytes are trusted only if their digest is a known release's, which the
caller checks before anything uses them.
"""
import http.client
import os
import ssl
import urllib.error
import urllib.parse
import urllib.request
from typing import Callable, Optional

from tqdm import tqdm

from nst.weights.digests import CHUNK, Digests, Hasher, hash_file

TIMEOUT_S = 30


def certificate_failure(exc: BaseException) -> Optional[str]:
    """The reason when ``exc`` is a failed TLS certificate check, else None."""
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, ssl.SSLCertVerificationError):
        return reason.verify_message or str(reason)
    return None


def _opener(verify: bool) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return urllib.request.build_opener(urllib.request.HTTPSHandler(context=context))


def _open(url: str, offset: int, verify: bool, timeout: float):
    """The response for ``url`` from byte ``offset`` on, or None when the part already holds the whole file."""
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    try:
        return _opener(verify).open(urllib.request.Request(url, headers=headers), timeout=timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            return None
        raise


def _resumes(response, offset: int) -> bool:
    """Whether ``response`` is the rest of the file from ``offset`` (206), not the whole file again."""
    content_range = response.headers.get("Content-Range", "")
    return response.status == 206 and content_range.startswith(f"bytes {offset}-")


def _length(response) -> Optional[int]:
    """The Content-Length, or None when it is missing or not a number (then the end is the server's word)."""
    value = response.headers.get("Content-Length", "")
    return int(value) if value.strip().isdigit() else None


def _stream(response, part: str, offset: int, progress: bool, desc: str) -> Digests:
    hasher = hash_file(part) if offset else Hasher()
    length = _length(response)
    total = offset + length if length is not None else None
    received = offset
    with open(part, "ab" if offset else "wb") as out, tqdm(
        total=total, initial=offset, unit="B", unit_scale=True, desc=desc, disable=not progress
    ) as bar:
        while chunk := response.read(CHUNK):
            out.write(chunk)
            hasher.update(chunk)
            bar.update(len(chunk))
            received += len(chunk)
    if total is not None and received < total:  # http.client reads a cut as a quiet end of file
        raise ConnectionError(f"connection closed after {received} of {total} bytes")
    return hasher.digests()


def _fetch(url: str, part: str, verify: bool, timeout: float, progress: bool, desc: str) -> Digests:
    offset = os.path.getsize(part) if os.path.exists(part) else 0
    response = _open(url, offset, verify, timeout)
    if response is None:
        return hash_file(part).digests()
    with response:
        if not _resumes(response, offset):
            offset = 0  # the server sent the whole file: start again
        os.makedirs(os.path.dirname(part) or ".", exist_ok=True)  # only once the server answered
        return _stream(response, part, offset, progress, desc)


def fetch(url: str, part: str, *, say: Callable[[str], None], timeout: float = TIMEOUT_S,
          progress: bool = True, desc: str = "download") -> Digests:
    """Bring ``part`` to the whole file at ``url`` and return its digests; raises OSError or HTTPException.

    The caller must check the digests against known releases before using the file.
    """
    try:
        return _fetch(url, part, True, timeout, progress, desc)
    except (OSError, http.client.HTTPException) as exc:
        reason = certificate_failure(exc)
        if reason is None:
            raise
    host = urllib.parse.urlsplit(url).hostname
    say(f"{host}: TLS certificate failed verification ({reason}); fetching without it, "
        f"since the file is used only if its digest is a known release's")
    return _fetch(url, part, False, timeout, progress, desc)


def describe_failure(exc: BaseException, timeout: float = TIMEOUT_S) -> str:
    """Why a fetch failed, in a few words."""
    if isinstance(exc, urllib.error.HTTPError):
        return f"HTTP {exc.code} {exc.reason}"
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, TimeoutError) or "timed out" in str(reason):
        return f"no answer within {timeout:g} s"
    return str(reason) or type(reason).__name__
