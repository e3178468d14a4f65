"""What ``nst video`` adds to a run's settings, and the state it keeps after each finished frame.

video_state.npz holds both settings, the frames done, the last G (float, not the rounded PNG) and
its input frame: ``--resume`` continues from it, a stop loses at most the frame being optimised.
"""
import dataclasses
import math
import os
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from nst.algorithm.optimize import history_columns
from nst.errors import NSTError
from nst.run import statefile
from nst.run.config import RunConfig
from nst.run.outputs import register_run_files
from nst.video.io import check_output, frame_number, parse_position

INIT_FRAMES = ("prev-warped", "prev", "content", "noise")
# Defaults, from nst/tools/videobench.py's measurement (see the README)
FRAME_ITERATIONS = 50
FIRST_FRAME_ITERATIONS = 200
TEMPORAL_WEIGHT = 1e6
STATE_FILE = "video_state.npz"
PREVIEW_FILE = "preview.gif"
PREVIEW_SECONDS = 4
FORMAT = 1
HISTORY = history_columns("J_temporal")  # frame_NNNNN.csv's

register_run_files(r"frame_\d{5,}\.(png|csv)|video_state\.npz|preview\.gif")


def check_numbers(temporal_weight: float = 0.0, **counts: int) -> None:
    """Refuse a temporal weight that is negative or not finite, and counts (steps, frames) under 1,
    naming the setting: ``nst video``'s checks, which ``nst videobench`` makes too."""
    if not (math.isfinite(temporal_weight) and temporal_weight >= 0):
        raise NSTError(f"{{option}} must be zero or positive, got {temporal_weight}", "temporal_weight")
    for name, value in counts.items():
        if not value >= 1:
            raise NSTError(f"{{option}} must be positive, got {value}", name)


def frame_name(n: int, extension: str = "png") -> str:
    return f"frame_{n:05d}.{extension}"


def _within(path: str, folder: str) -> bool:
    """Whether ``path`` is ``folder`` or inside it."""
    return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)


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

    def validate(self) -> "VideoSettings":
        check_numbers(temporal_weight=self.temporal_weight, first_frame_iterations=self.first_frame_iterations,
                      every=self.every)
        if self.init_frame not in INIT_FRAMES:
            raise NSTError(f"{{option}}: unknown value {self.init_frame!r}: use one of {', '.join(INIT_FRAMES)}",
                           "init_frame")
        for name in ("start", "end"):
            if getattr(self, name) is not None:
                try:
                    parse_position(getattr(self, name))
                except NSTError as exc:
                    raise NSTError(exc.template, name) from None
        check_output(self.output)
        if os.path.abspath(self.output) == os.path.abspath(self.input):
            raise NSTError(f"{self.output}: the output video is the input; name another output", "output")
        folder, source = self.folder(), os.path.abspath(self.input)
        if _within(source, folder) or _within(folder, source):
            raise NSTError(f"{folder}: the run folder of {{option}} {self.output} would hold or be inside the input "
                           f"{self.input}, whose frames it would write over; name another output", "output")
        return self

    def folder(self) -> str:
        return os.path.splitext(os.path.abspath(self.output))[0] + ".run"

    def selection(self, times: Sequence[float]) -> Tuple[int, Optional[int], int]:
        """(first frame, end frame or None, every): which frames of the source (shown at ``times``) are styled."""
        first = frame_number(parse_position(self.start), times) if self.start else 0
        last = frame_number(parse_position(self.end), times) if self.end else None
        if last is not None and last <= first:
            raise NSTError(f"{{option}}: the end (frame {last}) is not after the start (frame {first})",
                           ("start", "end"))
        return first, last, self.every


def state_bytes(config: RunConfig, video: VideoSettings, done: int, G: np.ndarray, previous: np.ndarray,
                errors: List[float], fingerprint: str = "") -> bytes:
    """video_state.npz: both settings, frames done, the last G (float, not the rounded PNG) and its input,
    and the fingerprint of the first frame's problem (its pixels, the styles', the weights')."""
    header = {"format": FORMAT, "config": config.to_dict(), "video": dataclasses.asdict(video), "done": done,
              "errors": errors, "fingerprint": fingerprint}
    return statefile.state_bytes(header, {"G": np.asarray(G, np.float32),
                                          "previous": np.asarray(previous, np.float32)})


def read_state(path: str) -> Dict[str, Any]:
    """The state of a video run, checked; one clear error when it is missing or not valid."""
    arrays = statefile.read_state_file(path, "video state", "nst video writes one after each frame")
    try:
        header, G, previous = statefile.header_of(arrays, FORMAT), arrays["G"], arrays["previous"]
        config = RunConfig.from_dict(header["config"]).validate()
        video = VideoSettings(**header["video"]).validate()
        done, errors = header["done"], header["errors"]
        if not (isinstance(done, int) and done >= 1 and len(errors) == done - 1):
            raise ValueError(f"done is {done!r}")
        if G.ndim != 4 or previous.ndim != 3 or not (np.isfinite(G).all() and np.isfinite(previous).all()):
            raise ValueError("the last frame's arrays are not images")
    except NSTError as exc:
        raise NSTError(f"{path}: not a valid video state: {exc.template}", exc.options) from None
    except Exception as exc:  # zip, JSON, key and type errors all mean the same to the user
        raise NSTError(f"{path}: not a readable video state (damaged?): {exc}") from None
    return {"config": config, "video": video, "done": done, "G": G, "previous": previous, "errors": errors,
            "fingerprint": header.get("fingerprint") or None}  # None: a state written before fingerprints


