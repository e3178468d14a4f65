"""One job on a worker: ``nst train``'s run in the job's folder, resumed from its checkpoint when it has one.

Whatever happens is an :class:`Outcome` for the manifest, never an exception:
bad input is the job's one-line error (the batch goes on), a stop request
leaves the job pending with its checkpoint saved, and so does a full disk,
which stops the batch (every job after it would fail the same way).
"""
import os
import time
import traceback
from typing import NamedTuple, Optional

from nst.commands.train import flag
from nst.errors import NSTError, disk_full
from nst.run.checkpoint import CHECKPOINT_FILE, read_checkpoint
from nst.run.config import CONTINUABLE
from nst.run.consumers import Consumer
from nst.run.loop import run_style_transfer


class Outcome(NamedTuple):
    status: str  # done, failed or pending (stopped, its checkpoint saved)
    J: Optional[float] = None
    steps: Optional[int] = None
    seconds: Optional[float] = None  # of optimisation, over all the job's attempts
    error: str = ""
    wall: float = 0.0  # of this attempt on its worker: reading, checks, the graph, the steps, the files
    disk_full: bool = False  # a write failed for want of space: the batch stops


class StepCount(Consumer):
    """The running job's steps, for the driver's progress bar (read from another thread)."""

    def __init__(self, total):
        self.first, self.steps, self.total = None, 0, total

    def step(self, step):
        if self.first is None:
            self.first = step.iteration  # 0, or where a resumed job's checkpoint left it: not this batch's work
        self.steps = step.iteration

    def answer(self):
        """(first step, steps, iterations) once a step is done, else None."""
        return None if self.first is None else (self.first, self.steps, self.total)


def one_line(exc):
    """An error as the command line would print it: the setting named by its flag, on one line."""
    text = exc.message(flag) if isinstance(exc, NSTError) else f"{type(exc).__name__}: {exc}"
    return " ".join(text.split())


def resumable(config):
    """The checkpoint in the job's folder if the job can continue it, else None (the job starts over)."""
    path = os.path.join(config.output, CHECKPOINT_FILE)
    if not os.path.exists(path):
        return None
    try:
        checkpoint = read_checkpoint(path)
    except NSTError:
        return None  # damaged: the job starts over and writes a new one
    if checkpoint.steps >= config.iterations or \
            checkpoint.config.without(CONTINUABLE) != config.without(CONTINUABLE):
        return None
    return checkpoint


def run_job(config, may_resume, stop=None, consumers=()):
    """Run one job's configuration into its folder; an :class:`Outcome`. ``stop``, a
    :class:`nst.run.interrupt.StopRequest`, lets another thread end the job after its current step;
    ``consumers`` see its steps (a :class:`StepCount`)."""
    start = time.perf_counter()
    return _run(config, may_resume, stop, consumers)._replace(wall=time.perf_counter() - start)


def _run(config, may_resume, stop, consumers):
    try:
        checkpoint = resumable(config) if may_resume else None
        result = run_style_transfer(config.replace(overwrite=checkpoint is None), checkpoint, consumers, stop=stop)
    except Exception as exc:
        if disk_full(exc):  # not the job's fault: it stays pending, to resume from its last checkpoint
            return Outcome("pending", error=one_line(exc), disk_full=True)
        if not isinstance(exc, NSTError):  # a fault in nst itself: the job fails with it, the batch goes on
            traceback.print_exc()  # into the worker's log
        return Outcome("failed", error=one_line(exc))
    last = result.history[-1]
    if result.interrupted:
        return Outcome("pending", steps=last.iteration, seconds=last.seconds)
    return Outcome("done", last.J, last.iteration, last.seconds)
