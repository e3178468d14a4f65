"""The command line of ``python -m nst.train``: parse, check every input, then run.

All checks happen before the graph is built, and every failure is one line on
stderr that names the file or option, with exit code 2.
"""
import argparse
import os
import sys
import tempfile

from nst import images, memory
from nst.costs import ALPHA, BETA, CONTENT_LAYER, STYLE_LAYERS
from nst.errors import NSTError, report
from nst.graph import LEARNING_RATE, CostSettings, build_graph, new_session
from nst.train import INPUT_IMAGES, run_style_transfer
from nst.vgg import canonical_layer, deepest, read_vgg_weights, resolve_weights_path

PROG = "nst.train"


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line instead of usage + message
        raise NSTError(f"{message} (see --help)")


def parse_style_layers(text):
    """'conv1_1:0.2,conv2_1:0.2' -> [('conv1_1', 0.2), ...]; a bare name gets an equal share."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise NSTError("--style-layers is empty")
    layers = []
    for item in items:
        name, _, weight = item.partition(":")
        try:
            value = float(weight) if weight else 1.0 / len(items)
        except ValueError:
            raise NSTError(f"--style-layers: bad weight '{weight}' for layer {name}") from None
        layers.append((canonical_layer(name.strip()), value))
    return layers


def _format_layers(layers):
    return ",".join(f"{name}:{weight:g}" for name, weight in layers)


def build_parser():
    p = _Parser(prog=PROG, description="Gatys et al. (2015) neural style transfer on VGG-19 (.mat).")
    p.add_argument("--content", help="content image (default: matplotlib's bundled Grace Hopper photo)")
    p.add_argument("--style", help="style image (default: a procedurally painted swirl)")
    p.add_argument("--output", default="output", help="directory for images and history.csv (default: output)")
    p.add_argument("--iterations", type=int, default=200, help="Adam steps (default: 200)")
    p.add_argument("--learning-rate", type=float, default=LEARNING_RATE, help="Adam learning rate (default: 2.0)")
    p.add_argument("--alpha", type=float, default=ALPHA, help="content weight alpha (default: 10)")
    p.add_argument("--beta", type=float, default=BETA, help="style weight beta (default: 40)")
    p.add_argument("--noise-ratio", type=float, default=0.6, help="G = noise*r + C*(1-r) (default: 0.6)")
    p.add_argument("--content-layer", default=CONTENT_LAYER, help="layer of eq. 1 (default: conv4_2)")
    p.add_argument("--style-layers", default=_format_layers(STYLE_LAYERS),
                   help="NAME:WEIGHT,... for eq. 2 (default: conv1_1..conv5_1 at 0.2)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", default=None, help="HEIGHTxWIDTH of G (default: 300x400)")
    size.add_argument("--max-side", type=int, default=None, help="longer side of G in px, aspect kept")
    p.add_argument("--pooling", choices=("avg", "max"), default="avg", help="pooling in VGG (default: avg)")
    p.add_argument("--seed", type=int, default=None, help="seed of the noise: same seed, same costs")
    p.add_argument("--save-every", type=int, default=20, help="save G every N steps (default: 20)")
    p.add_argument("--vgg", default=None, help="VGG-19 .mat (default: $NST_VGG19, else "
                   "pretrained-model/imagenet-vgg-verydeep-19.mat)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def check_numbers(args):
    for flag, value in (("--iterations", args.iterations), ("--learning-rate", args.learning_rate),
                        ("--save-every", args.save_every)):
        if not value > 0:
            raise NSTError(f"{flag} must be positive, got {value}")
    if not 0.0 <= args.noise_ratio <= 1.0:
        raise NSTError(f"--noise-ratio must be between 0 and 1, got {args.noise_ratio}")
    for flag, value in (("--alpha", args.alpha), ("--beta", args.beta)):
        if not value >= 0:
            raise NSTError(f"{flag} must be zero or positive, got {value}")
    if args.max_side is not None and args.max_side < images.MIN_SIDE:
        raise NSTError(f"--max-side must be at least {images.MIN_SIDE}, got {args.max_side}")


def prepare_output_dir(path):
    """Create the output directory and prove it is writable, before any work is done."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise NSTError(f"{path}: output path exists and is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        raise NSTError(f"{path}: output directory is not writable ({exc.strerror or exc})") from None


def target_size(args, content_shape):
    if args.max_side:
        return images.fit_max_side(content_shape, args.max_side)
    return images.parse_size(args.size) if args.size else images.DEFAULT_SIZE


def read_images(args):
    """The content and style as loaded (style None: painted later at G's size), with names."""
    content, content_name = (images.load_image(args.content), args.content) if args.content \
        else images.default_content_image()
    style = images.load_image(args.style) if args.style else None
    return content, style, content_name, args.style


def prepare(args):
    """Every check before the graph: numbers, layers, images, weights, memory, output directory.

    Returns the cost settings, the weights and the content and style at G's size.
    """
    check_numbers(args)
    settings = CostSettings(canonical_layer(args.content_layer), parse_style_layers(args.style_layers),
                            args.alpha, args.beta, args.learning_rate, args.pooling)
    content, style, content_name, style_name = read_images(args)
    size = target_size(args, content.shape)
    weights = read_vgg_weights(resolve_weights_path(args.vgg))
    memory.check_fits(weights, size, deepest([settings.content_layer] + [n for n, _ in settings.style_layers]))
    prepare_output_dir(args.output)
    if style is None:
        style, style_name = images.default_style_image(size)
    inputs = images.resize_image(content, size), images.resize_image(style, size), content_name, style_name
    return settings, weights, inputs


def run(args):
    settings, weights, (content, style, content_name, style_name) = prepare(args)
    size = content.shape[:2]
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    say(f"content: {content_name}\nstyle:   {style_name}\nweights: {weights.path}\n"
        f"size:    {size[0]}x{size[1]}, {args.iterations} Adam steps on {device_name()}")
    C = images.reshape_and_normalize_image(content, weights.mean_pixel)
    S = images.reshape_and_normalize_image(style, weights.mean_pixel)
    G = images.generate_noise_image(C, args.noise_ratio, args.seed)
    for name, image in zip(INPUT_IMAGES, (C, S)):
        images.save_image(os.path.join(args.output, name), image, weights.mean_pixel)
    sess = new_session()
    try:
        graph = build_graph(sess, weights, C, S, settings)
        result = run_style_transfer(graph, G, args.iterations, args.save_every, args.output,
                                    weights.mean_pixel, progress=not args.quiet)
    finally:
        sess.close()
    J, J_content, J_style = result.history[-1][1:4]
    print(f"final J={J:.6g} (J_content={J_content:.6g}, J_style={J_style:.6g}) after {args.iterations} steps")
    print(f"final image: {result.saved[-1]}\n"
          f"also wrote {len(result.saved) - 1} intermediate images, {', '.join(INPUT_IMAGES)} "
          f"and history.csv in {args.output}")
    return 0


def device_name():
    from nst.tf1 import GPUS

    return f"GPU ({GPUS[0].name})" if GPUS else f"CPU ({os.cpu_count()} cores)"


def main(argv=None):
    try:
        return run(build_parser().parse_args(argv))
    except NSTError as exc:
        return report(PROG, exc)
