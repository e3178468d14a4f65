"""One format for a run's saved state: an .npz of arrays with a JSON header.

``checkpoint.npz`` (``nst train``) and ``video_state.npz`` (``nst video``) are both written and
read here; each then checks its own fields. Nothing is unpickled: the header is JSON text.
"""
import io
import json
import os
from typing import Any, Dict, Mapping

import numpy as np

from nst.errors import NSTError


def state_bytes(header: Dict[str, Any], arrays: Mapping[str, np.ndarray]) -> bytes:
    """The .npz content of ``header`` (JSON-able) and ``arrays`` (name -> array)."""
    contents: Dict[str, Any] = {"header": np.array(json.dumps(header)), **arrays}
    buffer = io.BytesIO()
    np.savez(buffer, **contents)
    return buffer.getvalue()


def read_state_file(path: str, what: str, writer: str) -> Dict[str, np.ndarray]:
    """The arrays of the state file at ``path``, ``header`` among them still encoded.

    One error when it is missing (``writer`` says what writes one) or not an .npz.
    """
    if not os.path.isfile(path):
        raise NSTError(f"{path}: no {what} to resume from ({writer})")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except Exception as exc:  # zip and format errors all mean the same to the user
        raise NSTError(f"{path}: not a readable {what} (damaged?): {exc}") from None


def header_of(arrays: Mapping[str, np.ndarray], version: int) -> Dict[str, Any]:
    """The decoded JSON header, a mapping of format ``version``, or ValueError saying what is wrong."""
    if "header" not in arrays:
        raise ValueError("header is missing")
    if arrays["header"].ndim != 0:
        raise ValueError(f"header has {arrays['header'].ndim} dimensions, not 0")
    header = json.loads(str(arrays["header"]))
    found = header.get("format") if isinstance(header, dict) else None
    if found != version:
        raise ValueError(f"format {found} (this version reads format {version}; start a new run)")
    return header
