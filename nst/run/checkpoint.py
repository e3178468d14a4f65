"""Checkpoints: everything a killed run needs to continue exactly where it was.

One ``checkpoint.npz`` per run folder, rewritten atomically at every save
point: the optimizer's state (G, and Adam's m and v slots and beta powers),
how many updates that state has had, the cost history up to it, the best image
so far, the run's configuration, a fingerprint of its inputs and a digest of each input
file (so that a refused resume names the file that changed). Restoring the
state into a freshly built graph makes the next step compute exactly what the
uninterrupted run computed. A checkpoint is checked field by field before any
of it is used: whatever is wrong is reported, never acted on.
"""
import math
import re
from typing import NamedTuple, Optional

import numpy as np

from nst.algorithm.images import write_atomic
from nst.algorithm.optimize import Step, history_columns
from nst.errors import NSTError
from nst.run.config import RunConfig
from nst.run.statefile import header_of, read_state_file, state_bytes

CHECKPOINT_FILE = "checkpoint.npz"
FORMAT = 2  # 1: before the run layer's redesign (no configuration object)
HISTORY_COLUMNS = history_columns("J_tv")


class Best(NamedTuple):
    """The lowest-J G seen so far."""

    J: float
    image: np.ndarray  # (1, H, W, 3), normalised
    iteration: int


class Checkpoint(NamedTuple):
    steps: int  # optimizer updates applied to the saved state
    history: list  # one Step (without its image) per G before the saved state
    best: Optional[Best]
    variables: dict  # variable name -> value
    config: RunConfig
    fingerprint: str  # of the run's inputs and weights (Problem.fingerprint)
    inputs: Optional[dict] = None  # each input's digest (Problem.input_digests); None in older checkpoints


def checkpoint_bytes(checkpoint):
    """The .npz content of a :class:`Checkpoint`."""
    names = sorted(checkpoint.variables)
    arrays = {f"var{i}": np.asarray(checkpoint.variables[name]) for i, name in enumerate(names)}
    header = {"format": FORMAT, "steps": checkpoint.steps, "names": names, "config": checkpoint.config.to_dict(),
              "fingerprint": checkpoint.fingerprint, "inputs": checkpoint.inputs, "best": None}
    if checkpoint.best is not None:
        header["best"] = {"J": checkpoint.best.J, "iteration": checkpoint.best.iteration}
        arrays["best_image"] = np.asarray(checkpoint.best.image, np.float32)
    rows = [[r.iteration, r.J, r.J_content, r.J_style, np.nan if r.J_tv is None else r.J_tv, r.seconds]
            for r in checkpoint.history]
    arrays["history"] = np.asarray(rows, np.float64).reshape(-1, len(HISTORY_COLUMNS))
    return state_bytes(header, arrays)


def write_checkpoint(path, checkpoint):
    write_atomic(path, checkpoint_bytes(checkpoint))


def read_checkpoint(path):
    """Load and check a checkpoint; one clear error if it is missing, damaged or not valid."""
    arrays = read_state_file(path, "checkpoint", "runs write one at every save point")
    try:
        return _checked(arrays)
    except (ValueError, KeyError, TypeError, NSTError) as exc:  # NSTError: settings the run would refuse
        raise NSTError(f"{path}: not a valid checkpoint: {exc}") from None


def _checked(arrays):
    """A Checkpoint from the arrays of the file, or ValueError saying what is wrong."""
    header = header_of(arrays, FORMAT)
    steps = _integer(header.get("steps"), "steps", 1)
    config = RunConfig.from_dict(header.get("config"))
    config.validate()
    if steps > config.iterations:
        raise ValueError(f"steps {steps} is more than the run's {config.iterations} iterations")
    fingerprint = header.get("fingerprint")
    if not _is_digest(fingerprint):
        raise ValueError("fingerprint is not a SHA-256 digest")
    history = _history(_array(arrays, "history", ndim=2), steps)
    names = header.get("names")
    if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)):
        raise ValueError("names is not a list of variable names")
    variables = {name: _finite(_array(arrays, f"var{i}"), name) for i, name in enumerate(names)}
    return Checkpoint(steps, history, _best(header.get("best"), arrays, steps), variables, config, fingerprint,
                      _input_digests(header.get("inputs")))


def _is_digest(value):
    return isinstance(value, str) and re.fullmatch(r"[0-9a-f]{64}", value) is not None


def _input_digests(inputs):
    """The inputs' digests by setting, each a list of SHA-256 digests; None where the checkpoint has none."""
    if inputs is None:
        return None
    if not (isinstance(inputs, dict) and all(isinstance(v, list) and all(map(_is_digest, v))
                                             for v in inputs.values())):
        raise ValueError("inputs is not a mapping of settings to lists of SHA-256 digests")
    return inputs


def _array(arrays, name, ndim=None):
    if name not in arrays:
        raise ValueError(f"{name} is missing")
    value = arrays[name]
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} has {value.ndim} dimensions, not {ndim}")
    return value


def _integer(value, name, low, high=None):
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
        raise ValueError(f"{name} is {value!r}, not an integer from {low}" + (f" to {high}" if high else ""))
    return value


def _finite(value, name):
    if value.dtype.kind != "f" or not np.isfinite(value).all():
        raise ValueError(f"{name} is not an array of finite numbers")
    return value


def _history(table, steps):
    """The history rows as Steps; they must be rows 0 .. steps-1 with finite costs."""
    if table.shape != (steps, len(HISTORY_COLUMNS)):
        raise ValueError(f"history has shape {table.shape}, not ({steps}, {len(HISTORY_COLUMNS)})")
    if not np.array_equal(table[:, 0], np.arange(steps)):
        raise ValueError("history rows are not the iterations 0, 1, 2, ...")
    values = np.delete(table, 4, axis=1)  # J_tv may be NaN: the run had no total-variation term
    if not np.isfinite(values).all() or (values[:, 1:4] < 0).any():
        raise ValueError("history holds costs that are negative or not finite")
    return [Step(int(r[0]), float(r[1]), float(r[2]), float(r[3]), None if math.isnan(r[4]) else float(r[4]),
                 float(r[5]), None) for r in table]


def _best(best, arrays, steps):
    if best is None:
        return None
    if not isinstance(best, dict) or not isinstance(best.get("J"), (int, float)) or not math.isfinite(best["J"]):
        raise ValueError("best has no finite J")
    image = _finite(_array(arrays, "best_image", ndim=4), "best_image")
    return Best(float(best["J"]), image, _integer(best.get("iteration"), "best iteration", 0, steps))
