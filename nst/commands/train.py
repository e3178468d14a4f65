"""``nst train``: command-line options <-> :class:`nst.run.config.RunConfig`, and the messages.

One parser, whose options default to "not given", so the same parse serves a
new run (the configuration's defaults fill the rest) and ``--resume`` (the
stored configuration does, and an option given again, or set by the preset
given again, must keep its value unless it is one that may change). Library
errors name a setting as ``{option}``; this is where it becomes a flag. Every
failure is one line on stderr with exit code 2; Ctrl-C exits 130.
"""
import argparse
import os
import signal
import sys
from typing import Any, Dict, NamedTuple, Optional, Sequence, Tuple

from nst import __version__
from nst.algorithm import colors, images
from nst.algorithm.guides import MASK_MODES
from nst.algorithm.lbfgs import LINE_SEARCHES
from nst.algorithm.vgg import PRECISIONS, WEIGHTS_ENV, resolve_weights_path
from nst.errors import NSTError, OneLineParser, report
from nst.run import presets
from nst.run.checkpoint import CHECKPOINT_FILE, Checkpoint, read_checkpoint
from nst.run.config import (
    OPTIMIZERS,
    POOLINGS,
    RESUMABLE,
    RUN_FOLDER_SUFFIX,
    TV_FORMS,
    RunConfig,
    default,
)
from nst.run.inputs import START_KEYWORDS
from nst.run.interrupt import exit_code
from nst.run.loop import Result, run_style_transfer
from nst.run.outputs import BEST_IMAGE
from nst.weights.locate import cache_dir
from nst.weights.routes import ROUTES, obtain_first, routes_summary

PROG = "nst train"
FLAGS = {"init_image": "--init", "style_layer_sets": "--style-layers"}  # settings whose flag is not their name

EXAMPLES = """examples:
  nst train                                    the default images with the assignment's settings, into output/
  nst train --content me.jpg --style starry.jpg --max-side 512 --seed 0
  nst train --content me.jpg --style a.jpg b.jpg --style-blend 0.7 0.3 --preserve-colors luminance
  nst train --optimizer lbfgs --iterations 100    the paper's optimizer, about 3x faster to the same J
  nst train --resume output --iterations 400       continue a run (after Ctrl-C, a kill, or to go further)
"""


def flag(setting: str) -> str:
    """The command-line flag of a configuration setting."""
    return FLAGS.get(setting, "--" + setting.replace("_", "-"))


def build_parser(prog: str = PROG, helps: Optional[Dict[str, str]] = None) -> argparse.ArgumentParser:
    """The options of a run; ``helps`` gives another front-end's wording of some (by setting name)."""
    helps = helps or {}
    p = OneLineParser(prog=prog, description="Gatys et al. (2015) neural style transfer on VGG-19 (.mat): "
                      "a generated image G with the content of one image and the style of another.",
                      argument_default=argparse.SUPPRESS, epilog=EXAMPLES,
                      formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_pictures(p, helps)
    _add_costs(p)
    _add_start_and_layers(p)
    _add_network(p, helps)
    _add_run_files(p, helps)
    return p


def _add_pictures(p, helps):
    """Options of the pictures, where the result goes and how long the run is."""
    p.add_argument("--content", metavar="PATH",
                   help=helps.get("content") or "content image (default: matplotlib's Grace Hopper photo)")
    p.add_argument("--style", nargs="+", metavar="PATH", help="style image(s) (default: a painted swirl)")
    p.add_argument("--style-blend", nargs="+", type=float, metavar="W",
                   help="weights of several style images, scaled to sum 1 (default: equal)")
    p.add_argument("--style-masks", nargs="+", metavar="MASK",
                   help="one grey picture per style image, of the content's aspect: where over the result each "
                   "style applies (white: fully, black: not at all; 'none': everywhere)")
    p.add_argument("--style-source-masks", nargs="+", metavar="MASK",
                   help="one grey picture per style image, of its aspect: the part of it that is the source "
                   "('none': all of it)")
    p.add_argument("--mask-mode", choices=MASK_MODES, help="how masks reach each layer: resize (averaged, the "
                   "default) or eroded (a feature counts only where its whole receptive field is inside)")
    p.add_argument("--style-scale", type=float, metavar="X",
                   help=f"style image size relative to the generated image "
                   f"(default: {default('style_scale'):g})")
    p.add_argument("--preserve-colors", choices=colors.MODES,
                   help="keep the content's colours: luminance-only transfer, or the style recoloured")
    p.add_argument("--output", metavar="PATH", help=helps.get("output") or "an image file for the result "
                   "(out.jpg: its format by its extension; the run's other files go to out.run/ beside it), or a "
                   f"folder for all of them (default: {default('output')})")
    p.add_argument("--iterations", type=int, metavar="N",
                   help=helps.get("iterations") or f"Adam steps, or L-BFGS iterations (default: "
                   f"{default('iterations')})")


def _add_costs(p):
    """Options of the cost weights and a preset of settings."""
    p.add_argument("--learning-rate", type=float, metavar="X",
                   help=f"Adam's step size (default: {default('learning_rate'):g})")
    p.add_argument("--alpha", type=float, metavar="X", help=f"content weight (default: {default('alpha'):g})")
    p.add_argument("--beta", type=float, metavar="X", help=f"style weight (default: {default('beta'):g})")
    p.add_argument("--tv-weight", type=float, metavar="X", help="weight of the total-variation (smoothness) "
                   f"cost (default: {default('tv_weight'):g}, off)")
    p.add_argument("--tv-form", choices=TV_FORMS, help="mean: mean squared neighbour differences (default); "
                   "jcjohnson: half their sum, as jcjohnson/neural-style")
    p.add_argument("--preset", choices=presets.names(), help="a whole set of settings that other options "
                   "then change: " + "; ".join(presets.describe(n) for n in presets.names()))


def _add_start_and_layers(p):
    """Options of G's start and the layers of the costs."""
    p.add_argument("--init", metavar="START", help="where the generated image starts: mix (noise * r + "
                   "content * (1 - r), the default), content, noise, style, gaussian (the mean pixel plus "
                   "N(0, std^2)) or an image PATH")
    p.add_argument("--init-std", type=float, metavar="X",
                   help=f"std of the gaussian start (default: {default('init_std'):g})")
    p.add_argument("--noise-ratio", type=float, metavar="R",
                   help=f"r of the default start (default: {default('noise_ratio'):g})")
    content = p.add_mutually_exclusive_group()
    content.add_argument("--content-layer", metavar="LAYER",
                         help=f"layer of the content cost (default: {default('content_layers')[0][0]})")
    content.add_argument("--content-layers", metavar="L:W,...", help="content cost at several layers, weighted")
    p.add_argument("--style-layers", metavar="L:W,...", nargs="+",
                   help="layers and weights of the style cost (default: "
                   f"{layers_text(default('style_layers'))}); several, one per style image: each style at its own "
                   "layers (e.g. conv1_1,conv2_1,conv3_1 conv4_1,conv5_1)")
    p.add_argument("--style-layer-weight-exp", type=float, metavar="E",
                   help="style layer weights proportional to E**i, summing to 1 (default: off)")


def _add_network(p, helps):
    """Options of the network's size, pooling and number format, the optimizer, the seed."""
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", metavar="HxW", help="exact size of the generated image; the inputs are "
                      "cropped to its aspect (the assignment used 300x400)")
    size.add_argument("--max-side", type=int, metavar="N", help="longer side of the generated image in px, "
                      f"the content's aspect kept, nothing cut (default: {images.DEFAULT_MAX_SIDE})")
    p.add_argument("--pooling", choices=POOLINGS, help=f"pooling in VGG-19 (default: {default('pooling')})")
    p.add_argument("--precision", choices=tuple(PRECISIONS), help="the network's number format: fp32 (default), "
                   "or bf16, bfloat16 convolutions with the costs in float32: 1.8x faster per step on a CPU with "
                   "AVX-512 BF16 (as measured), J within 1 %% of fp32 after 200 steps (see the README); or auto, "
                   "bf16 where the GPU or CPU has it, else fp32")
    p.add_argument("--tile", metavar="auto|PX", help="compute each step tile by tile, the same J and gradient in "
                   "bounded memory, for pictures too big for it: auto tiles only where the untiled step would not "
                   "fit free memory, with the largest tile that fits; a number tiles always with tiles of that "
                   "side (default: untiled; see docs/tiles.md)")
    p.add_argument("--optimizer", choices=OPTIMIZERS, help="adam (as the assignment) or lbfgs (as Gatys et "
                   f"al.'s own code) (default: {default('optimizer')})")
    p.add_argument("--lbfgs-memory", type=int, metavar="N", help="curvature pairs L-BFGS keeps "
                   f"(default: {default('lbfgs_memory')}; more: better steps, more memory and larger checkpoints)")
    p.add_argument("--line-search", choices=LINE_SEARCHES, help="L-BFGS's steps: wolfe, searched until J falls "
                   "enough (as scipy's L-BFGS-B; the default), or fixed, torch's unit steps (as "
                   "jcjohnson/neural-style)")
    smaller = p.add_mutually_exclusive_group()
    smaller.add_argument("--coarse-to-fine", type=int, metavar="N",
                         help=helps.get("coarse_to_fine") or "first run N iterations at half size, then refine "
                         "(default: 0, off)")
    smaller.add_argument("--levels", metavar="SIDE:N,...", help="first run N iterations with the longer side "
                         "SIDE px, for each level in order (e.g. 128:300,256:150), then the full size")
    p.add_argument("--seed", type=int, metavar="N", help="random seed of the noise: same seed, same costs")


def _add_run_files(p, helps):
    """Options of saving, resuming, logs, weights and the run folder."""
    p.add_argument("--save-every", type=int, metavar="N",
                   help=f"save the image and a checkpoint every N steps (default: {default('save_every')})")
    p.add_argument("--resume", metavar="DIR",
                   help=helps.get("resume") or "continue the run in DIR from its last checkpoint")
    p.add_argument("--logdir", metavar="DIR",
                   help=helps.get("logdir") or "write TensorBoard curves and images there")
    p.add_argument("--vgg", metavar="PATH", help="VGG-19 .mat (default: $NST_VGG19, else ./pretrained-model/, "
                   "else the user cache; see nst download)")
    fetch = p.add_mutually_exclusive_group()
    fetch.add_argument("--download", action="store_const", const="always", dest="download",
                       help="if no weights are found, download them into the user cache, unasked "
                       "(the routes of nst download, in order)")
    fetch.add_argument("--no-download", action="store_const", const="never", dest="download",
                       help="never offer to download missing weights")
    p.add_argument("--max-pixels", type=int, metavar="N", help=helps.get("max_pixels") or "refuse input images of "
                   f"more pixels, from their header, before decoding (default: {default('max_pixels'):,})")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier run in the output folder "
                   "(its files are removed first; without this such a folder is refused)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--version", action="version", version=f"nst {__version__}")


def layers_text(layers: Sequence[Tuple[str, float]]) -> str:
    return ",".join(f"{name}:{weight:g}" for name, weight in layers)


def parse_layers(text: str, option: str) -> Tuple[Tuple[str, float], ...]:
    """'conv1_1:0.2,conv2_1:0.2' -> (('conv1_1', 0.2), ...); a bare name gets an equal share."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise NSTError("{option} is empty", option)
    layers = []
    for item in items:
        name, _, weight = item.partition(":")
        try:
            layers.append((name.strip(), float(weight) if weight else 1.0 / len(items)))
        except ValueError:
            raise NSTError(f"{{option}}: bad weight '{weight}' for layer {name}", option) from None
    return tuple(layers)


def parse_levels(text: str) -> Tuple[Tuple[int, int], ...]:
    """'128:300,256:150' -> ((128, 300), (256, 150)); '' -> () (none)."""
    levels = []
    for item in (item.strip() for item in text.split(",") if item.strip()):
        side, _, n = item.partition(":")
        try:
            levels.append((int(side), int(n)))
        except ValueError:
            raise NSTError(f"{{option}}: '{item}' is not SIDE:ITERATIONS, e.g. 128:300", "levels") from None
    return tuple(levels)


def settings_of(given: Dict[str, Any]) -> Dict[str, Any]:
    """The configuration settings of the options given (argparse's namespace as a dict)."""
    out = dict(given)
    if "content_layer" in out:
        out["content_layers"] = ((out.pop("content_layer"), 1.0),)
    elif "content_layers" in out:
        out["content_layers"] = parse_layers(out["content_layers"], "content_layers")
    if "style_layers" in out:
        texts = out.pop("style_layers")
        if "style_layer_weight_exp" in out and (len(texts) > 1 or ":" in texts[0]):
            raise NSTError("{option} sets the style layer weights: give the style layers once, as bare names, "
                           "e.g. conv1_1,conv2_1", "style_layer_weight_exp")
        sets = tuple(parse_layers(text, "style_layers") for text in texts)
        out["style_layers" if len(sets) == 1 else "style_layer_sets"] = sets[0] if len(sets) == 1 else sets
    if "init" in out and out["init"] not in START_KEYWORDS:
        out["init"], out["init_image"] = "image", out["init"]
    if "levels" in out:
        out["levels"] = parse_levels(out["levels"])
    if "size" in out:
        try:
            out["size"] = images.parse_size(out["size"])
        except NSTError as exc:
            raise NSTError(f"{{option}}: {exc}", "size") from None
    return out


class Parsed(NamedTuple):
    config: RunConfig
    checkpoint: Optional[Checkpoint]  # to continue from (--resume), or None
    download: str = "ask"  # missing weights: "ask" on a terminal, "always" or "never"


def parse(argv: Sequence[str]) -> Parsed:
    """The configuration to run, the checkpoint to continue from, and what to do if weights are missing."""
    given = settings_of(vars(build_parser().parse_args(argv)))
    download = given.pop("download", "ask")
    return Parsed(*configuration(given), download)


def configuration(given: Dict[str, Any]) -> Tuple[RunConfig, Optional[Checkpoint]]:
    """(config, checkpoint or None) from the settings given: defaults, then the preset, then the options."""
    folder, preset = given.pop("resume", None), given.pop("preset", None)
    if folder is not None and given.get("overwrite"):
        raise NSTError("--resume continues the run in its folder, --overwrite replaces it: give one of them")
    if folder is None:
        return RunConfig(**presets.merge(preset or "course", given)).validate(), None
    return resumed(folder, given, preset)


def resumed(folder: str, given: Dict[str, Any], preset: Optional[str] = None) -> Tuple[RunConfig, Checkpoint]:
    """The stored configuration of the run in ``folder``, with the changes that may be made."""
    folder = os.path.abspath(folder)
    checkpoint = read_checkpoint(os.path.join(folder, CHECKPOINT_FILE))
    return continued(checkpoint.config, folder, given, preset), checkpoint


def continued(stored: RunConfig, folder: str, given: Dict[str, Any], preset: Optional[str] = None) -> RunConfig:
    """The stored configuration of the run in ``folder`` with the options ``given``: only those that may change.

    A ``preset``'s settings count as given, merged as a new run merges them: the same command resumes.
    """
    if "output" in given and RunConfig(output=given["output"]).output != folder:
        raise NSTError(f"--output {given['output']} is not the run being resumed ({folder})")
    wanted = presets.merge(preset, given, whole=True) if preset else given
    # a checkpoint never chooses where this run writes: the folder resumed, the image that names it
    # (out.jpg for out.run/), and logs only if asked
    image = stored.output_image
    image = image if image and os.path.splitext(image)[0] + RUN_FOLDER_SUFFIX == folder else None
    config = stored.replace(**{**wanted, "output": folder, "output_image": image, "logdir": given.get("logdir")})
    for setting in wanted:
        if setting not in RESUMABLE + ("output",) and getattr(config, setting) != getattr(stored, setting):
            raise NSTError(refusal(setting, stored, config, None if setting in given else preset))
    return config.validate()


def refusal(setting: str, stored: RunConfig, config: RunConfig, preset: Optional[str]) -> str:
    """Why ``setting`` cannot change on resume; ``preset`` when the new value is the preset's, not a flag's."""
    old, new = value_text(setting, getattr(stored, setting)), value_text(setting, getattr(config, setting))
    allowed = ", ".join(flag(s) for s in RESUMABLE)
    if preset:
        return (f"--preset {preset} sets {flag(setting)} {new}, the run has {old}: {flag(setting)} cannot change "
                f"when resuming (only {allowed} may change)")
    return (f"{flag(setting)} cannot change when resuming: the run has {old}, the command gives {new} "
            f"(only {allowed} may change)")


def value_text(setting: str, value: Any) -> str:
    """A setting's value as it would be typed."""
    if value is None:
        return "none"
    if setting.endswith("_layers"):
        return layers_text(value)
    if setting == "style_layer_sets":
        return " ".join(layers_text(s) for s in value) or "none"
    if setting == "levels":
        return ",".join(f"{side}:{n}" for side, n in value) or "none"
    if setting == "size":
        return f"{value[0]}x{value[1]}"
    if isinstance(value, tuple):
        return " ".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def report_result(config: RunConfig, result: Result) -> int:
    """The closing lines: final costs and files, or where an interrupted run left its state."""
    last, unit = result.history[-1], OPTIMIZERS[config.optimizer].unit
    if result.interrupted:
        saved = result.saved[-1] if result.saved else "nothing"
        how = f"nst train --resume {config.output}"
        name = signal.Signals(result.interrupted).name
        print(f"interrupted ({name}) after {last.iteration} {unit}s: saved {saved}, history.csv and checkpoint.npz "
              f"in {config.output}; continue with: {how}", file=sys.stderr)
        return 128 + result.interrupted
    print(f"final J={last.J:.6g} (J_content={last.J_content:.6g}, J_style={last.J_style:.6g}) "
          f"after {last.iteration} {unit}s")
    if config.output and result.best is not None:  # a run that wrote a folder took a step at least
        print(f"final image: {config.output_image or result.saved[-1]}\n"
              f"best image: {os.path.join(config.output, BEST_IMAGE)} (J={result.best.J:.6g} after "
              f"{result.best.iteration} {unit}s)")
    print(f"colour distance to the content: {result.color_distance:.2f} (mean YIQ chroma distance, 0-255)")
    if config.output:
        steps = sum(os.path.basename(path).startswith("iteration_") for path in result.saved)
        print(f"also wrote {steps} intermediate images, the inputs as the network saw them, "
              f"history.csv and checkpoint.npz in {config.output}")
    return 0


def ensure_weights(config: RunConfig, download: str) -> None:
    """When no weights are found and none were named, download them: asked on a terminal, or as told.

    The routes are tried in order and the one that served is named.
    """
    if config.vgg or os.environ.get(WEIGHTS_ENV) or download == "never":
        return
    if os.path.exists(resolve_weights_path(None)):
        return
    if download != "always":
        if not sys.stdin.isatty():
            return  # the one-line "not found" error follows, saying how to get them
        try:
            answer = input(f"VGG-19 weights not found; download them into {cache_dir()}? "
                           f"(tries {routes_summary()}) [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            return
    say = lambda text: print(text, file=sys.stderr)  # noqa: E731
    got = obtain_first(list(ROUTES), say=say, progress=not config.quiet)
    say(f"weights from {got.source}: {got.path}: {got.how}")


def main(argv: Optional[Sequence[str]] = None, prog: str = PROG) -> int:
    try:
        config, checkpoint, download = parse(sys.argv[1:] if argv is None else argv)
        ensure_weights(config, download)
        say = None if config.quiet else (lambda text: print(text, file=sys.stderr))
        return report_result(config, run_style_transfer(config, checkpoint, say=say))
    except NSTError as exc:
        return report(prog, exc, flag)
    except KeyboardInterrupt as exc:  # before the first step, or a second signal: nothing consistent to keep
        print(f"{prog}: interrupted ({exc.args[0] if exc.args else 'SIGINT'}) before anything could be saved",
              file=sys.stderr)
        return exit_code(exc)
