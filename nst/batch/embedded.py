"""Embedded Ray kept to itself: its files in a folder nst removes, a token of its own, no process left behind.

Left to itself, ``ray.init`` keeps its logs and sockets in /tmp/ray and writes a token to
~/.ray/auth_token, for good; and when the batch is killed (SIGKILL), Ray's GCS and raylet die with it (the
kernel's parent-death signal) but its agents go on running. So an embedded Ray gets a folder of its own
(``nst-ray-*`` under RAY_TMPDIR, else /tmp: Ray's socket paths must fit 107 bytes) that holds its files
and its token (RAY_AUTH_TOKEN_PATH, readable by this user only), and a watchdog
(:mod:`nst.batch.watchdog`) that, once the batch's process has ended, however, ends every process still
using the folder and removes it.
"""
import os
import secrets
import subprocess
import sys
import tempfile

from nst.batch import watchdog
from nst.errors import NSTError

TOKEN_FILE = "auth_token"
TOKEN = secrets.token_hex(32)  # one per process: Ray's driver keeps the first token it read
WATCHDOG_WAIT_S = 30  # how long the end of a batch waits for Ray's folder to go


class Embedded:
    """Ray's folder, its token and its watchdog, from before ``ray.init`` until :meth:`close`."""

    def __init__(self):
        parent = os.environ.get("RAY_TMPDIR") or "/tmp"
        try:
            self.folder = tempfile.mkdtemp(prefix="nst-ray-", dir=parent)
        except OSError as exc:
            raise NSTError(f"{parent}: cannot make Ray's folder there ({exc.strerror or exc}); set RAY_TMPDIR "
                           "to a folder with room") from None
        self.watchdog = subprocess.Popen([sys.executable, "-I", watchdog.__file__, self.folder, str(os.getpid())],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL, cwd="/")
        self.before = os.environ.get("RAY_AUTH_TOKEN_PATH")
        os.environ["RAY_AUTH_TOKEN_PATH"] = self._write_token()  # Ray's processes inherit it

    def _write_token(self):
        path = os.path.join(self.folder, TOKEN_FILE)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(TOKEN)
        except OSError as exc:
            self.close()
            raise NSTError(f"{path}: cannot write ({exc.strerror or exc}); set RAY_TMPDIR to a folder with "
                           "room") from None
        return path

    def close(self):
        """After ``ray.shutdown``: the watchdog ends what is left of Ray and removes its folder."""
        if self.before is None:
            os.environ.pop("RAY_AUTH_TOKEN_PATH", None)
        else:
            os.environ["RAY_AUTH_TOKEN_PATH"] = self.before
        self.watchdog.stdin.close()
        try:
            self.watchdog.wait(WATCHDOG_WAIT_S)
        except subprocess.TimeoutExpired:  # it goes on by itself
            pass
