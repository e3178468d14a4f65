"""A whole run from one :class:`nst.config.RunConfig`: inputs, graph, steps, files.

:func:`run_style_transfer` reads and checks the inputs (:func:`prepare`),
builds the graph, and feeds the optimizer's steps (``nst.optimize``) to small
consumers, each with one job: the cost history, the best image, the images of
the save points, the checkpoint, TensorBoard, the progress bar. Every consumer
sees every step (``step``) and every save point (``save``); a program can add
its own.

None of this changes a cost: the loop only reads what the steps give. Ctrl-C
stops after the current step and saves (image, history, checkpoint); a J that
is no longer finite stops the run with the last good image kept; a failed write
(full disk, vanished folder) is one clear error.
"""
import csv
import hashlib
import io
import math
import os
from typing import NamedTuple, Optional

import numpy as np
from tqdm import tqdm

from nst import colors, images, memory
from nst.checkpoint import CHECKPOINT_FILE, Best, Checkpoint, write_checkpoint
from nst.errors import NSTError
from nst.graph import build_graph, new_session
from nst.inputs import Inputs, initial_image, read_inputs, read_pictures, style_size, target_size
from nst.interrupt import Interrupted, stop_on_signals
from nst.optimize import LBFGS, Adam
from nst.outputs import RunFolder, prepare_output_dir
from nst.summaries import SummaryLog
from nst.vgg import read_vgg_weights, resolve_weights_path
from nst.weights.routes import label as weights_label

HISTORY_FIELDS = ("iteration", "J", "J_content", "J_style", "seconds")
HISTORY_FILE = "history.csv"
FINAL_IMAGE = "final.png"
BEST_IMAGE = "best.png"
CONTENT_IMAGE = "content.png"  # C as the network saw it
OPTIMIZERS = {"adam": Adam, "lbfgs": LBFGS}


def iteration_image_name(iteration):
    return f"iteration_{iteration:04d}.png"


def style_image_names(count):
    """style.png, then style_2.png, ... for several style images."""
    return ["style.png"] + [f"style_{k}.png" for k in range(2, count + 1)]


class Problem(NamedTuple):
    """What a run optimises, read and checked: the settings, the weights and the pictures."""

    config: object  # the RunConfig
    weights: object  # nst.vgg.VGGWeights
    inputs: Inputs
    C: object  # normalised (1, H, W, 3)
    S: list  # normalised style images

    def picture(self, image):
        """uint8 pixels of a normalised G as saved: mean added, clipped, colours as asked."""
        pixels = images.to_pixels(image, self.weights.mean_pixel)
        transform = colors.output_transform(self.inputs.original, self.config.preserve_colors)
        return np.rint(transform(pixels)).astype(np.uint8) if transform else pixels

    def fingerprint(self):
        """A digest of what defines the costs: C, the styles, the start picture and every weight used."""
        digest = hashlib.sha256()
        used = sorted(self.weights.convs)
        arrays = [self.C, *self.S, self.weights.mean_pixel] + [a for n in used for a in self.weights.convs[n]]
        if self.inputs.init is not None:
            arrays.append(self.inputs.init)
        for array in arrays:
            array = np.ascontiguousarray(array)
            digest.update(str((array.dtype.str, array.shape)).encode())
            digest.update(array.tobytes())
        return digest.hexdigest()


def prepare(config):
    """Every check before the graph: settings, images, weights, memory, output folder. A :class:`Problem`."""
    config.validate()
    settings = config.costs()
    pictures = read_pictures(config)
    size = target_size(config, pictures[0].shape)
    scaled = style_size(size, config.style_scale)
    weights = read_vgg_weights(resolve_weights_path(config.vgg))
    memory.check_fits(weights, size, settings.deepest())
    try:
        memory.check_fits(weights, scaled, settings.deepest())
    except NSTError as exc:
        raise NSTError(f"{{option}}: {exc.message()}", "style_scale") from None
    inputs = read_inputs(config, pictures, size, scaled)
    for folder in (config.output, config.logdir):
        if folder:
            prepare_output_dir(folder)
    mean = weights.mean_pixel
    C = images.reshape_and_normalize_image(inputs.content, mean)
    S = [images.reshape_and_normalize_image(s, mean) for s in inputs.styles]
    return Problem(config, weights, inputs, C, S)


class History:
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


class BestImage:
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


class Pictures:
    """G at the save points: iteration_NNNN.png, and final.png at the end (and the output image if named)."""

    def __init__(self, folder, picture):
        self.folder, self.picture = folder, picture

    def step(self, step):
        pass

    def save(self, step, name, last=False):
        if not self.folder:
            return
        pixels = self.picture(step.image)
        self.folder.write_picture(name, pixels)
        if last and self.folder.result:
            self.folder.write_picture(self.folder.result, pixels)


class CheckpointWriter:
    """checkpoint.npz at every save point: the optimizer's state, the history, the best image."""

    def __init__(self, folder, optimizer, history, best, config, fingerprint):
        self.folder, self.optimizer, self.history, self.best = folder, optimizer, history, best
        self.config, self.fingerprint = config, fingerprint

    def step(self, step):
        pass

    def save(self, step, name, last=False):
        steps, variables = self.optimizer.state(step, last)
        checkpoint = Checkpoint(steps, self.history.rows[:steps], self.best.best, variables, self.config,
                                self.fingerprint)
        path = os.path.join(self.folder.path, CHECKPOINT_FILE)
        try:
            write_checkpoint(path, checkpoint)
        except OSError as exc:
            raise NSTError(self.folder.failure(path, exc)) from None


class TensorBoard:
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


class ProgressBar:
    """A tqdm bar over the steps, showing the costs; it ends on the final J."""

    def __init__(self, total, first, unit):
        self.bar = tqdm(desc="nst", unit=unit, dynamic_ncols=True, initial=first, total=total)

    def step(self, step):
        self.bar.set_postfix(J=f"{step.J:.4g}", J_content=f"{step.J_content:.4g}", J_style=f"{step.J_style:.4g}",
                             refresh=False)
        self.bar.update(step.iteration - self.bar.n)

    def save(self, step, name, last=False):
        pass

    def close(self):
        self.bar.close()


class Result(NamedTuple):
    image: object  # the last G, (1, H, W, 3), normalised
    history: list  # Steps without images; row i holds the costs after i steps
    saved: list  # paths of the images written
    best: Optional[Best]
    interrupted: Optional[int] = None  # the signal (Ctrl-C's SIGINT, SIGTERM, SIGHUP) that stopped the run
    folder: Optional[str] = None
    color_distance: float = 0.0  # of the saved G to C: mean YIQ chroma distance, 0-255


class Diverged(NSTError):
    """J stopped being finite; the message says what to lower and where the last good image is."""


def run_style_transfer(config, checkpoint=None, consumers=(), say=None, stop=None):
    """Run ``config`` (continuing ``checkpoint`` if given) and return a :class:`Result`.

    ``consumers`` are extra objects with ``step(step)`` and ``save(step, name, last)``, and
    optionally ``begin(problem)``, called once the :class:`Problem` is read (for its ``picture``);
    ``say`` gets the lines a command line prints as the run starts; ``stop``, a
    :class:`nst.interrupt.StopRequest`, lets another thread stop the run as Ctrl-C does.
    """
    problem = prepare(config)
    fingerprint = problem.fingerprint()
    if checkpoint is not None and checkpoint.fingerprint != fingerprint:
        raise NSTError("the content, style images or weights are not those of the run being resumed, so its "
                       "costs could not continue; start a new run instead")
    if say:
        say(start_lines(problem))
    folder = RunFolder(config.output, config.output_image).claim(_input_files(config), checkpoint is not None,
                                                                 config.overwrite) if config.output else None
    try:
        start = start_image(problem, checkpoint, say)
        if folder:
            _write_inputs(folder, problem)
        sess = new_session()
        try:
            graph = build_graph(sess, problem.weights, problem.C, problem.S, config.costs(), config.style_blend)
            return _optimise(problem, graph, start, checkpoint, folder, fingerprint, consumers, stop)
        finally:
            sess.close()
    finally:
        if folder:
            folder.release()


def _input_files(config):
    """Every file the run reads, by setting: none of them may be written over."""
    return {"content": config.content, "style": config.style, "init": config.init_image,
            "vgg": resolve_weights_path(config.vgg)}


def start_lines(problem):
    c, inputs = problem.config, problem.inputs
    unit = OPTIMIZERS[c.optimizer].unit
    return (f"content: {inputs.content_name}\nstyle:   {', '.join(inputs.style_names)}\n"
            f"weights: {problem.weights.path}{weights_label(problem.weights.path)}\n"
            f"size:    {problem.C.shape[1]}x{problem.C.shape[2]}, "
            f"{c.iterations} {c.optimizer} {unit}s on {device_name()}{precision_note(c.precision)}")


def precision_note(precision):
    """The start line's word on --precision bf16: where the CPU has no bfloat16 instructions, it is slow."""
    from nst.onednn import has_bf16
    from nst.tf1 import GPUS

    if precision == "fp32":
        return ""
    if GPUS or has_bf16():
        return ", in bfloat16"
    return ", in bfloat16 (this CPU has no bfloat16 instructions: expect it slower than fp32)"


def device_name():
    from nst.tf1 import GPUS

    return f"GPU ({GPUS[0].name})" if GPUS else f"CPU ({os.cpu_count()} cores)"


def start_image(problem, checkpoint=None, say=None):
    """G's first value: the configured start, refined at half size first with coarse_to_fine."""
    c = problem.config
    G = initial_image(c.init, problem.C, problem.inputs.init, problem.weights.mean_pixel, c.seed, c.noise_ratio,
                      c.init_std)
    if c.coarse_to_fine and checkpoint is None:
        from nst.coarse import coarse_start

        if say:
            say(f"coarse:  {c.coarse_to_fine} {c.optimizer} {OPTIMIZERS[c.optimizer].unit}s at half size first")
        G = coarse_start(problem.weights, problem.inputs.content, problem.inputs.styles, G, c.costs(),
                         c.coarse_to_fine, _quiet_run(c.optimizer), c.style_blend)
    return G


def _quiet_run(optimizer):
    """How the half-size stage optimises: the run's optimizer, nothing saved; Ctrl-C aborts it."""
    def run(graph, G, iterations):
        with stop_on_signals() as stop:
            for step in OPTIMIZERS[optimizer](graph).steps(G, iterations):
                if stop.requested:
                    raise Interrupted(stop.signum)
        return step.image

    return run


def _write_inputs(folder, problem):
    mean = problem.weights.mean_pixel
    for name, image in zip([CONTENT_IMAGE] + style_image_names(len(problem.S)), [problem.C, *problem.S]):
        folder.write(name, images.encode_image(images.to_pixels(image, mean), name))


def _optimise(problem, graph, start, checkpoint, folder, fingerprint, extra, stop=None):
    c = problem.config
    optimizer = OPTIMIZERS[c.optimizer](graph)
    first, elapsed = 0, 0.0
    history = History(folder, checkpoint.history if checkpoint else ())
    best = BestImage(folder, problem.picture, checkpoint.best if checkpoint else None)
    if checkpoint is not None:
        if not optimizer.resumable:
            raise NSTError("an L-BFGS run cannot be resumed (its curvature memory is not in the checkpoint); "
                           "start a new run with {option} set to its last image", "init")
        first, elapsed = checkpoint.steps, history.rows[-1].seconds
        if first >= c.iterations:
            raise NSTError(f"{{option}} {c.iterations}: the run already has {first} steps; ask for more to "
                           "continue", "iterations")
        try:
            optimizer.restore(checkpoint.variables)
        except ValueError as exc:
            raise NSTError(f"{os.path.join(c.output, CHECKPOINT_FILE)}: not a valid checkpoint for this run: "
                           f"{exc}") from None
    consumers = [Pictures(folder, problem.picture), best, history]
    if folder:
        consumers.append(CheckpointWriter(folder, optimizer, history, best, c, fingerprint))
    if c.logdir:
        consumers.append(TensorBoard(c.logdir, problem.picture))
    if not c.quiet:
        consumers.append(ProgressBar(c.iterations, first, optimizer.unit))
    consumers.extend(extra)
    for consumer in extra:
        getattr(consumer, "begin", lambda problem: None)(problem)
    try:
        steps = optimizer.steps(start, c.iterations, first, elapsed)
        last, interrupted = _follow(steps, consumers, c, folder, history, problem.picture, stop)
    finally:
        for consumer in consumers:
            getattr(consumer, "close", lambda: None)()
    distance = colors.chroma_distance(problem.picture(last.image), problem.inputs.original)
    return Result(last.image, history.rows, folder.images if folder else [], best.best, interrupted,
                  c.output, distance)


def _follow(steps, consumers, config, folder, history, picture, stop=None):
    """Feed the steps to the consumers; save at the save points, at the end and on Ctrl-C.

    Returns (the last step, the signal that stopped the run or None).
    """
    last = None
    with stop_on_signals(stop) as stop:
        try:
            for step in steps:
                if not math.isfinite(step.J):
                    raise _diverged(step, last, folder, history, picture)
                for consumer in consumers:
                    consumer.step(step)
                last = step
                if stop.requested:
                    _save(consumers, step, folder, iteration_image_name(step.iteration))
                    return step, stop.signum
                if step.iteration % config.save_every == 0 and 0 < step.iteration < config.iterations:
                    _save(consumers, step, folder, iteration_image_name(step.iteration))
        finally:
            steps.close()  # an L-BFGS worker thread ends here
    _save(consumers, last, folder, FINAL_IMAGE, last=True)
    return last, None


def _save(consumers, step, folder, name, last=False):
    if folder:
        folder.iteration = step.iteration
    for consumer in consumers:
        consumer.save(step, name, last)


def _diverged(step, last_good, folder, history, picture):
    """The error for a non-finite J, after saving the last good image and the history."""
    n = step.iteration
    if n:
        hint, options = "lower the learning rate ({option})", "learning_rate"
    else:
        hint, options = "lower the cost weights ({option}) or check the images", ("alpha", "beta", "tv_weight")
    kept = ""
    if folder and last_good is not None:
        folder.iteration = last_good.iteration
        path = folder.write_picture(iteration_image_name(last_good.iteration), picture(last_good.image))
        history.write()
        kept = f"; the last good image (after {last_good.iteration} steps) is {path}"
    return Diverged(f"J became {step.J} after {n} steps: {hint}{kept}", options)
