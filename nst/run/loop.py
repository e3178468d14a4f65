"""A whole run from one :class:`nst.run.config.RunConfig`: prepare, build the graph, follow the steps.

:func:`run_style_transfer` reads and checks the inputs (:func:`nst.run.problem.prepare`),
builds the graph, and feeds the optimizer's steps (``nst.algorithm.optimize``) to the
consumers (``nst.run.consumers``) through :func:`follow`, the one loop every front-end uses.

None of this changes a cost: the loop only reads what the steps give. Ctrl-C
stops after the current step and saves (image, history, checkpoint); a J that
is no longer finite stops the run with the last good image kept; a failed write
(full disk, vanished folder) is one clear error.
"""
import math
import os
from contextlib import closing, nullcontext
from typing import (
    Any,
    Callable,
    ContextManager,
    Generator,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
)

import numpy as np

from nst.algorithm import colors, images, memory, tiles
from nst.algorithm.graph import new_session
from nst.algorithm.tiled import make_graph
from nst.run.masks import mask_files
from nst.algorithm.optimize import LBFGS, OPTIMIZERS, Step
from nst.errors import NSTError
from nst.run.checkpoint import CHECKPOINT_FILE, Best, Checkpoint
from nst.run.config import RunConfig
from nst.run.consumers import (
    BestImage,
    CheckpointWriter,
    Consumer,
    History,
    Pictures,
    ProgressBar,
    TensorBoard,
    TileBar,
    TimeEstimate,
)
from nst.run.inputs import initial_image
from nst.run.interrupt import Interrupted, StopRequest, stop_on_signals
from nst.run.outputs import (
    CONTENT_IMAGE,
    FINAL_IMAGE,
    RunFolder,
    iteration_image_name,
    style_image_names,
)
from nst.run.problem import Problem, prepare
from nst.weights.routes import label as weights_label

Say = Callable[[str], None]  # where a run's start lines go
Picture = Callable[[np.ndarray], np.ndarray]  # G (normalised) -> its pixels as saved


def claim_folder(config: RunConfig, inputs: Mapping[str, Any], resume: bool,
                 result: Optional[str] = None) -> ContextManager[Optional[RunFolder]]:
    """The run folder, locked and checked (a context that releases it), or an empty context without one."""
    if not config.output:
        return nullcontext(None)
    return RunFolder(config.output, result or config.output_image).claim(inputs, resume, config.overwrite)


def session() -> ContextManager[Any]:
    """A new session, closed when the block ends."""
    return closing(new_session())


class Result(NamedTuple):
    image: np.ndarray  # the last G, (1, H, W, 3), normalised
    history: List[Step]  # without images; row i holds the costs after i steps
    saved: List[str]  # paths of the images written
    best: Optional[Best]
    interrupted: Optional[int] = None  # the signal (Ctrl-C's SIGINT, SIGTERM, SIGHUP) that stopped the run
    folder: Optional[str] = None
    color_distance: float = 0.0  # of the saved G to C: mean YIQ chroma distance, 0-255


class Diverged(NSTError):
    """J stopped being finite; the message says what to lower and where the last good image is."""


def run_style_transfer(config: RunConfig, checkpoint: Optional[Checkpoint] = None, consumers: Sequence[Consumer] = (),
                       say: Optional[Say] = None, stop: Optional[StopRequest] = None) -> Result:
    """Run ``config`` (continuing ``checkpoint`` if given) and return a :class:`Result`.

    ``consumers`` are extra :class:`Consumer` objects;
    ``say`` gets the lines a command line prints as the run starts; ``stop``, a
    :class:`nst.run.interrupt.StopRequest`, lets another thread stop the run as Ctrl-C does.
    """
    problem = prepare(config)
    fingerprint = problem.fingerprint()
    if checkpoint is not None and checkpoint.fingerprint != fingerprint:
        raise _changed_inputs(problem, checkpoint)
    smaller_stages(config, problem.C.shape[1:3])  # checked before anything is said or written
    with claim_folder(config, _input_files(problem), checkpoint is not None) as folder:
        if say:  # everything is checked by now: a refused folder is one line, with no header before it
            say(start_lines(problem))
        start = start_image(problem, checkpoint, say)
        if folder:
            _write_inputs(folder, problem)
        with session() as sess, closing(TileBar(config.quiet)) as tiles_bar:
            graph = make_graph(sess, problem.weights, problem.C, problem.S, problem.costs, config.style_blend,
                               problem.guides, tiles_bar, planned=(problem.tile,))
            return _optimise(problem, graph, start, checkpoint, folder, fingerprint, consumers, stop, say)


def _changed_inputs(problem, checkpoint):
    """The refusal of a resume whose inputs changed: it names the files, where the checkpoint kept their digests."""
    names = problem.changed_files(checkpoint.inputs) if checkpoint.inputs else []
    if not names:
        return NSTError("the content, style images or weights are not those of the run being resumed, so its "
                        "costs could not continue; start a new run instead")
    return NSTError(f"{', '.join(names)}: {'differs' if len(names) == 1 else 'differ'} from what the run being "
                    "resumed read, so its costs could not continue; put back what it read or start a new run")


def _input_files(problem):
    """Every file the run reads, by setting: none of them may be written over."""
    c = problem.config
    return {"content": c.content, "style": c.style, "init": c.init_image, "vgg": problem.vgg_path,
            "masks": tuple(mask_files(c))}


def start_lines(problem: Problem, source: Optional[str] = None, steps: Optional[str] = None) -> str:
    """What a run says as it starts: its inputs, weights, size and steps (a video names its ``source``)."""
    c, inputs = problem.config, problem.inputs
    steps = steps or f"{c.iterations} {c.optimizer} {OPTIMIZERS[c.optimizer].unit}s"
    return (f"{source or 'content: ' + inputs.content_name}\nstyle:   {', '.join(inputs.style_names)}\n"
            f"{control_lines(c)}weights: {problem.weights.path}{weights_label(problem.weights.path)}\n"
            f"size:    {problem.C.shape[1]}x{problem.C.shape[2]}, "
            f"{steps} on {device_name()}{precision_note(c.precision)}{tiles_line(problem)}")


def tiles_line(problem: Problem) -> str:
    """The start line of a tiled run: its tiles, and the memory the estimate gives it."""
    if problem.tile is None:
        return ""
    costs, size = problem.costs, problem.C.shape[1:3]
    layer = costs.deepest_with(problem.guides)
    peak = memory.estimate_tiled_peak_bytes(problem.weights, size, problem.tile, layer, costs.content_layers)
    return f"\ntiles:   {tiles.describe(size, problem.tile, layer)}; about {peak / 2**30:.1f} GiB at most"


def control_lines(c: RunConfig) -> str:
    """The start lines of the styles' masks and own layers, where they have any."""
    lines = ""
    for name, values in (("masks", c.style_masks), ("sources", c.style_source_masks)):
        if values:
            lines += f"{name + ':':<9}{', '.join(values)}{' (' + c.mask_mode + ')' if name == 'masks' else ''}\n"
    if c.style_layer_sets:
        lines += f"layers:  {' | '.join(','.join(n for n, _ in s) for s in c.style_layer_sets)}\n"
    return lines


def precision_note(precision: str) -> str:
    """The start line's word on the number format: bf16 where the CPU has no bfloat16 instructions is slow."""
    from nst.algorithm.onednn import has_bf16
    from nst.algorithm.tf1 import gpus
    from nst.algorithm.vgg import machine_precision

    chosen = machine_precision(precision)
    if precision == "auto":
        return ", in bfloat16 (auto: this machine has it)" if chosen == "bf16" else \
            ", in float32 (auto: this CPU has no bfloat16 instructions)"
    if chosen == "fp32":
        return ""
    if gpus() or has_bf16():
        return ", in bfloat16"
    return ", in bfloat16 (this CPU has no bfloat16 instructions: expect it slower than fp32)"


def device_name() -> str:
    from nst.algorithm.tf1 import gpus

    return f"GPU ({gpus()[0].name})" if gpus() else f"CPU ({os.cpu_count()} cores)"


def start_image(problem: Problem, checkpoint: Optional[Checkpoint] = None, say: Optional[Say] = None) -> np.ndarray:
    """G's first value: the configured start, refined at smaller sizes first (levels, coarse_to_fine)."""
    c = problem.config
    G = initial_image(c.init, problem.C, problem.inputs.init, problem.weights.mean_pixel, c.seed, c.noise_ratio,
                      c.init_std)
    stages = smaller_stages(c, G.shape[1:3])
    if stages and checkpoint is None:
        from nst.algorithm.coarse import pyramid_start

        if say:
            say(f"first:   {', '.join(f'{n} {OPTIMIZERS[c.optimizer].unit}s at {h}x{w}' for (h, w), n in stages)}")
        G = pyramid_start(problem.weights, problem.inputs.content, problem.inputs.styles, G, problem.costs,
                          stages, _stage_run(c), c.style_blend, problem.guides)
    return G


def smaller_stages(config: RunConfig, size: Sequence[int]) -> List[Tuple[Tuple[int, ...], int]]:
    """((height, width), iterations) of the runs before the full-size one; a level not smaller is refused."""
    from nst.algorithm.coarse import half_size, level_size

    if config.coarse_to_fine:
        return [(half_size(size), config.coarse_to_fine)]
    for side, _ in config.levels:
        if side >= max(size):
            raise NSTError(f"{{option}}: level {side} px is not smaller than the image ({size[0]}x{size[1]})",
                           "levels")
    return [(level_size(size, side), n) for side, n in config.levels]


def make_optimizer(config: RunConfig, graph: Any) -> Any:
    """The run's optimizer on ``graph``, with its settings."""
    if config.optimizer == "lbfgs":
        return LBFGS(graph, config.lbfgs_memory, config.line_search)
    return OPTIMIZERS[config.optimizer](graph)


def _stage_run(config):
    """How a smaller stage optimises: the run's optimizer, nothing saved, a bar unless quiet; Ctrl-C aborts it."""
    def run(graph, G, iterations):
        size = "x".join(map(str, G.shape[1:3]))
        bar = None if config.quiet else ProgressBar(iterations, 0, OPTIMIZERS[config.optimizer].unit, f"nst {size}")
        try:
            with stop_on_signals() as stop:
                for step in make_optimizer(config, graph).steps(G, iterations):
                    if bar:
                        bar.step(step)
                    if stop.requested:
                        raise Interrupted(stop.signum)
        finally:
            if bar:
                bar.close()
        return step.image

    return run


def _write_inputs(folder, problem):
    mean = problem.weights.mean_pixel
    for name, image in zip([CONTENT_IMAGE] + style_image_names(len(problem.S)), [problem.C, *problem.S]):
        folder.write(name, images.encode_image(images.to_pixels(image, mean), name))


def _optimise(problem, graph, start, checkpoint, folder, fingerprint, extra, stop=None, say=None):
    c = problem.config
    optimizer = make_optimizer(c, graph)
    first, elapsed = 0, 0.0
    history = History(folder, checkpoint.history if checkpoint else ())
    best = BestImage(folder, problem.picture, checkpoint.best if checkpoint else None)
    if checkpoint is not None:
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
        consumers.append(CheckpointWriter(folder, optimizer, history, best, c, fingerprint, problem.digests))
    if c.logdir:
        consumers.append(TensorBoard(c.logdir, problem.picture))
    if not c.quiet:
        consumers.append(ProgressBar(c.iterations, first, optimizer.unit))
        if say:  # a command line's: the other front-ends show no start lines
            consumers.append(TimeEstimate(say, c.iterations, first, optimizer.label, optimizer.unit))
    consumers.extend(extra)
    for consumer in extra:
        consumer.begin(problem)
    try:
        steps = optimizer.steps(start, c.iterations, first, elapsed)
        last, interrupted = follow(steps, consumers, c.save_every, c.iterations, folder, problem.picture, stop,
                                   _first_cost_settings(c))
        if interrupted and folder and folder.result:  # the image the user named holds the last G, as said
            folder.write_picture(folder.result, problem.picture(last.image))
    finally:
        for consumer in consumers:
            consumer.close()
    distance = colors.chroma_distance(problem.picture(last.image), problem.inputs.original)
    return Result(last.image, history.rows, folder.images if folder else [], best.best, interrupted,
                  c.output, distance)


FIRST_COST_SETTINGS = ("alpha", "beta", "tv_weight")  # what makes J's first value too large to hold


def _first_cost_settings(config):
    """The settings that J's first value depends on: the cost weights, and the noise of a gaussian start."""
    return FIRST_COST_SETTINGS + (("init_std",) if config.init == "gaussian" else ())


def follow(steps: Generator[Step, None, None], consumers: Sequence[Consumer], save_every: int, iterations: int,
           folder: Optional[RunFolder] = None, picture: Optional[Picture] = None,
           stop: Optional[StopRequest] = None,
           first_cost_settings: Sequence[str] = FIRST_COST_SETTINGS) -> Tuple[Step, Optional[int]]:
    """Feed the steps to the consumers; save every ``save_every`` steps before ``iterations``, at the end
    and on a stop (a signal, or ``stop``, a :class:`nst.run.interrupt.StopRequest`).

    ``folder`` (a :class:`nst.run.outputs.RunFolder`) and ``picture`` (G's pixels) keep the last good image
    when J stops being finite; a J not finite from the start names ``first_cost_settings``. Returns (the last
    step, the signal that stopped the run or None).
    """
    last = None
    with stop_on_signals(stop) as stop:
        try:
            for step in steps:
                if not math.isfinite(step.J):
                    raise _diverged(step, last, folder, consumers, picture, first_cost_settings)
                for consumer in consumers:
                    consumer.step(step)
                last = step
                if stop.requested:
                    _save(consumers, step, folder, iteration_image_name(step.iteration))
                    return step, stop.signum
                if step.iteration % save_every == 0 and 0 < step.iteration < iterations:
                    _save(consumers, step, folder, iteration_image_name(step.iteration))
        finally:
            steps.close()  # an L-BFGS worker thread ends here
    if last is None:
        raise ValueError("follow: the steps gave no step")  # an optimizer gives G's first value at least
    _save(consumers, last, folder, FINAL_IMAGE, last=True)
    return last, None


def _save(consumers, step, folder, name, last=False):
    if folder:
        folder.iteration = step.iteration
    for consumer in consumers:
        consumer.save(step, name, last)


def _diverged(step, last_good, folder, consumers, picture, first_cost_settings):
    """The error for a non-finite J, after saving the last good image and the cost history."""
    n = step.iteration
    if n:
        hint, options = "lower the learning rate ({option})", "learning_rate"
    else:
        hint, options = "lower one of {option}, or check the images", tuple(first_cost_settings)
    kept = ""
    if folder and last_good is not None:
        folder.iteration = last_good.iteration
        path = folder.write_picture(iteration_image_name(last_good.iteration), picture(last_good.image))
        for history in (c for c in consumers if isinstance(c, History)):
            history.write()
        kept = f"; the last good image (after {last_good.iteration} steps) is {path}"
    return Diverged(f"J became {step.J} after {n} steps: {hint}{kept}", options)
