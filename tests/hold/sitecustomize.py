"""A test hook for processes the tests cannot reach otherwise (``nst batch``'s Ray workers): hold a job at a
known point, its first checkpoint, until the test lets it go.

Python imports ``sitecustomize`` at start-up from the first folder of ``PYTHONPATH`` that has one, so a test
puts this folder first in the environment of the process it starts (and every process that one starts, Ray's
workers included, inherits it). Nothing happens unless ``NST_TEST_HOLD_DIR`` is set, and nothing is imported
until the process itself imports the run module (Ray's own helper processes never do).

In a process that runs jobs, job number ``NST_TEST_HOLD_JOB`` (1 = the first,
default) is held once its first checkpoint is on disk: the hook writes ``NST_TEST_HOLD_DIR/held-NAME-PID``
(``NAME`` from ``NST_TEST_HOLD_NAME``) and then waits until one of:

- a stop is requested in this process (``StopRequest.request``, what a batch worker does when the batch is
  told to stop): the job then stops after its step, as it would at any step;
- the file ``NST_TEST_HOLD_DIR/release`` exists: the job goes on;
- ``NST_TEST_HOLD_SECONDS`` (default 600) have passed, so that a failed test never leaves a process behind.

The test waits on the ``held-*`` files, never on a fixed time: what it checks then happens at that point
whatever the machine's speed.

A full disk, in any process started with ``NST_TEST_FULL_DIR``: while the file ``NST_TEST_HOLD_DIR/full``
exists, ``os.fsync`` and ``os.pwrite`` of a file under that folder fail with ENOSPC, as on a full disk (a
write reaches it at the latest at the fsync of ``write_atomic``; a lock file's pid goes by ``pwrite``).
"""
import errno
import importlib
import importlib.abc
import importlib.util
import os
import sys
import threading

RUN_MODULE = "nst.run.consumers"  # the module whose checkpoint writer calls write_checkpoint
STOP_MODULE = "nst.run.interrupt"  # the module that holds StopRequest


def _hold(folder):
    name = os.environ.get("NST_TEST_HOLD_NAME", "job")
    with open(os.path.join(folder, f"held-{name}-{os.getpid()}"), "w") as f:
        f.write("held\n")
    release = os.path.join(folder, "release")
    waited, limit = 0.0, float(os.environ.get("NST_TEST_HOLD_SECONDS", "600"))
    while not os.path.exists(release) and waited < limit:
        if _stopped.wait(0.1):  # a condition, polled: the stop request or the release file
            return
        waited += 0.1


_stopped = threading.Event()


def _patch(run):
    """Hold the ``which``-th job at its first checkpoint: jobs are told apart by their checkpoint's path."""
    folder = os.environ["NST_TEST_HOLD_DIR"]
    which = int(os.environ.get("NST_TEST_HOLD_JOB", "1"))
    state = {"paths": [], "held": False}
    write_checkpoint = run.write_checkpoint

    def holding_write(path, *args, **kwargs):
        write_checkpoint(path, *args, **kwargs)
        if path not in state["paths"]:
            state["paths"].append(path)
            if len(state["paths"]) == which and not state["held"]:
                state["held"] = True
                _hold(folder)

    stop_request = importlib.import_module(STOP_MODULE).StopRequest
    request = stop_request.request

    def noted_request(self, *args, **kwargs):
        request(self, *args, **kwargs)
        _stopped.set()

    run.write_checkpoint, stop_request.request = holding_write, noted_request


class _AfterImport(importlib.abc.MetaPathFinder):
    """Patches the run module as soon as it has been executed, whoever imports it."""

    def find_spec(self, name, path, target=None):
        if name != RUN_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        execute = spec.loader.exec_module

        def exec_module(module):
            execute(module)
            _patch(module)

        spec.loader.exec_module = exec_module
        return spec


def _fill(folder, flag):
    """``os.fsync`` and ``os.pwrite`` of files under ``folder`` fail with ENOSPC while ``flag`` exists."""
    def full(fd):
        try:
            return os.path.exists(flag) and os.readlink(f"/proc/self/fd/{fd}").startswith(folder + os.sep)
        except OSError:
            return False

    def failing(call):
        def write(fd, *args):
            if full(fd):
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return call(fd, *args)
        return write

    os.fsync, os.pwrite = failing(os.fsync), failing(os.pwrite)


if os.environ.get("NST_TEST_HOLD_DIR"):
    sys.meta_path.insert(0, _AfterImport())
    if os.environ.get("NST_TEST_FULL_DIR"):
        _fill(os.path.realpath(os.environ["NST_TEST_FULL_DIR"]), os.path.join(os.environ["NST_TEST_HOLD_DIR"], "full"))
