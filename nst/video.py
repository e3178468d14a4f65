"""``nst video``: style transfer of a video, temporally consistent (Ruder, Dosovitskiy and Brox, 2016).

Each frame is one run of the paper's optimisation on one graph built for the
frame size (``nst.graph`` with ``temporal_weight``): the style's Gram targets
are computed once, and each frame assigns its content targets, the previous
stylised frame warped by the optical flow (``nst.flow``) and the flow's
reliability weights. A frame starts from that warped frame (``prev-warped``)
and J_temporal keeps it close to it where the flow is reliable, so the frames
do not flicker. The steps are those of ``nst.optimize`` fed to ``nst.run``'s
consumers; the folder is owned as ``nst train`` owns its own (``nst.outputs``).

OUT.mp4 is written at the end; OUT.run/ holds frame_NNNNN.png and
frame_NNNNN.csv (each frame's cost history, J_temporal included), the state
after the last finished frame (video_state.npz: ``--resume`` continues from
it, a stop loses at most the frame being optimised) and preview.gif (input |
output, side by side).
"""
import dataclasses
import io
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass
from typing import NamedTuple, Optional

import numpy as np

from nst import cli, images
from nst.config import RunConfig
from nst.errors import NSTError, report
from nst.interrupt import exit_code, stop_on_signals
from nst.inputs import initial_image
from nst.run import HISTORY_FIELDS, OPTIMIZERS, Consumer, History, Problem, claim_folder, follow, prepare, session
from nst.run import start_image, start_lines
from nst.video_io import frame_number, keep, open_source, parse_position, read_frames, write_preview, write_video

PROG = "nst video"
INIT_FRAMES = ("prev-warped", "prev", "content", "noise")
# Defaults, from nst/tools/videobench.py's measurement (see the README)
FRAME_ITERATIONS = 50
FIRST_FRAME_ITERATIONS = 200
TEMPORAL_WEIGHT = 1e6
STATE_FILE = "video_state.npz"
PREVIEW_FILE = "preview.gif"
PREVIEW_SECONDS = 4
FORMAT = 1
HISTORY = HISTORY_FIELDS[:-1] + ("J_temporal", "seconds")
NOT_FOR_VIDEO = ("content", "coarse_to_fine", "logdir")
VIDEO_OPTIONS = ("input", "temporal_weight", "init_frame", "first_frame_iterations", "start", "end", "every")

EXAMPLES = """examples:
  nst video clip.mp4 --style starry.jpg --output out.mp4       frames in out.run/, out.mp4 at the clip's fps
  nst video clip.mp4 --style s.jpg --max-side 256 --end 2s --every 2    a quick look at the first two seconds
  nst video frames/ --style s.jpg --temporal-weight 0 --init-frame noise   independent frames (they flicker)
  nst video --resume out.run                                    continue after Ctrl-C or a kill
"""


def frame_name(n, extension="png"):
    return f"frame_{n:05d}.{extension}"


@dataclass(frozen=True)
class VideoSettings:
    """What ``nst video`` adds to the settings of ``nst train``."""

    input: str
    output: str  # the video written at the end; the run folder is its name + .run
    temporal_weight: float = TEMPORAL_WEIGHT
    init_frame: str = "prev-warped"
    first_frame_iterations: int = FIRST_FRAME_ITERATIONS
    start: Optional[str] = None  # '12' (a frame number) or '2.5s'
    end: Optional[str] = None
    every: int = 1

    def validate(self):
        if not (math.isfinite(self.temporal_weight) and self.temporal_weight >= 0):
            raise NSTError(f"{{option}} must be zero or positive, got {self.temporal_weight}", "temporal_weight")
        if self.init_frame not in INIT_FRAMES:
            raise NSTError(f"{{option}}: unknown value {self.init_frame!r}: use one of {', '.join(INIT_FRAMES)}",
                           "init_frame")
        for name in ("first_frame_iterations", "every"):
            if not getattr(self, name) >= 1:
                raise NSTError(f"{{option}} must be positive, got {getattr(self, name)}", name)
        for name in ("start", "end"):
            if getattr(self, name) is not None:
                try:
                    parse_position(getattr(self, name))
                except NSTError as exc:
                    raise NSTError(exc.template, name) from None
        if os.path.abspath(self.output) == os.path.abspath(self.input):
            raise NSTError(f"{self.output}: the output video is the input; name another output", "output")
        return self

    def folder(self):
        return os.path.splitext(os.path.abspath(self.output))[0] + ".run"

    def selection(self, fps):
        """(first frame, end frame or None, every): which frames of the source are styled."""
        first = frame_number(parse_position(self.start), fps) if self.start else 0
        last = frame_number(parse_position(self.end), fps) if self.end else None
        if last is not None and last <= first:
            raise NSTError(f"{{option}}: the end (frame {last}) is not after the start (frame {first})",
                           ("start", "end"))
        return first, last, self.every


def build_parser(prog=PROG):
    """``nst train``'s parser (every image option), plus the video's own options."""
    p = cli.build_parser(prog, helps={  # the same option, a video's meaning
        "output": "the video to write (.mp4; default: INPUT's name + _nst.mp4 here); the frames and the state go "
                  "to a folder of its name + .run",
        "iterations": f"steps of each frame after the first (default: {FRAME_ITERATIONS})",
        "resume": "continue the video run in DIR (OUT.run) from its last finished frame"})
    p.description = ("Temporally consistent style transfer of a video (Ruder et al., 2016): each frame starts "
                     "from the previous stylised frame warped by the optical flow, with a temporal cost.")
    p.epilog = EXAMPLES
    p.add_argument("input", nargs="?", metavar="INPUT", help="a video (any that ffmpeg reads) or a folder of frames")
    v = p.add_argument_group("video")
    v.add_argument("--temporal-weight", type=float, metavar="X", help="weight of J_temporal, the cost of "
                   f"differing from the warped previous frame (default: {TEMPORAL_WEIGHT:g}; 0: off)")
    v.add_argument("--init-frame", choices=INIT_FRAMES, help="where each frame after the first starts "
                   "(default: prev-warped; noise is the paper's noise + content mix)")
    v.add_argument("--first-frame-iterations", type=int, metavar="N",
                   help=f"steps of the first frame (default: {FIRST_FRAME_ITERATIONS})")
    v.add_argument("--start", metavar="T", help="first frame: a frame number (12) or seconds (2.5s)")
    v.add_argument("--end", metavar="T", help="stop before this frame number or time")
    v.add_argument("--every", type=int, metavar="N", help="style every N-th frame (the video's rate divided by N)")
    return p


def flag(setting):
    return "INPUT" if setting == "input" else cli.flag(setting)


class Parsed(NamedTuple):
    config: RunConfig
    video: VideoSettings
    state: Optional[dict]  # what --resume continues, or None
    download: str


def parse(argv):
    """The run's settings (``nst train``'s parse), the video's, the state --resume continues, the download mode."""
    given = cli.settings_of(vars(build_parser().parse_args(argv)))
    download = given.pop("download", "ask")
    for name in NOT_FOR_VIDEO:
        if name in given:
            raise NSTError("{option} does not apply to nst video (the frames are the content)", name)
    video = {name: given.pop(name) for name in VIDEO_OPTIONS if name in given}
    output = given.pop("output", None)
    if "resume" in given:
        return _resumed(given, video, output, download)
    if "input" not in video:
        raise NSTError("name the video (INPUT), or a run to continue (--resume DIR) (see --help)")
    if output is None:
        output = os.path.splitext(os.path.basename(os.path.normpath(video["input"])))[0] + "_nst.mp4"
    video = VideoSettings(**{**video, "output": output, "input": os.path.abspath(video["input"])}).validate()
    if "preset" not in given:
        given.setdefault("iterations", FRAME_ITERATIONS)
    config, _ = cli.configuration({**given, "output": video.folder()})
    return Parsed(config, video, None, download)


def _resumed(given, video, output, download):
    """The stored settings of the run in --resume's folder; options given again must keep their values."""
    if given.get("overwrite"):
        raise NSTError("--resume continues the run in its folder, --overwrite replaces it: give one of them")
    if "preset" in given:
        raise NSTError("--preset with --resume: a resumed run keeps the settings it was started with")
    folder = os.path.abspath(given.pop("resume"))
    state = read_state(os.path.join(folder, STATE_FILE))
    stored = state["video"]
    for name, value in video.items():
        value = os.path.abspath(value) if name == "input" else value
        if value != getattr(stored, name):
            raise NSTError(f"{flag(name)} cannot change when resuming: the run has {getattr(stored, name)}, "
                           f"the command gives {value}")
    if output is not None and os.path.abspath(output) != os.path.abspath(stored.output):
        raise NSTError(f"--output {output} is not the video of the run being resumed ({stored.output})")
    config = cli.continued(state["config"], folder, given)
    return Parsed(config, stored, state, download)


# The state after each finished frame
def state_bytes(config, video, done, G, previous, errors):
    """video_state.npz: both settings, frames done, the last G (float, not the rounded PNG) and its input."""
    header = {"format": FORMAT, "config": config.to_dict(), "video": dataclasses.asdict(video), "done": done,
              "errors": errors}
    buffer = io.BytesIO()
    np.savez(buffer, header=np.array(json.dumps(header)), G=np.asarray(G, np.float32),
             previous=np.asarray(previous, np.float32))
    return buffer.getvalue()


def read_state(path):
    """The state of a video run, checked; one clear error when it is missing or not valid."""
    if not os.path.isfile(path):
        raise NSTError(f"{path}: no video state to resume from (nst video writes one after each frame)")
    try:
        with np.load(path, allow_pickle=False) as data:
            header, G, previous = json.loads(str(data["header"])), data["G"], data["previous"]
        if header.get("format") != FORMAT:
            raise ValueError(f"format {header.get('format')}, not {FORMAT}")
        config = RunConfig.from_dict(header["config"]).validate()
        video = VideoSettings(**header["video"]).validate()
        done, errors = header["done"], header["errors"]
        if not (isinstance(done, int) and done >= 1 and len(errors) == done - 1):
            raise ValueError(f"done is {done!r}")
        if G.ndim != 4 or previous.ndim != 3 or not (np.isfinite(G).all() and np.isfinite(previous).all()):
            raise ValueError("the last frame's arrays are not images")
    except NSTError as exc:
        raise NSTError(f"{path}: not a valid video state: {exc.message(flag)}") from None
    except Exception as exc:  # zip, JSON, key and type errors all mean the same to the user
        raise NSTError(f"{path}: not a readable video state (damaged?): {exc}") from None
    return {"config": config, "video": video, "done": done, "G": G, "previous": previous, "errors": errors}


class VideoResult(NamedTuple):
    frames: int  # frames finished (this session and before)
    errors: list  # short-term consistency error of each frame after the first (nst.flow)
    histories: list  # the last Step of each frame styled in this session
    interrupted: Optional[int]  # the signal that stopped it
    output: Optional[str]  # the video written, or None when interrupted
    seconds: list  # seconds of each frame styled in this session, flow included


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
    end = source.frames if last is None else min(last, source.frames or last)
    return None if end is None else len(range(first, end, every))


class Prepared(NamedTuple):
    """A video run, read and checked, before anything is written."""

    source: object  # nst.video_io.Source
    selection: tuple  # (first frame, end or None, every)
    frames: object  # iterator of (n, frame), the first one included
    size: tuple  # G's (height, width)
    problem: Problem  # the settings, weights, styles; C and the content are the first frame's


def prepare_video(config, video, state=None):
    """Every check before the graph: the video's settings, its source and first frame, then
    :func:`nst.run.prepare` with that frame as the content (the checks of ``nst train``)."""
    video.validate()
    source = open_source(video.input)
    selection = video.selection(source.fps)
    frames = _frames(source, selection, config.max_pixels)
    first = next(frames, None)
    if first is None:
        raise NSTError(f"{video.input}: no frames" + (" in the range asked for" if video.start or video.end else ""))
    problem = prepare(config, (first[1], "frame 0"))
    size = problem.C.shape[1:3]
    if state is not None and state["G"].shape != (1, *size, 3):
        G = state["G"]
        raise NSTError(f"{config.output}: the saved frame is {G.shape[1]}x{G.shape[2]}, not {size[0]}x{size[1]}")
    return Prepared(source, selection, _chain(first, frames), size, problem)


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
        from nst.flow import flow_pair, short_term_error, warp

        began, config = time.perf_counter(), prepared.problem.config
        this = prepared.problem.with_content(frame)
        original = this.inputs.original
        backward = reliable = warped = None
        if self.G is not None:
            backward, reliable = flow_pair(self.previous, original)
            warped = warp(self.G[0], backward)[None]
        self.graph.frame.set(self.graph.assign_input, this.C, warped, reliable)
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
        self.folder.write(STATE_FILE, state_bytes(config, self.video, self.done, self.G, original, self.errors))
        self.histories.append(last._replace(image=None))
        self.seconds.append(time.perf_counter() - began)
        bar.finished()
        return None


def run_video(config, video, state=None, say=None):
    """Style the frames of ``video.input`` (continuing ``state`` if given); a :class:`VideoResult`."""
    try:
        import nst.flow  # noqa: F401
    except ImportError:
        raise NSTError("nst video needs OpenCV for the optical flow: pip install 'nst[video]'") from None
    from nst.graph import build_graph

    prepared = prepare_video(config, video, state)
    problem = prepared.problem
    inputs = {"input": video.input, "style": config.style, "init": config.init_image, "vgg": problem.vgg_path}
    with claim_folder(config, inputs, state is not None, os.path.abspath(video.output)) as folder:
        if say:
            say(start_lines(problem, f"input:   {video.input} ({prepared.source.fps:g} fps)",
                            f"{video.first_frame_iterations} then {config.iterations} {config.optimizer} steps "
                            f"a frame, temporal weight {video.temporal_weight:g}"))
        with session() as sess:
            graph = build_graph(sess, problem.weights, problem.C, problem.S, problem.costs, config.style_blend,
                                temporal_weight=video.temporal_weight)
            loop = Frames(graph, folder, video, state, config.optimizer)
            interrupted = _loop(loop, prepared, FrameBar(_count(prepared.source, prepared.selection), loop.done,
                                                         config.quiet))
        output = None
        if loop.done and not interrupted:
            output = _finish(folder, prepared, video, loop.done)
    return VideoResult(loop.done, loop.errors, loop.histories, interrupted, output, loop.seconds)


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
    """Write the video from the frames in the folder, and the side-by-side preview."""
    source, selection, size = prepared.source, prepared.selection, prepared.size
    max_pixels = prepared.problem.config.max_pixels
    fps = source.fps / video.every
    pictures = (images.load_image(os.path.join(folder.path, frame_name(n))).astype(np.uint8) for n in range(done))
    start_seconds = selection[0] / source.fps
    write_video(video.output, pictures, fps, source.path if source.has_audio else None, start_seconds)
    count = min(done, int(PREVIEW_SECONDS * fps) + 1)
    pairs = []
    for n, frame in _frames(source, selection, max_pixels):
        if n >= count:
            break
        output = images.load_image(os.path.join(folder.path, frame_name(n))).astype(np.uint8)
        pairs.append((np.rint(images.resize_image(frame, size)).astype(np.uint8), output))
    write_preview(os.path.join(folder.path, PREVIEW_FILE), pairs, fps)
    return video.output


def report_result(video, result):
    name = os.path.splitext(os.path.abspath(video.output))[0] + ".run"
    if result.interrupted:
        print(f"interrupted ({signal.Signals(result.interrupted).name}) after {result.frames} frames: their "
              f"frames and the state are in {name}; continue with: nst video --resume {name}", file=sys.stderr)
        return 128 + result.interrupted
    mean = f"{np.mean(result.errors):.4g}" if result.errors else "n/a (one frame)"
    print(f"wrote {result.output} ({result.frames} frames)\nframes, their cost histories and preview.gif "
          f"(input | output) in {name}\nshort-term consistency error (mean squared difference to the warped "
          f"previous frame over reliable pixels, 0-255): {mean}")
    return 0


def main(argv=None, prog=PROG):
    try:
        config, video, state, download = parse(sys.argv[1:] if argv is None else argv)
        cli.ensure_weights(config, download)
        say = None if config.quiet else (lambda text: print(text, file=sys.stderr))
        return report_result(video, run_video(config, video, state, say))
    except NSTError as exc:
        return report(prog, exc, flag)
    except KeyboardInterrupt as exc:
        print(f"{prog}: interrupted ({exc.args[0] if exc.args else 'SIGINT'}); finished frames are kept",
              file=sys.stderr)
        return exit_code(exc)


if __name__ == "__main__":
    sys.exit(main())
