"""The command line of ``python -m nst.train``: parse, check every input, then run.

All checks happen before the graph is built, and every failure is one line on
stderr that names the file or option, with exit code 2.
"""
import argparse
import os
import sys
import tempfile

from nst import colors, images, memory
from nst.coarse import coarse_start
from nst.costs import ALPHA, BETA, CONTENT_LAYER, STYLE_LAYERS
from nst.errors import NSTError, OneLineParser, report
from nst.graph import LEARNING_RATE, CostSettings, build_graph, new_session
from nst.inputs import initial_image, network_inputs, read_init, style_size
from nst.resume import check_fingerprint, fingerprint, resume_args, run_info
from nst.styles import normalize_blend
from nst.train import INPUT_IMAGES, picture, run_style_transfer
from nst.vgg import canonical_layer, deepest, read_vgg_weights, resolve_weights_path

PROG = "nst.train"
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


def parse_layers(text, flag="--style-layers"):
    """'conv1_1:0.2,conv2_1:0.2' -> [('conv1_1', 0.2), ...]; a bare name gets an equal share."""
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise NSTError(f"{flag} is empty")
    layers = []
    for item in items:
        name, _, weight = item.partition(":")
        try:
            value = float(weight) if weight else 1.0 / len(items)
        except ValueError:
            raise NSTError(f"{flag}: bad weight '{weight}' for layer {name}") from None
        layers.append((canonical_layer(name.strip()), value))
    return layers


def exponent_weights(layers, exponent):
    """lambda_i proportional to exponent**i over the layers in order, summing to 1 (as neural-style)."""
    raw = [exponent**i for i in range(len(layers))]
    return [(name, w / sum(raw)) for (name, _), w in zip(layers, raw)]


def _format_layers(layers):
    return ",".join(f"{name}:{weight:g}" for name, weight in layers)


def build_parser(argument_default=None):
    p = OneLineParser(prog=PROG, description="Gatys et al. (2015) neural style transfer on VGG-19 (.mat).",
                argument_default=argument_default)
    d = (lambda value: value) if argument_default is None else (lambda value: argument_default)
    p.add_argument("--content", help="content image (default: matplotlib's bundled Grace Hopper photo)")
    p.add_argument("--style", nargs="+", metavar="PATH",
                   help="style image(s) (default: a procedurally painted swirl)")
    p.add_argument("--style-blend", nargs="+", type=float, metavar="W",
                   help="blend weights of several style images, scaled to sum 1 (default: equal)")
    p.add_argument("--style-scale", type=float, default=d(1.0),
                   help="style image size relative to G before its Gram targets (default: 1)")
    p.add_argument("--preserve-colors", choices=colors.MODES,
                   help="keep C's colours: luminance-only transfer, or S's colours matched to C's")
    p.add_argument("--output", default=d("output"), help="directory for images and history.csv (default: output)")
    p.add_argument("--iterations", type=int, default=d(200), help="Adam steps, or L-BFGS iterations (default: 200)")
    p.add_argument("--learning-rate", type=float, default=d(LEARNING_RATE),
                   help="Adam learning rate (default: 2.0)")
    p.add_argument("--alpha", type=float, default=d(ALPHA), help="content weight alpha (default: 10)")
    p.add_argument("--beta", type=float, default=d(BETA), help="style weight beta (default: 40)")
    p.add_argument("--tv-weight", type=float, default=d(0.0),
                   help="weight of the total-variation cost J_tv in J (default: 0, off)")
    p.add_argument("--init", metavar="START", help="G's start: content, noise, style or an image PATH "
                   "(default: noise * r + C * (1 - r), the seed's)")
    p.add_argument("--noise-ratio", type=float, help="r of the default init (default: 0.6)")
    content = p.add_mutually_exclusive_group()
    content.add_argument("--content-layer", help="layer of eq. 1 (default: conv4_2)")
    content.add_argument("--content-layers", help="NAME:WEIGHT,... blend of eq. 1 over several layers")
    p.add_argument("--style-layers", help="NAME:WEIGHT,... for eq. 2 (default: conv1_1..conv5_1 at 0.2)")
    p.add_argument("--style-layer-weight-exp", type=float, metavar="E",
                   help="style layer weights proportional to E**i, summing to 1 (default: off)")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", help="HEIGHTxWIDTH of G (default: 300x400)")
    size.add_argument("--max-side", type=int, help="longer side of G in px, aspect kept")
    p.add_argument("--pooling", choices=("avg", "max"), default=d("avg"), help="pooling in VGG (default: avg)")
    p.add_argument("--optimizer", choices=("adam", "lbfgs"), default=d("adam"),
                   help="adam (the course's, default) or lbfgs (the paper's; scipy L-BFGS-B, "
                   "one iteration per --iterations)")
    p.add_argument("--coarse-to-fine", type=int, default=d(0), metavar="N",
                   help="first run N iterations at half size, then upsample G as the start (default: 0, off)")
    p.add_argument("--seed", type=int, help="seed of the noise: same seed, same costs")
    p.add_argument("--save-every", type=int, default=d(20), help="save G and a checkpoint every N steps "
                   "(default: 20)")
    p.add_argument("--resume", metavar="DIR", help="continue the run in DIR from its last checkpoint")
    p.add_argument("--logdir", help="write TensorBoard curves and images there")
    p.add_argument("--vgg", help="VGG-19 .mat (default: $NST_VGG19, else "
                   "pretrained-model/imagenet-vgg-verydeep-19.mat)")
    p.add_argument("--quiet", action="store_true", default=d(False), help="no progress bar")
    return p


def check_numbers(args):
    for flag, value in (("--iterations", args.iterations), ("--learning-rate", args.learning_rate),
                        ("--save-every", args.save_every), ("--style-scale", args.style_scale)):
        if not value > 0:
            raise NSTError(f"{flag} must be positive, got {value}")
    if args.noise_ratio is not None and not 0.0 <= args.noise_ratio <= 1.0:
        raise NSTError(f"--noise-ratio must be between 0 and 1, got {args.noise_ratio}")
    if args.noise_ratio is not None and args.init is not None:
        raise NSTError("--noise-ratio applies to the default init only, not to --init " + args.init)
    for flag, value in (("--alpha", args.alpha), ("--beta", args.beta), ("--tv-weight", args.tv_weight)):
        if not value >= 0:
            raise NSTError(f"{flag} must be zero or positive, got {value}")
    if args.style_layer_weight_exp is not None and not args.style_layer_weight_exp > 0:
        raise NSTError(f"--style-layer-weight-exp must be positive, got {args.style_layer_weight_exp}")
    if not args.coarse_to_fine >= 0:
        raise NSTError(f"--coarse-to-fine must be zero or positive, got {args.coarse_to_fine}")
    if args.max_side is not None and args.max_side < images.MIN_SIDE:
        raise NSTError(f"--max-side must be at least {images.MIN_SIDE}, got {args.max_side}")
    normalize_blend(args.style_blend, len(args.style) if args.style else 1)


def style_layers(args):
    """The style layers and their lambda: --style-layers, reweighted by --style-layer-weight-exp if given."""
    layers = parse_layers(args.style_layers or _format_layers(STYLE_LAYERS), "--style-layers")
    if args.style_layer_weight_exp is None:
        return layers
    if args.style_layers and ":" in args.style_layers:
        raise NSTError("--style-layer-weight-exp sets the style layer weights: "
                       "give --style-layers as bare names, e.g. conv1_1,conv2_1")
    return exponent_weights(layers, args.style_layer_weight_exp)


def cost_settings(args):
    content_layers = parse_layers(args.content_layers, "--content-layers") if args.content_layers else None
    return CostSettings(canonical_layer(args.content_layer or CONTENT_LAYER), style_layers(args),
                        args.alpha, args.beta, args.learning_rate, args.pooling, content_layers, args.tv_weight)


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
    """The content and styles as loaded (styles None: painted later at their size), with names."""
    content, content_name = (images.load_image(args.content), args.content) if args.content \
        else images.default_content_image()
    styles = [images.load_image(path) for path in args.style] if args.style else None
    return content, styles, content_name, args.style


def check_memory(weights, size, styles_size, up_to):
    memory.check_fits(weights, size, up_to)
    try:
        memory.check_fits(weights, styles_size, up_to)
    except NSTError as exc:
        raise NSTError(f"--style-scale: {exc}") from None


def prepare(args):
    """Every check before the graph: numbers, layers, images, weights, memory, output directory.

    Returns the cost settings, the weights and the :class:`nst.inputs.Inputs`.
    """
    check_numbers(args)
    colors.check_mode(args.preserve_colors)
    settings = cost_settings(args)
    content, styles, content_name, style_names = read_images(args)
    init_picture = read_init(args.init)
    size = target_size(args, content.shape)
    scaled = style_size(size, args.style_scale)
    weights = read_vgg_weights(resolve_weights_path(args.vgg))
    layers = [n for n, _ in settings.content_blend() + settings.style_layers]
    check_memory(weights, size, scaled, deepest(layers))
    for folder in (args.output, args.logdir):
        if folder:
            prepare_output_dir(folder)
    if styles is None:
        painted, name = images.default_style_image(scaled)
        styles, style_names = [painted], [name]
    loaded = content, styles, content_name, style_names
    return settings, weights, network_inputs(loaded, size, scaled, args.preserve_colors, args.init, init_picture)


def style_image_names(count):
    """style.png, then style_2.png, ... for several style images."""
    return [INPUT_IMAGES[1]] + [f"style_{k}.png" for k in range(2, count + 1)]


def run(args, checkpoint=None):
    settings, weights, inputs = prepare(args)
    mean = weights.mean_pixel
    C = images.reshape_and_normalize_image(inputs.content, mean)
    S = [images.reshape_and_normalize_image(s, mean) for s in inputs.styles]
    info = run_info(args, fingerprint([C, *S, weights.convs["conv1_1"][0], mean]))
    if checkpoint is not None:
        check_fingerprint(checkpoint, info["fingerprint"], args.output)
    say = (lambda *a: None) if args.quiet else (lambda *a: print(*a, file=sys.stderr))
    say(f"content: {inputs.content_name}\nstyle:   {', '.join(inputs.style_names)}\nweights: {weights.path}\n"
        f"size:    {C.shape[1]}x{C.shape[2]}, {args.iterations} {STEP_NAMES[args.optimizer]} on {device_name()}")
    G = initial_image(args.init, C, inputs.init, mean, args.seed, args.noise_ratio)
    if args.coarse_to_fine and checkpoint is None:
        say(f"coarse:  {args.coarse_to_fine} {STEP_NAMES[args.optimizer]} at half size first")
        G = coarse_start(weights, inputs.content, inputs.styles, G, settings, args.coarse_to_fine,
                         coarse_runner(args.optimizer), args.style_blend)
    for name, image in zip([INPUT_IMAGES[0]] + style_image_names(len(S)), [C, *S]):
        images.save_image(os.path.join(args.output, name), image, mean)
    postprocess = colors.output_transform(inputs.original, args.preserve_colors)
    sess = new_session()
    try:
        graph = build_graph(sess, weights, C, S, settings, style_blend=args.style_blend)
        result = run_style_transfer(graph, G, args.iterations, args.save_every, args.output, mean,
                                    progress=not args.quiet, postprocess=postprocess, logdir=args.logdir,
                                    resume=checkpoint, info=info, optimizer=args.optimizer)
    finally:
        sess.close()
    distance = colors.chroma_distance(picture(result.image, mean, postprocess), inputs.original)
    return report_result(args, result, distance)


STEP_NAMES = {"adam": "Adam steps", "lbfgs": "L-BFGS iterations"}


def coarse_runner(optimizer):
    """How the half-size stage of --coarse-to-fine optimises: the run's optimizer, quietly."""
    def run(graph, G, iterations):
        result = run_style_transfer(graph, G, iterations, save_every=0, progress=False, optimizer=optimizer)
        if result.interrupted:
            raise KeyboardInterrupt  # Ctrl-C in the half-size stage: nothing of the run to keep yet
        return result.image

    return run


def report_result(args, result, distance):
    """The closing lines: final costs and files, or where an interrupted run left its state."""
    steps = result.history[-1][0]
    if result.interrupted:
        last = result.saved[-1] if result.saved else "nothing"
        how = f"python -m nst.train --resume {args.output}" if args.optimizer == "adam" else \
            f"a new run with --init {last} (L-BFGS runs do not resume)"
        print(f"interrupted after {steps} steps: saved {last}, history.csv and checkpoint.npz in "
              f"{args.output}; continue with: {how}", file=sys.stderr)
        return EXIT_INTERRUPTED
    J, J_content, J_style = result.history[-1][1:4]
    print(f"final J={J:.6g} (J_content={J_content:.6g}, J_style={J_style:.6g}) after {steps} steps")
    best_J, _, best_step = result.best
    print(f"final image: {result.saved[-1]}\n"
          f"best image: {os.path.join(args.output, 'best.png')} (J={best_J:.6g} after {best_step} steps)\n"
          f"colour distance to the content: {distance:.2f} (mean YIQ chroma distance, 0-255)\n"
          f"also wrote {len(result.saved) - 1} intermediate images, the inputs as the network saw them, "
          f"history.csv and checkpoint.npz in {args.output}")
    return 0


def device_name():
    from nst.tf1 import GPUS

    return f"GPU ({GPUS[0].name})" if GPUS else f"CPU ({os.cpu_count()} cores)"


def parse(argv):
    """The options to run with, and the checkpoint to continue from (``--resume``) or None."""
    args = build_parser().parse_args(argv)
    if not args.resume:
        return args, None
    given = vars(build_parser(argparse.SUPPRESS).parse_args(argv))
    return resume_args(given, vars(build_parser().parse_args([])))


def main(argv=None):
    try:
        return run(*parse(argv))
    except NSTError as exc:
        return report(PROG, exc)
    except KeyboardInterrupt:  # before the first step or during the final save: nothing consistent to keep
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
