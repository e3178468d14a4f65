"""The consumers of a run's steps, each with one job: the cost history, the best image, the images of
the save points, the checkpoint, TensorBoard, the progress bar, the time estimate.

Every consumer sees every step (``step``) and every save point (``save``); a program adds its own
by subclassing :class:`Consumer`. None of them changes a cost: they only read what the steps give.
"""
import csv
import io
import os
import sys
from typing import TYPE_CHECKING, Callable, Optional, Protocol

from tqdm import tqdm

from nst.algorithm import images
from nst.algorithm.optimize import Step, history_columns
from nst.errors import NSTError
from nst.run.checkpoint import CHECKPOINT_FILE, Best, Checkpoint, write_checkpoint
from nst.run.outputs import BEST_IMAGE, HISTORY_FILE
from nst.run.summaries import SummaryLog

if TYPE_CHECKING:  # the problem module reads the pictures; a consumer only gets one
    from nst.run.problem import Problem

HISTORY_FIELDS = history_columns()  # history.csv's


class Consumer(Protocol):
    """What the loop feeds: every step (``step``) and every save point (``save``).

    ``begin`` gets the :class:`nst.run.problem.Problem` once it is read (for its ``picture``);
    ``close`` ends the consumer. The loop calls all four: subclass this and override what you need.
    """

    def begin(self, problem: "Problem") -> None:
        return None

    def step(self, step: Step) -> None:
        return None

    def save(self, step: Step, name: str, last: bool = False) -> None:
        return None

    def close(self) -> None:
        return None


class History(Consumer):
    """The cost rows, one per G; written as history.csv (or ``name``) at every save point."""

    def __init__(self, folder, rows=(), name=HISTORY_FILE, fields=HISTORY_FIELDS):
        self.folder, self.rows, self.name, self.fields = folder, list(rows), name, fields

    def step(self, step):
        self.rows.append(step._replace(image=None))  # images are not kept: 200 of them fill memory

    def save(self, step, name, last=False):
        if self.folder:
            self.write()

    def write(self):
        text = io.StringIO()
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(self.fields)
        writer.writerows([_cell(r, field) for field in self.fields] for r in self.rows)
        self.folder.write(self.name, text.getvalue().encode())


def _cell(row, field):
    """A history value as written: the iteration as is, seconds to the millisecond, costs to 9 digits."""
    value = getattr(row, field)
    return value if field == "iteration" else f"{value:.3f}" if field == "seconds" else f"{value:.9g}"


class BestImage(Consumer):
    """The lowest-J G seen; best.png rewritten at a save point when it changed."""

    def __init__(self, folder, picture, best=None):
        self.folder, self.picture, self.best, self.written = folder, picture, best, True

    def step(self, step):
        if self.best is None or step.J < self.best.J:
            self.best, self.written = Best(step.J, step.image, step.iteration), False

    def save(self, step, name, last=False):
        if self.folder and not self.written:  # not one of the G images: the message's "last image"
            self.folder.write(BEST_IMAGE, images.encode_image(self.picture(self.best.image), BEST_IMAGE))
            self.written = True


class Pictures(Consumer):
    """G at the save points: iteration_NNNN.png, and final.png at the end (and the output image if named)."""

    def __init__(self, folder, picture):
        self.folder, self.picture = folder, picture

    def save(self, step, name, last=False):
        if not self.folder:
            return
        pixels = self.picture(step.image)
        self.folder.write_picture(name, pixels)
        if last and self.folder.result:
            self.folder.write_picture(self.folder.result, pixels)


class CheckpointWriter(Consumer):
    """checkpoint.npz at every save point: the optimizer's state, the history, the best image."""

    def __init__(self, folder, optimizer, history, best, config, fingerprint, inputs=None):
        self.folder, self.optimizer, self.history, self.best = folder, optimizer, history, best
        self.config, self.fingerprint, self.inputs = config, fingerprint, inputs

    def save(self, step, name, last=False):
        steps, variables = self.optimizer.state(step, last)
        checkpoint = Checkpoint(steps, self.history.rows[:steps], self.best.best, variables, self.config,
                                self.fingerprint, self.inputs)
        path = os.path.join(self.folder.path, CHECKPOINT_FILE)
        try:
            write_checkpoint(path, checkpoint)
        except OSError as exc:
            raise NSTError(self.folder.failure(path, exc)) from None


class TensorBoard(Consumer):
    """--logdir: the costs at every step, G at every save point."""

    def __init__(self, logdir, picture):
        self.log, self.picture = SummaryLog(logdir), picture

    def step(self, step):
        costs = {"J": step.J, "J_content": step.J_content, "J_style": step.J_style}
        if step.J_tv is not None:
            costs["J_tv"] = step.J_tv
        self.log.scalars(step.iteration, costs)

    def save(self, step, name, last=False):
        self.log.image(step.iteration, "G", self.picture(step.image))

    def close(self):
        self.log.close()


class ProgressBar(Consumer):
    """A tqdm bar over the steps, showing the costs; it ends on the final J."""

    def __init__(self, total, first, unit, label="nst"):
        self.bar = tqdm(desc=label, unit=unit, dynamic_ncols=True, initial=first, total=total)

    def step(self, step):
        self.bar.set_postfix(J=f"{step.J:.4g}", J_content=f"{step.J_content:.4g}", J_style=f"{step.J_style:.4g}",
                             refresh=False)
        self.bar.update(step.iteration - self.bar.n)

    def close(self):
        self.bar.close()


class TileBar:
    """A second bar under the steps' bar for a tiled graph: the tiles of the pass it is in (its ``progress``)."""

    def __init__(self, quiet: bool = False) -> None:
        self.bar: Optional[tqdm] = None
        self.quiet = quiet

    def __call__(self, label: str, done: int, total: int) -> None:
        if self.quiet:
            return
        if self.bar is None:
            self.bar = tqdm(unit="tile", leave=False, position=1, dynamic_ncols=True)
        if done == 1:
            self.bar.reset(total=total)
            self.bar.set_description_str(f"tiles, {label}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class TimeEstimate(Consumer):
    """One line, once three steps after the first are done, saying how long the run will take.

    The first step's time holds the graph's warm-up (L-BFGS's, the second's), so the rate is timed from step
    first+1 to first+3; the bar then keeps counting down.
    """

    TIMED = 2  # step intervals timed: first+1 .. first+3

    def __init__(self, say: Callable[[str], None], total: int, first: int, label: str, unit: str) -> None:
        self.say, self.total, self.first, self.label, self.unit = say, total, first, label, unit
        self.since: Optional[float] = None  # seconds of step first+1, until the line is said

    def step(self, step):
        if step.iteration == self.first + 1 and self.total - self.first >= 5:
            self.since = step.seconds
        elif step.iteration == self.first + 1 + self.TIMED and self.since is not None:
            rate, self.since = (step.seconds - self.since) / self.TIMED, None
            with tqdm.external_write_mode(file=sys.stderr):  # the bar is cleared and redrawn under the line
                self.say(self.line(rate, self.total - step.iteration))

    def line(self, rate: float, left: int) -> str:
        steps = f"{self.label} {self.unit}s"
        what = f"for {self.total} {steps}" if self.first == 0 else f"left for the remaining {left} {steps}"
        return (f"time:    about {duration(rate * left)} {what} ({rate:.3g} s per {self.unit} over {self.TIMED} "
                "timed; the bar shows what is left)")


def duration(seconds: float) -> str:
    """A time as one says it: seconds under 2 min, minutes under 2 h, hours above."""
    if seconds < 120:
        return f"{seconds:.2g} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
