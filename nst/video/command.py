"""``nst video``'s command line: its options (``nst train``'s, plus the video's), --resume, the messages.

The engine (``nst.video.engine``) does the work; this module only turns arguments into settings
and results into lines, as ``nst.commands.train`` does for ``nst train``.
"""
import argparse
import os
import signal
import sys
from typing import Any, Dict, NamedTuple, Optional, Sequence

import numpy as np

from nst.algorithm.images import DEFAULT_MAX_PIXELS
from nst.commands import train
from nst.errors import NSTError, report
from nst.run.config import RunConfig
from nst.run.interrupt import exit_code
from nst.video.engine import VideoResult, run_video
from nst.video.io import CONTAINERS
from nst.video.settings import (
    FIRST_FRAME_ITERATIONS,
    FRAME_ITERATIONS,
    INIT_FRAMES,
    STATE_FILE,
    TEMPORAL_WEIGHT,
    VideoSettings,
    read_state,
)

PROG = "nst video"
NOT_FOR_VIDEO = ("content", "coarse_to_fine", "logdir")
VIDEO_OPTIONS = ("input", "temporal_weight", "init_frame", "first_frame_iterations", "start", "end", "every")

EXAMPLES = """examples:
  nst video clip.mp4 --style starry.jpg --output out.mp4       frames in out.run/, out.mp4 with the clip's timing
  nst video clip.mp4 --style s.jpg --max-side 256 --end 2s --every 2    a quick look at the first two seconds
  nst video frames/ --style s.jpg --temporal-weight 0 --init-frame noise   independent frames (they flicker)
  nst video --resume out.run                                    continue after Ctrl-C or a kill
"""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """``nst train``'s parser (every image option), plus the video's own options."""
    p = train.build_parser(prog, helps={  # the same option, a video's meaning
        "output": f"the video to write: H.264 in {', '.join(CONTAINERS)}, by its extension (default: INPUT's name "
                  "+ _nst.mp4 here); the frames and the state go to a folder of its name + .run",
        "iterations": f"steps of each frame after the first (default: {FRAME_ITERATIONS})",
        "resume": "continue the video run in DIR (OUT.run) from its last finished frame",
        "max_pixels": "refuse a video whose frames (or a folder's images) have more pixels, from the header, "
                      f"before decoding (default: {DEFAULT_MAX_PIXELS:,})",
        **dict.fromkeys(NOT_FOR_VIDEO, argparse.SUPPRESS)})  # refused with a reason if given, not offered
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
    v.add_argument("--start", metavar="T", help="first frame: a frame number (12) or seconds (2.5s: the first "
                   "frame shown at or after)")
    v.add_argument("--end", metavar="T", help="stop before this frame number or time")
    v.add_argument("--every", type=int, metavar="N", help="style every N-th frame, shown until the next kept one "
                   "(the video's rate divided by N)")
    return p


def flag(setting: str) -> str:
    return "INPUT" if setting == "input" else train.flag(setting)


class ParsedVideo(NamedTuple):
    config: RunConfig
    video: VideoSettings
    state: Optional[Dict[str, Any]]  # what --resume continues, or None
    download: str


def parse(argv: Sequence[str]) -> ParsedVideo:
    """The run's settings (``nst train``'s parse), the video's, the state --resume continues, the download mode."""
    given = train.settings_of(vars(build_parser().parse_args(argv)))
    download = given.pop("download", "ask")
    for name in NOT_FOR_VIDEO:
        if name in given:
            raise NSTError("{option} does not apply to nst video (the frames are the content)", name)
    options = {name: given.pop(name) for name in VIDEO_OPTIONS if name in given}
    output = given.pop("output", None)
    if "resume" in given:
        return _resumed(given, options, output, download)
    if "input" not in options:
        raise NSTError("name the video (INPUT), or a run to continue (--resume DIR) (see --help)")
    if output is None:
        output = os.path.splitext(os.path.basename(os.path.normpath(options["input"])))[0] + "_nst.mp4"
    video = VideoSettings(**{**options, "output": output, "input": os.path.abspath(options["input"])}).validate()
    if "preset" not in given:
        given.setdefault("iterations", FRAME_ITERATIONS)
    config, _ = train.configuration({**given, "output": video.folder()})
    return ParsedVideo(config, video, None, download)


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
    config = train.continued(state["config"], folder, given)
    return ParsedVideo(config, stored, state, download)


def report_result(video: VideoSettings, result: VideoResult) -> int:
    name = os.path.splitext(os.path.abspath(video.output))[0] + ".run"
    if result.interrupted:
        print(f"interrupted ({signal.Signals(result.interrupted).name}) after {result.frames} frames: their "
              f"frames and the state are in {name}; continue with: nst video --resume {name}", file=sys.stderr)
        return 128 + result.interrupted
    mean = f"{np.mean(result.errors):.4g}" if result.errors else "n/a (one frame)"
    print(f"wrote {result.output} ({result.frames} frames{_padded(result.padded)})\nframes, their cost histories "
          f"and preview.gif (input | output) in {name}\nshort-term consistency error (mean squared difference to "
          f"the warped previous frame over reliable pixels, 0-255): {mean}")
    return 0


def _padded(size):
    """Why the video is a pixel larger than its frames, when it is."""
    return "" if size is None else (f", {size[0]}x{size[1]}: an odd side of the frames got a copy of its last row "
                                    "or column, as H.264's yuv420p needs even sides")


def main(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> int:
    try:
        config, video, state, download = parse(sys.argv[1:] if argv is None else argv)
        train.ensure_weights(config, download)
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
