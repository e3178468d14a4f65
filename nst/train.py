"""Seed step 5: run Adam for N iterations, recording costs and saving images.

Run as ``python -m nst.train`` (options: ``--help``). Each step is one
``sess.run`` of the train op that also fetches J, J_content and J_style: the
forward pass computes them anyway, so the cost history is free. The image is
fetched only when it is saved, and before each step to keep the lowest-J
image (``best.png``) and the last image with a finite J.

None of what the loop adds to the seed changes a cost: every save point also
writes a checkpoint (``nst.checkpoint``, for ``--resume``), Ctrl-C stops after
the current step and saves, a J that is no longer finite stops the run with
the last good image kept, a failed write (full disk, vanished directory) is
one clear error, and ``logdir`` gets TensorBoard curves.
"""
import csv
import io
import math
import os
import time
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

from nst.checkpoint import CHECKPOINT_FILE, restore, write_checkpoint
from nst.errors import NSTError
from nst.images import VGG_MEAN, encode_image, to_pixels, write_atomic
from nst.interrupt import stop_on_sigint
from nst.summaries import SummaryLog

HISTORY_FIELDS = ("iteration", "J", "J_content", "J_style", "seconds")
HISTORY_FILE = "history.csv"
FINAL_IMAGE = "final.png"
BEST_IMAGE = "best.png"
INPUT_IMAGES = ("content.png", "style.png")  # C and S as the network saw them
COST_TAGS = ("J", "J_content", "J_style", "J_tv")


class Result(NamedTuple):
    image: object  # final G, (1, H, W, 3), normalised
    history: list  # rows of HISTORY_FIELDS; row i holds the costs after i steps
    saved: list  # paths of the images written
    best: tuple = None  # (J, image, iteration) of the lowest-J image seen
    interrupted: bool = False  # stopped by Ctrl-C before the last step


class Diverged(NSTError):
    """J stopped being finite; the message says what to lower and where the last good image is."""


def iteration_image_name(step):
    return f"iteration_{step:04d}.png"


def write_history(path, history):
    """The cost history as CSV, written atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HISTORY_FIELDS)
    writer.writerows([r[0], f"{r[1]:.9g}", f"{r[2]:.9g}", f"{r[3]:.9g}", f"{r[4]:.3f}"] for r in history)
    write_atomic(path, text.getvalue().encode())


def picture(image, mean_pixel=VGG_MEAN, postprocess=None):
    """uint8 pixels of a normalised image as saved: mean added, clipped, then ``postprocess``ed."""
    pixels = to_pixels(image, mean_pixel)
    return np.rint(postprocess(pixels)).astype(np.uint8) if postprocess else pixels


class _Run:
    """One optimisation's record (history, best and last good image, files written) and its writing."""

    def __init__(self, graph, output_dir, mean_pixel, postprocess, logdir, info, on_save=None):
        self.graph, self.output_dir, self.mean_pixel, self.on_save = graph, output_dir, mean_pixel, on_save
        self.postprocess, self.info = postprocess, info
        self.log = SummaryLog(logdir) if logdir else None
        self.costs = [graph.J, graph.J_content, graph.J_style] + ([graph.J_tv] if graph.J_tv is not None else [])
        self.history, self.saved, self.best, self.last_good = [], [], None, None
        self.best_written, self.elapsed, self.start = True, 0.0, time.perf_counter()
        self.steps = 0  # steps done by the image being saved, for messages

    def begin(self, generated_image, checkpoint):
        """Initialise G, or restore a checkpoint's state; return the number of steps already done."""
        if checkpoint is None:
            self.graph.initialize(generated_image)
            return 0
        restore(self.graph, checkpoint)
        self.history, self.best = list(checkpoint.history), checkpoint.best
        self.elapsed = self.history[-1][4] if self.history else 0.0
        self.start = time.perf_counter()
        return checkpoint.steps

    def record(self, costs, image):
        """Append the costs of ``image`` as the next history row; track the best and last good image."""
        J = float(costs[0])
        if not math.isfinite(J):
            raise self.diverged(J)
        n = len(self.history)
        self.history.append((n, J, float(costs[1]), float(costs[2]), self.elapsed + time.perf_counter() - self.start))
        self.last_good = (image, n)
        if self.best is None or J < self.best[0]:
            self.best, self.best_written = (J, image, n), False
        if self.log:
            self.log.scalars(n, dict(zip(COST_TAGS, costs)))

    def picture(self, image):
        return picture(image, self.mean_pixel, self.postprocess)

    def write(self, name, write):
        """Run ``write(path)`` for a file of the output directory; an OSError becomes one clear error."""
        path = os.path.join(self.output_dir, name)
        try:
            write(path)
        except OSError as exc:
            raise NSTError(self.write_failure(path, exc)) from None
        return path

    def write_failure(self, path, exc):
        """The message for a failed write: what failed, when, and what is left on disk."""
        if not os.path.isdir(self.output_dir):
            return (f"{self.output_dir}: output directory vanished during the run (after {self.steps} steps); "
                    "nothing more can be saved")
        kept = f"the last complete image is {self.saved[-1]}" if self.saved else "no image was saved yet"
        return f"{path}: cannot write ({exc.strerror or exc}) after {self.steps} steps; {kept}"

    def write_image(self, name, image=None, pixels=None):
        """Save a normalised image (or its ``pixels``) as ``name``; return the path."""
        pixels = self.picture(image) if pixels is None else pixels
        return self.write(name, lambda path: write_atomic(path, encode_image(pixels, path)))

    def save(self, name, steps):
        """Write G as ``name``, the best image if it changed, the history and a checkpoint."""
        if not (self.output_dir or self.log or self.on_save):
            return
        self.steps = steps
        image = self.graph.image()
        if self.on_save:
            self.on_save(steps, image)
        pixels = self.picture(image)
        if self.output_dir:
            self.saved.append(self.write_image(name, pixels=pixels))
            self.save_record()
            self.write(CHECKPOINT_FILE, lambda path: write_checkpoint(
                path, self.graph, steps, self.history, self.best, self.info))
        if self.log:
            self.log.image(steps, "G", pixels)

    def save_record(self):
        """The history and, if it changed since it was last written, the best image."""
        if not self.best_written and self.best is not None:
            self.write_image(BEST_IMAGE, self.best[1])
            self.best_written = True
        self.write(HISTORY_FILE, lambda path: write_history(path, self.history))

    def diverged(self, J):
        """The error for a non-finite J, after saving the last good image and the history."""
        n = len(self.history)
        hint = ("lower the learning rate (--learning-rate)" if n else
                "lower the cost weights (--alpha, --beta, --tv-weight) or check the images")
        kept = ""
        if self.output_dir and self.last_good is not None:
            image, good = self.last_good
            self.steps = good
            path = self.write_image(iteration_image_name(good), image)
            self.saved.append(path)
            self.save_record()
            kept = f"; the last good image (after {good} steps) is {path}"
        return Diverged(f"J became {J} after {n} steps: {hint}{kept}")

    def interrupt(self, steps):
        """Ctrl-C: record and save the current G (and a checkpoint), then return."""
        self.record(self.graph.sess.run(self.costs), self.graph.image())
        self.save(iteration_image_name(steps), steps)
        return self.result(interrupted=True)

    def result(self, interrupted=False):
        return Result(self.graph.image(), self.history, self.saved, self.best, interrupted)

    def close(self):
        if self.log:
            self.log.close()


def run_style_transfer(graph, generated_image, iterations=200, save_every=20, output_dir=None,
                       mean_pixel=VGG_MEAN, progress=True, postprocess=None, logdir=None, resume=None,
                       info=None, optimizer="adam", on_save=None):
    """Optimise G from ``generated_image``; save every ``save_every`` steps and at the end.

    Returns a :class:`Result`. With ``output_dir`` None nothing is written
    (the notebook keeps images in memory). ``postprocess`` maps G's pixels to
    the picture saved (e.g. :func:`nst.colors.recombine`); ``logdir`` gets
    TensorBoard logs; ``resume`` is a :class:`nst.checkpoint.Checkpoint` to
    continue from (``generated_image`` is then unused); ``info`` (JSON-able)
    is stored in each checkpoint. ``optimizer`` "lbfgs" runs scipy's L-BFGS
    instead of the graph's Adam op, one history row per L-BFGS iteration.
    ``on_save(step, image)``, if given, gets G (normalised) at the save points,
    so the notebook can keep snapshots in memory; G is fetched only there.
    """
    run = _Run(graph, output_dir, mean_pixel, postprocess, logdir, info, on_save)
    try:
        if optimizer == "lbfgs":
            if resume is not None:
                raise NSTError("--resume: an L-BFGS run cannot be resumed (its curvature memory is not "
                               "in the checkpoint); start a new run with --init PATH of its last image")
            return _optimise_lbfgs(run, generated_image, iterations, save_every, progress)
        return _optimise(run, generated_image, iterations, save_every, progress, resume)
    finally:
        run.close()


def _optimise(run, generated_image, iterations, save_every, progress, resume):
    graph = run.graph
    first = run.begin(generated_image, resume)
    if first >= iterations:
        raise NSTError(f"--iterations {iterations}: the run already has {first} steps; ask for more to continue")
    fetches = [graph.train_step, graph.model["G"]] + run.costs
    bar = tqdm(range(first, iterations), desc="nst", unit="step", disable=not progress, dynamic_ncols=True,
               initial=first, total=iterations)
    with stop_on_sigint() as stop:
        for step in bar:
            if stop.requested:
                bar.close()
                return run.interrupt(step)
            # G as the step read it (its costs' image) comes with the step's own run: no extra fetch
            _, before, *costs = graph.sess.run(fetches)
            run.record(costs, before)
            bar.set_postfix(J=f"{costs[0]:.4g}", J_content=f"{costs[1]:.4g}", J_style=f"{costs[2]:.4g}",
                            refresh=False)
            if save_every and (step + 1) % save_every == 0 and step + 1 < iterations:
                run.save(iteration_image_name(step + 1), step + 1)
    bar.close()
    *costs, image = graph.sess.run(run.costs + [graph.model["input"]])  # G after the last step, one run
    run.record(costs, image)
    run.save(FINAL_IMAGE, iterations)
    return run.result()


def _optimise_lbfgs(run, generated_image, iterations, save_every, progress):
    """L-BFGS through the same graph: rows, saves, best image, Ctrl-C and NaN guard as with Adam."""
    from nst.lbfgs import minimize_lbfgs

    graph = run.graph
    run.begin(generated_image, None)
    run.record(graph.sess.run(run.costs), generated_image)
    bar = tqdm(total=iterations, desc="nst", unit="iter", disable=not progress, dynamic_ncols=True)

    with stop_on_sigint() as stop:
        def on_iteration(step, costs, seconds, image):
            run.record(costs, image)
            bar.update(1)
            bar.set_postfix(J=f"{costs[0]:.4g}", J_content=f"{costs[1]:.4g}", J_style=f"{costs[2]:.4g}",
                            refresh=False)
            if stop.requested or (save_every and step % save_every == 0 and step < iterations):
                graph.assign_input(image)
                run.save(iteration_image_name(step), step)
            return stop.requested

        final = minimize_lbfgs(graph, generated_image, iterations, on_iteration, run.mean_pixel)
    bar.close()
    if not np.array_equal(final, run.last_good[0]):  # scipy stopped at a point no iteration reported
        run.record(graph.sess.run(run.costs), final)
    steps = len(run.history) - 1
    if stop.requested:
        return run.result(interrupted=True)
    run.save(FINAL_IMAGE, steps)
    return run.result()


if __name__ == "__main__":
    from nst.cli import main

    raise SystemExit(main())
