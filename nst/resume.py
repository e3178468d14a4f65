"""``--resume DIR``: continue the run whose checkpoint is in DIR, with its own options.

Each checkpoint stores the run's options (file paths made absolute) and a
fingerprint of what defines its costs: C, the style images and the weights.
Resuming takes the options from there, allows only changes that do not touch
the costs (more iterations, saving, logging, where the weights file is), and
refuses to go on if the inputs now read differently.
"""
import argparse
import hashlib
import os

import numpy as np

from nst.checkpoint import CHECKPOINT_FILE, read_checkpoint
from nst.errors import NSTError
from nst.inputs import INIT_KEYWORDS

RESUMABLE = ("iterations", "save_every", "quiet", "vgg", "logdir", "resume")
PATH_OPTIONS = ("content", "vgg", "logdir", "output")


def _flag(dest):
    return "--" + dest.replace("_", "-")


def _absolute(options):
    """The options with every file path absolute, so a resume works from any directory."""
    out = dict(options)
    for key in PATH_OPTIONS:
        if out.get(key):
            out[key] = os.path.abspath(out[key])
    if out.get("style"):
        out["style"] = [os.path.abspath(p) for p in out["style"]]
    if out.get("init") and out["init"] not in INIT_KEYWORDS:
        out["init"] = os.path.abspath(out["init"])
    return out


def run_info(args, fingerprint):
    """What each checkpoint stores about the run: its options and its inputs' fingerprint."""
    options = {k: v for k, v in vars(args).items() if k != "resume"}
    return {"options": _absolute(options), "fingerprint": fingerprint}


def fingerprint(arrays):
    """A digest of some arrays (the normalised inputs, a few weight tensors): equal iff they are."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(str((array.dtype.str, array.shape)).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def resume_args(given, defaults):
    """The options and checkpoint to continue ``given['resume']``'s run.

    ``given`` holds only the options typed on the command line, ``defaults``
    every option's default.
    """
    folder = given["resume"]
    fixed = [dest for dest in given if dest not in RESUMABLE]
    if fixed:
        allowed = ", ".join(_flag(d) for d in RESUMABLE if d != "resume")
        raise NSTError(f"--resume {folder}: {_flag(fixed[0])} cannot change when resuming "
                       f"(the run keeps its own options; only {allowed} may be given)")
    checkpoint = read_checkpoint(os.path.join(folder, CHECKPOINT_FILE))
    options = checkpoint.info.get("options") if isinstance(checkpoint.info, dict) else None
    if not options:
        raise NSTError(f"{os.path.join(folder, CHECKPOINT_FILE)}: has no run options to resume with")
    merged = {**defaults, **options, **given, "output": folder}
    return argparse.Namespace(**merged), checkpoint


def check_fingerprint(checkpoint, value, folder):
    if checkpoint.info.get("fingerprint") != value:
        raise NSTError(f"--resume {folder}: the content, style images or weights are not those of the "
                       "run being resumed, so its costs could not continue; start a new run instead")
