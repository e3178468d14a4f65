"""Ends an embedded Ray once the batch that started it has ended, however it ended (kill -9 too), and
removes Ray's folder.

:class:`nst.batch.embedded.Embedded` starts it with a pipe whose other end only the batch's process holds:
end of file on stdin means the batch is done with Ray (it closed the pipe after ``ray.shutdown``) or gone.
Ray's processes are then found by what ties them to the folder, read from /proc: its path in their command
line, or a file open in it (workers and agents rewrite their command line, but keep their log files there
open). Only the standard library, run by path with ``python -I``: it starts at once and reads no setting of
the user's.
"""
import os
import shutil
import signal
import sys
import time

SWEEPS = 100  # at most, a tenth of a second apart: until no process uses the folder (a zombie uses none)


def uses(pid, folder):
    """Whether process ``pid`` names ``folder`` in its command line or has a file open there."""
    mark = os.fsencode(os.path.join(folder, ""))
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if mark in f.read():
                return True
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:  # gone, or another user's
        return False
    for fd in fds:
        try:
            if os.fsencode(os.readlink(f"/proc/{pid}/fd/{fd}")).startswith(mark):
                return True
        except OSError:
            pass
    return False


def users(folder, spared):
    return [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) not in spared and uses(int(e), folder)]


def sweep(folder, batch):
    """SIGKILL the processes that use ``folder`` until none is left, then remove it; the batch's process
    ``batch`` is spared: alive, it holds Ray's log of itself there (a notebook, the tests run batches inside)."""
    for _ in range(SWEEPS):
        found = users(folder, {os.getpid(), batch})
        if not found:
            break
        for pid in found:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.1)  # the killed ones to go
    shutil.rmtree(folder, ignore_errors=True)


def main(folder, batch):
    try:
        os.setsid()  # away from the terminal and the batch's process group: their signals are not for it
    except OSError:
        pass
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_IGN)
    while sys.stdin.buffer.read(4096):
        pass
    sweep(folder, batch)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
