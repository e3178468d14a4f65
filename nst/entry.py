"""``nst`` and ``python -m nst``: one command, one subcommand per job.

Each subcommand lives in its own module and is imported only when asked for,
so ``nst train`` never loads the benchmark or matplotlib's figures. Nothing in
the package imports this module: it sits on top.
"""
import importlib
import sys

from nst import __version__
from nst.run.interrupt import exit_code, raise_on_signals

COMMANDS = {  # name -> (module with main(argv, prog), what it does)
    "train": ("nst.commands.train", "style transfer of one content image (the paper's algorithm)"),
    "download": ("nst.commands.download", "fetch the VGG-19 weights"),
    "gallery": ("nst.tools.gallery", "remake the README's gallery of settings"),
    "bench": ("nst.tools.bench", "seconds per step and peak memory, against its peers (course, TF, PyTorch)"),
    "bench-tiles": ("nst.tools.tilebench", "peak memory and seconds of a tiled step as the picture grows"),
    "figure": ("nst.run.figure", "the C + S = G picture of a run"),
    "batch": ("nst.batch.command", "many style transfers (content x style, or a CSV) on Ray, here or on a cluster"),
    "bench-batch": ("nst.tools.batchbench", "jobs per hour of nst batch for 1, 2, ... workers on this machine"),
    "video": ("nst.video.command", "style transfer of a video, temporally consistent (Ruder et al., 2016)"),
    "videobench": ("nst.tools.videobench", "nst video's consistency, style cost and speed; its defaults"),
    "serve": ("nst.web.command", "a local web page: upload, watch G form, download (needs the app extra)"),
}


def usage():
    lines = ["usage: nst COMMAND [options]   (nst COMMAND --help for its options)", "", "commands:"]
    lines += [f"  {name:<12} {what}" for name, (_, what) in COMMANDS.items()]
    return "\n".join(lines + ["", "  --version  print the version"])


def main(argv=None):
    """Run a subcommand; a stop signal at any moment ends it with one line, never a traceback."""
    raise_on_signals()
    try:
        return _dispatch(sys.argv[1:] if argv is None else list(argv))
    except KeyboardInterrupt as exc:  # during start-up (TensorFlow's import takes seconds) or a tool's work
        name = exc.args[0] if exc.args else "SIGINT"
        print(f"nst: interrupted ({name})", file=sys.stderr)
        return exit_code(exc)


def _dispatch(argv):
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"nst {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"nst: error: unknown command '{argv[0]}': use one of {', '.join(COMMANDS)} (see nst --help)",
              file=sys.stderr)
        return 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:], prog=f"nst {argv[0]}")


def train_main():
    """``nst-train``: the same as ``nst train``."""
    return main(["train", *sys.argv[1:]])


def download_main():
    """``nst-download``: the same as ``nst download``."""
    return main(["download", *sys.argv[1:]])
