"""``nst video``: style transfer of a video, temporally consistent (Ruder, Dosovitskiy and Brox, 2016).

Each frame is one run of the paper's optimisation on one graph built for the
frame size (``nst.algorithm.graph`` with ``temporal_weight``): the style's Gram targets
are computed once, and each frame assigns its content targets, the previous
stylised frame warped by the optical flow (``nst.video.flow``) and the flow's
reliability weights. A frame starts from that warped frame (``prev-warped``)
and J_temporal keeps it close to it where the flow is reliable, so the frames
do not flicker. The steps are those of ``nst.algorithm.optimize`` fed to ``nst.run.loop``'s
consumers; the folder is owned as ``nst train`` owns its own (``nst.run.outputs``).

OUT.mp4 is written at the end; OUT.run/ holds frame_NNNNN.png and
frame_NNNNN.csv (each frame's cost history, J_temporal included), the state
after the last finished frame (video_state.npz: ``--resume`` continues from
it, a stop loses at most the frame being optimised) and preview.gif (input |
output, side by side).
"""
import os
from contextlib import closing
import time
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

import numpy as np

from nst.algorithm import images
from nst.algorithm.optimize import OPTIMIZERS, Step
from nst.errors import NSTError
from nst.run.config import RunConfig
from nst.run.consumers import Consumer, History, TileBar
from nst.run.inputs import initial_image
from nst.run.interrupt import stop_on_signals
from nst.run.masks import folder_masks, g_mask
from nst.run.loop import Say, claim_folder, follow, session, start_image, start_lines
from nst.run.problem import Problem, prepare
from nst.video.io import (
    Source,
    keep,
    kept_times,
    open_source,
    read_frames,
    write_preview,
    write_video,
)
from nst.video.settings import (
    HISTORY,
    PREVIEW_FILE,
    PREVIEW_SECONDS,
    STATE_FILE,
    VideoSettings,
    frame_name,
    state_bytes,
)


class VideoResult(NamedTuple):
    frames: int  # frames finished (this run and earlier ones)
    errors: List[float]  # short-term consistency error of each frame after the first (nst.video.flow)
    histories: List[Step]  # the last Step of each frame styled by this run
    interrupted: Optional[int]  # the signal that stopped it
    output: Optional[str]  # the video written, or None when interrupted
    seconds: List[float]  # seconds of each frame styled by this run, flow included
    padded: Optional[Tuple[int, int]] = None  # the video's (width, height) when the frames' odd sides were padded


class FrameBar(Consumer):
    """The progress bar over frames; its postfix follows the current frame's steps."""

    def __init__(self, total, done, quiet):
        from tqdm import tqdm

        self.bar = None if quiet else tqdm(desc="nst video", unit="frame", total=total, initial=done,
                                           dynamic_ncols=True)
        self.iterations = 0

    def step(self, step):
        if self.bar:
            self.bar.set_postfix(step=f"{step.iteration}/{self.iterations}", J=f"{step.J:.4g}")

    def finished(self):
        if self.bar:
            self.bar.update(1)

    def close(self):
        if self.bar:
            self.bar.close()


def _frames(source, selection, max_pixels):
    """(n, frame) for each selected frame, n counting from 0."""
    n = 0
    for index, frame in enumerate(read_frames(source, max_pixels)):
        if selection[1] is not None and index >= selection[1]:
            return
        if keep(index, selection):
            yield n, frame
            n += 1


def _count(source, selection):
    first, last, every = selection
    return len(range(first, source.frames if last is None else min(last, source.frames), every))


class Prepared(NamedTuple):
    """A video run, read and checked, before anything is written."""

    source: Source
    selection: Tuple[int, Optional[int], int]  # (first frame, end or None, every)
    frames: Iterator[Tuple[int, np.ndarray]]  # (n, frame), the first one included
    size: Tuple[int, int]  # G's (height, width)
    problem: Problem  # the settings, weights, styles; C and the content are the first frame's
    fingerprint: str  # the first frame's problem: a resumed run must have the same


def prepare_video(config: RunConfig, video: VideoSettings, state: Optional[Dict[str, Any]] = None) -> Prepared:
    """Every check before the graph: the video's settings, its source and first frame, then
    :func:`nst.run.prepare` with that frame as the content (the checks of ``nst train``)."""
    video.validate()
    source = open_source(video.input, config.max_pixels)
    selection = video.selection(source.times)
    frames = _frames(source, selection, config.max_pixels)
    first = next(frames, None)
    if first is None:
        raise NSTError(f"{video.input}: no frames" + (" in the range asked for" if video.start or video.end else ""))
    for path in (p for p in config.style_masks if os.path.isdir(p)):  # before prepare makes the folder
        have, need = len(folder_masks(path)), _count(source, selection)
        if have < need:
            raise NSTError(f"{path}: {have} masks for {need} frames: one per frame styled, in name order")
    problem = prepare(config, (first[1], "frame 0"), frame=0)
    fingerprint = problem.fingerprint()
    if state is not None and state["fingerprint"] not in (None, fingerprint):
        raise NSTError(f"{config.output}: the input video, style images or weights are not those of the run "
                       "being resumed, so its frames could not continue; start a new run instead")
    size = problem.C.shape[1:3]
    if state is not None and state["G"].shape != (1, *size, 3):
        G = state["G"]
        raise NSTError(f"{config.output}: the saved frame is {G.shape[1]}x{G.shape[2]}, not {size[0]}x{size[1]}")
    return Prepared(source, selection, _chain(first, frames), size, problem, fingerprint)


class Frames:
    """The frame loop's state: the last finished frame (G, its input) and what was measured."""

    def __init__(self, graph, folder, video, state, optimizer):
        self.graph, self.folder, self.video = graph, folder, video
        self.optimizer = OPTIMIZERS[optimizer](graph)  # once: L-BFGS adds its gradient to the graph
        self.done = state["done"] if state else 0
        self.G, self.previous = (state["G"], state["previous"]) if state else (None, None)
        self.errors, self.histories, self.seconds = list(state["errors"]) if state else [], [], []

    def style(self, n, frame, prepared, bar, stop):
        """Optimise frame ``n`` and save it and the state; returns the signal that stopped it, or None."""
        from nst.video.flow import flow_pair, short_term_error, warp

        began, config = time.perf_counter(), prepared.problem.config
        this = prepared.problem.with_content(frame)
        original = this.inputs.original
        backward = reliable = warped = None
        if self.G is not None:
            backward, reliable = flow_pair(self.previous, original)
            warped = warp(self.G[0], backward)[None]
        self.graph.frame.set(self.graph.assign_input, this.C, warped, reliable)
        _set_masks(self.graph, prepared.problem, frame, n)
        iterations = self.video.first_frame_iterations if n == 0 else config.iterations
        bar.iterations = iterations
        history = History(self.folder, name=frame_name(n, "csv"), fields=HISTORY)
        steps = self.optimizer.steps(_start(this, self.video.init_frame, n, self.G, warped), iterations)
        last, interrupted = follow(steps, [history, bar], iterations, iterations, self.folder, this.picture, stop)
        if interrupted:
            return interrupted
        picture = this.picture(last.image)
        if self.G is not None:
            self.errors.append(short_term_error(picture, _previous_picture(self.folder, n), backward, reliable))
        self.folder.write_picture(frame_name(n), picture)
        self.G, self.previous, self.done = last.image, original, n + 1
        self.folder.write(STATE_FILE, state_bytes(config, self.video, self.done, self.G, original, self.errors,
                                                  prepared.fingerprint))
        self.histories.append(last._replace(image=None))
        self.seconds.append(time.perf_counter() - began)
        bar.finished()
        return None


def run_video(config: RunConfig, video: VideoSettings, state: Optional[Dict[str, Any]] = None,
              say: Optional[Say] = None) -> VideoResult:
    """Style the frames of ``video.input`` (continuing ``state`` if given); a :class:`VideoResult`."""
    try:
        import nst.video.flow  # noqa: F401
    except ImportError:
        raise NSTError("nst video needs OpenCV for the optical flow: pip install 'nst[video]'") from None
    from nst.algorithm.tiled import make_graph

    prepared = prepare_video(config, video, state)
    problem = prepared.problem
    inputs = {"input": video.input, "style": config.style, "init": config.init_image, "vgg": problem.vgg_path}
    with claim_folder(config, inputs, state is not None, os.path.abspath(video.output)) as folder:
        if say:
            say(start_lines(problem, f"input:   {video.input} ({prepared.source.frames} frames, "
                                     f"{prepared.source.times[-1]:.4g} s)",
                            f"{video.first_frame_iterations} then {config.iterations} {config.optimizer} steps "
                            f"a frame, temporal weight {video.temporal_weight:g}"))
        with session() as sess, closing(TileBar(config.quiet)) as tiles_bar:
            graph = make_graph(sess, problem.weights, problem.C, problem.S, problem.costs, config.style_blend,
                               problem.guides, tiles_bar, video.temporal_weight, planned=(problem.tile,))
            loop = Frames(graph, folder, video, state, config.optimizer)
            interrupted = _loop(loop, prepared, FrameBar(_count(prepared.source, prepared.selection), loop.done,
                                                         config.quiet))
        output, padded = None, None
        if loop.done and not interrupted:
            output, padded = _finish(folder, prepared, video, loop.done)
    return VideoResult(loop.done, loop.errors, loop.histories, interrupted, output, loop.seconds, padded)


def _loop(loop, prepared, bar):
    """Style each frame not yet done; a stop signal between frames or during one ends the loop."""
    try:
        with stop_on_signals() as stop:
            for n, frame in prepared.frames:
                if n < loop.done:
                    continue
                interrupted = stop.signum or loop.style(n, frame, prepared, bar, stop)
                if interrupted:
                    return interrupted
            return stop.signum
    finally:
        bar.close()


def _set_masks(graph, problem, frame, n):
    """The masks of frame ``n`` where a style's masks are a folder, one per frame."""
    config = problem.config
    for k, guide in enumerate(problem.guides or ()):
        if guide.per_frame:
            graph.masks.set(k, g_mask(guide.region, n, frame.shape, problem.C.shape[1:3], config.max_pixels))


def _chain(first, rest):
    yield first
    yield from rest


def _previous_picture(folder, n):
    """The previous output frame as written (uint8): what a viewer compares the frame with."""
    return images.load_image(os.path.join(folder.path, frame_name(n - 1)))


def _start(problem, init_frame, n, G, warped):
    """This frame's first G: the run's start for the first frame, else as ``--init-frame`` says."""
    c = problem.config
    if n == 0:
        return start_image(problem)
    if init_frame == "prev-warped":
        return warped.astype(np.float32)
    if init_frame == "prev":
        return G
    seed = None if c.seed is None else (c.seed + n) % 2**32  # each frame its own noise, reproducibly
    kind = "content" if init_frame == "content" else "mix"
    return initial_image(kind, problem.C, None, problem.weights.mean_pixel, seed, c.noise_ratio)


def _finish(folder, prepared, video, done):
    """Write the video from the frames in the folder, each shown as long as its input frame(s), and the
    side-by-side preview; (the video, its (width, height) if padded to even sides, else None)."""
    source, selection, size = prepared.source, prepared.selection, prepared.size
    times = kept_times(source.times, selection, done)
    pictures = [os.path.join(folder.path, frame_name(n)) for n in range(done)]
    audio = source.path if source.has_audio else None
    written = write_video(video.output, pictures, times, audio, source.times[selection[0]])
    pairs = []
    for n, frame in _frames(source, selection, prepared.problem.config.max_pixels):
        if n >= done or times[n] >= PREVIEW_SECONDS:
            break
        output = images.load_image(pictures[n]).astype(np.uint8)
        pairs.append((np.rint(images.resize_image(frame, size)).astype(np.uint8), output))
    write_preview(os.path.join(folder.path, PREVIEW_FILE), pairs, np.diff(times))
    return video.output, (written if written != (size[1], size[0]) else None)
