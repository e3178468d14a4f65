"""The run's folder: a run owns it while it writes, and never writes over what it was given.

Before anything is written, :meth:`RunFolder.claim` takes an exclusive lock
(a second run into the same folder is refused at once, naming the process
that holds it; the kernel drops a dead process's lock, so the next run takes
it over), refuses a run whose files would replace one of its inputs, refuses
a folder that holds an earlier run unless that run is resumed or
``overwrite`` removes its files first, and removes temporary files a killed
run left behind. Every file is then written atomically, with the permissions
the umask gives, and a failed write is one message saying what is left.
"""
import errno
import fcntl
import os
import re
from typing import Any, List, Mapping

import numpy as np

from nst.algorithm import images
from nst.errors import NSTError

LOCK_FILE = ".nst.lock"
_RUN_FILE_PATTERNS = [r"(content|style|final|best)\.png|style_\d+\.png|iteration_\d{4,}\.png|history\.csv|"
                      r"checkpoint\.npz"]  # nst train's; other front-ends add theirs
# What images.write_atomic leaves if killed mid-write: its mark and mkstemp's 8 random characters.
TEMPORARY = re.compile(r"\.(?P<name>.+)" + re.escape(images.TEMPORARY_MARK) + r"[a-z0-9_]{8}\.tmp")

# The files of a run folder. Each front-end registers its own (register_run_files), so a folder that
# holds any run's files is known as a run's, and the lower layer need not know the front-ends.
HISTORY_FILE = "history.csv"
FINAL_IMAGE = "final.png"
BEST_IMAGE = "best.png"
CONTENT_IMAGE = "content.png"  # C as the network saw it


def iteration_image_name(iteration: int) -> str:
    return f"iteration_{iteration:04d}.png"


def style_image_names(count: int) -> List[str]:
    """style.png, then style_2.png, ... for several style images."""
    return ["style.png"] + [f"style_{k}.png" for k in range(2, count + 1)]


def register_run_files(pattern: str) -> None:
    """Add the names (a regular expression) that a front-end's runs write into their folder."""
    _RUN_FILE_PATTERNS.append(pattern)


def is_run_file(name: str) -> bool:
    """Whether ``name`` is one of the files that some run writes."""
    return any(re.fullmatch(pattern, name) for pattern in _RUN_FILE_PATTERNS)


def run_files(path: str) -> List[str]:
    """The names in ``path`` that a run writes."""
    return sorted(name for name in os.listdir(path) if is_run_file(name))


def prepare_output_dir(path: str) -> None:
    """Create the output folder and prove it is writable, before any work is done."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise NSTError(f"{path}: output path exists and is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        probe = os.path.join(path, ".nst-write-test")
        with open(probe, "wb"):
            pass
        os.unlink(probe)
    except OSError as exc:
        raise NSTError(f"{path}: output directory is not writable ({exc.strerror or exc})") from None


def _identity(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_dev, info.st_ino


class RunFolder:
    """The output folder of one run."""

    def __init__(self, path, result=None):
        self.path, self.result, self.images, self.iteration, self.lock = path, result, [], 0, None

    def claim(self, inputs: Mapping[str, Any], resume: bool = False, overwrite: bool = False) -> "RunFolder":
        """Lock the folder and check it may be written; ``inputs`` maps each setting to its file(s).

        ``result``, the final image named outside the folder, is one of the run's files too.
        """
        self._lock()
        try:
            self._check_inputs(inputs)
            if self.result and os.path.lexists(self.result) and not (resume or overwrite):
                raise NSTError(f"{self.result}: exists already; the run would write over it: resume its run or "
                               "replace it ({option}), or name another output", ("resume", "overwrite"))
            earlier = run_files(self.path)
            if earlier and not resume:
                if not overwrite:
                    raise NSTError(f"{self.path}: holds an earlier run ({', '.join(earlier[:3])}"
                                   f"{', ...' if len(earlier) > 3 else ''}): continue it or replace it ({{option}}), "
                                   "or choose another output folder", ("resume", "overwrite"))
                for name in earlier:
                    os.unlink(os.path.join(self.path, name))
            self._remove_temporary_files()
        except BaseException:
            self.release()
            raise
        return self

    def _lock(self):
        path = os.path.join(self.path, LOCK_FILE)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        except OSError as exc:
            raise NSTError(f"{path}: cannot write ({exc.strerror or exc})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise NSTError(f"{self.path}: another run is writing there (process {holder}); wait for it to "
                               "finish or choose another output folder") from None
            raise
        self.lock = fd
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:  # a full disk: even the pid cannot be written
            self.release()
            raise NSTError(f"{path}: cannot write ({exc.strerror or exc})") from None

    def __enter__(self) -> "RunFolder":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()

    def release(self) -> None:
        """Drop the lock (the kernel also does when the process dies)."""
        if self.lock is not None:
            try:
                os.unlink(os.path.join(self.path, LOCK_FILE))
            except OSError:
                pass
            os.close(self.lock)
            self.lock = None

    def _check_inputs(self, inputs):
        """Refuse when a file the run writes is one of its inputs (same file, through any name or link)."""
        ours = {_identity(os.path.join(self.path, name)): name for name in run_files(self.path)}
        if self.result:
            ours[_identity(self.result)] = f"the output {self.result}"
        ours.pop(None, None)
        for setting, paths in inputs.items():
            for path in [paths] if isinstance(paths, str) or paths is None else paths:
                name = ours.get(_identity(path)) if path else None
                if name:
                    where = name if name.startswith("the output") else f"{name} in the output folder"
                    raise NSTError(f"{path}: this input ({{option}}) is {where}, which the run writes; move it or "
                                   "choose another output", setting)

    def _remove_temporary_files(self):
        for name in os.listdir(self.path):
            match = TEMPORARY.fullmatch(name)
            if match and is_run_file(match["name"]):
                os.unlink(os.path.join(self.path, name))

    def write(self, name: str, data: bytes) -> str:
        """Write ``data`` (bytes) as ``name`` (in the folder, unless a path), atomically; return the path."""
        path = os.path.join(self.path, name)
        try:
            images.write_atomic(path, data)
        except OSError as exc:
            raise NSTError(self.failure(path, exc)) from None
        return path

    def write_picture(self, name: str, pixels: np.ndarray) -> str:
        """Write G's pixels as ``name``; it becomes "the last complete image" of messages."""
        path = self.write(name, images.encode_image(pixels, name))
        self.images.append(path)
        return path

    def failure(self, path: str, exc: OSError) -> str:
        """What failed, when, and what is left on disk."""
        if not os.path.isdir(self.path):
            return (f"{self.path}: output directory vanished during the run (after {self.iteration} steps); "
                    "nothing more can be saved")
        kept = f"the last complete image is {self.images[-1]}" if self.images else "no image was saved yet"
        return f"{path}: cannot write ({exc.strerror or exc}) after {self.iteration} steps; {kept}"
