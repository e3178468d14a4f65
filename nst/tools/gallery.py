"""The assignment's "examples of different combinations": ``nst gallery``.

Each row of the gallery changes one setting of ``nst train`` around the
course's defaults and shows what that does to G. The gallery is data
(:data:`ROWS`): a picture is a list of ``nst train`` options and a note, made
by the command line's own parse (:func:`nst.commands.train.parse`) and run into a work folder,
and each row becomes one PNG, ``gallery_<row>.png``, captioned with the
options. To show a new option, append a :class:`Row`. A run whose options
recur in other rows (the defaults, mostly) is made once.

The row ``paintings`` is of another kind: the default content photo styled by
each painting :data:`PAINTINGS` knows, found by file name in ``--art DIR``
(default ``$NST_ART``), once per preset of ``--presets``, each preset at its
own size and length (so the picture shows what a user gets) unless
``--max-side``/``--size``/``--iterations`` are given. It writes two PNGs from
the same runs: ``gallery_paintings.png``, the inputs along the top (the photo,
then each painting above its column) and one row per preset, and
``paintings.png``, the README's first picture: the photo, then each painting's
result with the last preset given. Only this row needs the paintings.
"""
import argparse
import contextlib
import csv
import hashlib
import os
import re
import sys
import tempfile
import time
from typing import NamedTuple

import numpy as np
from matplotlib.figure import Figure

from nst.algorithm.images import (
    default_content_image,
    default_style_image,
    load_image,
    reshape_and_normalize_image,
    save_image,
    write_atomic,
)
from nst.commands import train
from nst.errors import NSTError, OneLineParser, report
from nst.run import presets
from nst.run.figure import png_bytes
from nst.run.loop import run_style_transfer
from nst.run.outputs import FINAL_IMAGE, HISTORY_FILE, prepare_output_dir

PROG = "nst gallery"
ITERATIONS = 150
MAX_SIDE = 192
SEED = 0


class Picture(NamedTuple):
    options: tuple  # nst train options of this picture; () is the row's base run
    note: str  # what to look for, shown under the options


class Row(NamedTuple):
    name: str  # --only NAME, and the file gallery_NAME.png
    title: str
    pictures: tuple
    options: tuple = ()  # nst train options shared by the row's pictures, shown in its subtitle


# With the course's weights (alpha/beta = 1/4) beta * J_style outweighs alpha * J_content
# a thousandfold, so C survives only through G's start. The rows about the content cost
# therefore start from pure noise and raise alpha/beta until J_content counts.
FROM_NOISE = ("--noise-ratio", "1")

ROWS = (
    Row("content_layer", "Content layer l of eq. (1): shallow, middle, deep", (
        Picture(("--content-layer", "conv1_2"), "shallow: G copies C's pixels"),
        Picture(("--content-layer", "conv3_2"), "lower middle"),
        Picture((), "conv4_2 (default): C's layout, S's texture"),
        Picture(("--content-layer", "conv5_2"), "deep: hardly anything of C"),
    ), FROM_NOISE + ("--beta", "4e-5")),
    Row("alpha_beta", "Content weight alpha over style weight beta (alpha = 10)", (
        Picture((), "alpha/beta = 1/4 (default): style only"),
        Picture(("--beta", "4e-3"), "alpha/beta = 2.5e3"),
        Picture(("--beta", "4e-4"), "alpha/beta = 2.5e4: C appears"),
        Picture(("--beta", "4e-5"), "alpha/beta = 2.5e5"),
        Picture(("--beta", "4e-6"), "alpha/beta = 2.5e6: mostly C"),
    ), FROM_NOISE),
    Row("noise_ratio", "Initial G = noise * r + C * (1 - r), with the course's weights", (
        Picture(("--noise-ratio", "0"), "r = 0: start from C"),
        Picture((), "r = 0.6 (default)"),
        Picture(FROM_NOISE, "r = 1: start from noise, no C"),
    )),
    Row("pooling", "Pooling in VGG-19: average (paper, course) or max (as trained)", (
        Picture((), "average pooling (default)"),
        Picture(("--pooling", "max"), "max pooling: slower, duller after the same steps"),
    )),
    Row("style_layers", "Style layers of J_style: one layer at a time (lambda = 1) or all five", (
        Picture(("--style-layers", "conv1_1"), "conv1_1 only: S's colours"),
        Picture(("--style-layers", "conv3_1"), "conv3_1 only: S's strokes"),
        Picture(("--style-layers", "conv5_1"), "conv5_1 only: coarse shapes, few of S's colours"),
        Picture((), "all five at 0.2 (default)"),
    )),
    # Beyond the paper: the options users of the best-known implementations rely on.
    Row("style_scale", "Style scale: S resized relative to G before its Gram targets", (
        Picture(("--style-scale", "0.5"), "0.5: finer strokes"),
        Picture((), "1 (default)"),
        Picture(("--style-scale", "2"), "2: larger strokes"),
    )),
    Row("style_blend", "Several style images, Gram targets blended", (
        Picture((), "the swirl alone (default)"),
        Picture(("--style", "{swirl}", "{stripes}", "--style-blend", "0.5", "0.5"), "half swirl, half stripes"),
        Picture(("--style", "{stripes}"), "the stripes alone"),
    )),
    Row("colors", "Keeping the content's colours", (
        Picture((), "S's colours (default)"),
        Picture(("--preserve-colors", "luminance"), "luminance only: C's colours"),
        Picture(("--preserve-colors", "histogram"), "S recoloured to C's palette"),
    )),
    Row("total_variation", "Total-variation weight: smoothness of G", (
        Picture((), "0 (default): no smoothing"),
        Picture(("--tv-weight", "1e6"), "1e6: fewer speckles"),
        Picture(("--tv-weight", "1e7"), "1e7: smooth, flatter"),
    )),
    Row("presets", "Presets: whole sets of settings", (
        Picture((), "course (default): Adam, the course's weights"),
        Picture(("--preset", "jcjohnson", "--iterations", "1000"),
                "jcjohnson/neural-style's objective and optimizer: C emerges late"),
    )),
    Row("examples", "The README's three commands: a content photo and a painting", (
        Picture(("--style", "{stripes}"), "--output me_starry.jpg"),
        Picture(("--style", "{stripes}", "--preserve-colors", "luminance"), "the content's colours kept"),
        Picture(("--style", "{stripes}", "--preset", "jcjohnson", "--iterations", "1000"),
                "jcjohnson preset: a faint face at this size"),
    )),
    Row("precision", "The network's number format: float32 or bfloat16 (the costs in float32 both times)", (
        Picture((), "fp32 (default)"),
        Picture(("--precision", "bf16"), "bf16: 1.7x faster per step on this CPU"),
    )),
    Row("layer_weights", "Content layer blend and style layer weights", (
        Picture((), "conv4_2; style layers at 0.2 (default)"),
        Picture(("--content-layers", "conv4_2:0.5,conv5_2:0.5"), "content at conv4_2 and conv5_2"),
        Picture(("--style-layer-weight-exp", "0.5"), "lambda ~ 0.5^i: shallow layers weigh more"),
        Picture(("--style-layer-weight-exp", "2"), "lambda ~ 2^i: deep layers weigh more"),
    )),
)
# The controls of Gatys et al. (2017): masks say where each style goes, per-style layers at which scale.
CONTROL_ROWS = (
    Row("masks", "Spatial control: two styles split by a mask over G (guided Gram matrices)", (
        Picture(("--style", "{swirl}", "{stripes}"), "no masks: the two blended everywhere"),
        Picture(("--style", "{swirl}", "{stripes}", "--style-masks", "{left_hard}", "{right_hard}"),
                "a hard edge: swirl left, stripes right"),
        Picture(("--style", "{swirl}", "{stripes}", "--style-masks", "{left_soft}", "{right_soft}"),
                "a soft edge: the styles fade into each other"),
    ), ("--init", "content")),
    Row("source_mask", "A source mask: only the sky of The Starry Night as the style", (
        Picture(("--style", "{art:starry_night.jpg}"), "the whole painting"),
        Picture(("--style", "{art:starry_night.jpg}", "--style-source-masks", "{starry_sky}"),
                "its sky only (no cypress, no village)"),
    ), ("--init", "content")),
    Row("scale_mix", "Scale control: the fine scale of one painting, the coarse scale of another", (
        Picture(("--style", "{art:the_scream.jpg}"), "The Scream alone"),
        Picture(("--style", "{art:the_scream.jpg}", "{art:starry_night.jpg}",
                 "--style-layers", "conv1_1,conv2_1,conv3_1", "conv4_1,conv5_1"),
                "The Scream at conv1_1..conv3_1, The Starry Night at conv4_1, conv5_1"),
        Picture(("--style", "{art:starry_night.jpg}"), "The Starry Night alone"),
    ), ("--init", "content")),
)
ROWS = ROWS + CONTROL_ROWS
ROW_NAMES = tuple(row.name for row in ROWS)

PAINTINGS_ROW = "paintings"
ART_ENV = "NST_ART"
PAINTINGS = {  # file name in --art -> (painting, painter, year): the captions must name both
    "starry_night.jpg": ("The Starry Night", "Vincent van Gogh", 1889),
    "the_scream.jpg": ("The Scream", "Edvard Munch", 1893),
    "shipwreck.jpg": ("The Shipwreck", "J. M. W. Turner", 1805),
}
PAINTING_PRESETS = "course,jcjohnson-fast"
CONTENT_CAPTION = "Grace Hopper\n(nst train's default content)"


class Given(argparse.Action):
    """Store the value and note it was given: the paintings row keeps each preset's own otherwise."""

    def __call__(self, parser, namespace, values, option_string=None):
        setattr(namespace, self.dest, values)
        namespace.given = (*namespace.given, self.dest)


def build_parser(prog=PROG):
    p = OneLineParser(prog=prog, description="Remake the gallery of nst train settings, one PNG per row.")
    p.add_argument("--out", default="gallery", help="folder for gallery_<row>.png and paintings.png (default: "
                   "gallery, in the current folder; the README's pictures are made with --out images)")
    p.add_argument("--only", action="append", choices=ROW_NAMES + (PAINTINGS_ROW,), metavar="ROW",
                   help=f"make only this row (repeatable): {', '.join(ROW_NAMES + (PAINTINGS_ROW,))}")
    p.add_argument("--art", metavar="DIR", help=f"folder of the paintings of the {PAINTINGS_ROW} row: "
                   f"{', '.join(PAINTINGS)} (default: ${ART_ENV})")
    p.add_argument("--presets", default=PAINTING_PRESETS, metavar="A,B,...",
                   help=f"presets of the {PAINTINGS_ROW} row, one row of the figure each (default: {PAINTING_PRESETS})")
    size = p.add_mutually_exclusive_group()
    size.add_argument("--size", help="HEIGHTxWIDTH of every G")
    size.add_argument("--max-side", type=int, default=MAX_SIDE, action=Given,
                      help=f"longer side of G (default: {MAX_SIDE}; the {PAINTINGS_ROW} row: each preset's own)")
    p.add_argument("--iterations", type=int, default=ITERATIONS, action=Given,
                   help=f"steps of each picture whose own options set none (default: {ITERATIONS}; "
                   f"the {PAINTINGS_ROW} row: each preset's own)")
    p.set_defaults(given=())
    p.add_argument("--seed", type=int, default=SEED, help=f"seed of the noise (default: {SEED})")
    p.add_argument("--vgg", help="VGG-19 .mat (default: $NST_VGG19, else pretrained-model/...)")
    p.add_argument("--work", help="keep the runs here and reuse those with the same options "
                   "(default: a temporary folder)")
    return p


def common_options(args):
    """The nst train options every picture shares; a picture's own options come after and win."""
    size = ["--size", args.size] if args.size else ["--max-side", str(args.max_side)]
    return [*size, "--iterations", str(args.iterations), "--save-every", str(args.iterations), *run_options(args)]


def run_options(args):
    """The nst train options of every run, the paintings' too: the seed, no progress bar, the weights."""
    vgg = ["--vgg", args.vgg] if args.vgg else []
    return ["--seed", str(args.seed), "--quiet", *vgg]


def run_lengths(configs):
    """(what every picture ran, or "" if they differ; what each ran, "" where the row's line says it), each
    from the picture's own settings: the row's subtitle or each caption names the optimizer and its count."""
    lengths = [config.length() for config in configs]
    if len(set(lengths)) == 1:
        return lengths[0], [""] * len(lengths)
    return "", lengths


def subtitle(row, args, length=""):
    """The line under a row's title: the settings every picture shares, ``length`` among them if given."""
    size = args.size or f"longer side {args.max_side} px"
    shared = f"all with {' '.join(row.options)}; " if row.options else ""
    return f"{shared}{size}, {length + ', ' if length else ''}seed {args.seed}, other options at defaults"


def wrap(text, width=32):
    """Break a caption after spaces or commas, so long option values wrap too."""
    lines = [""]
    for piece in re.split(r"(?<=[ ,])", text):
        if lines[-1] and len(lines[-1]) + len(piece) > width:
            lines.append("")
        lines[-1] += piece
    return "\n".join(line.rstrip() for line in lines)


def options_text(row, picture):
    """A picture's own options; the base run of a row says what it stands for."""
    return " ".join(picture.options) or ("(no other options)" if row.options else "(defaults)")


def caption(row, picture, length=""):
    """A picture's options, its note, and what it ran when the row's subtitle does not say it."""
    return "\n".join(wrap(text) for text in (options_text(row, picture), picture.note, length) if text)


def stripes_style_image(size=(512, 512)):
    """A second procedural style, unlike the swirl: warm diagonal stripes with dark dots."""
    y, x = np.mgrid[0:size[0], 0:size[1]] / max(size) * 2 * np.pi
    stripes = 0.5 + 0.5 * np.sin(9 * (x + y) + 2 * np.sin(3 * x))
    dots = (np.sin(24 * x) * np.sin(24 * y) > 0.85)[..., None]
    warm = np.stack([200 + 55 * stripes, 60 + 120 * stripes, 20 + 30 * stripes], axis=2)
    return np.where(dots, 30.0, warm).astype(np.float32)


def edge_mask(size, left, soft):
    """A mask over G: 1 on the left (or right) half, a hard edge or a linear ramp over the middle fifth."""
    x = (np.arange(size[1]) + 0.5) / size[1]
    ramp = np.clip((x - 0.4) / 0.2, 0, 1) if soft else (x >= 0.5).astype(float)
    return np.tile((1 - ramp) if left else ramp, (size[0], 1))


def starry_sky_mask(size):
    """The sky of The Starry Night: above the village (the top 55 %) and right of the cypress (the left
    30 %), with edges softened over 4 % of the picture."""
    y, x = (np.arange(size[0]) + 0.5) / size[0], (np.arange(size[1]) + 0.5) / size[1]
    return np.outer(np.clip((0.55 - y) / 0.04, 0, 1), np.clip((x - 0.30) / 0.04, 0, 1))


CONTENT_SIZE = default_content_image()[0].shape[:2]  # G's masks have the content's aspect
STYLE_FILES = {  # placeholders in a picture's options -> procedural images written to the work folder
    "{swirl}": lambda: default_style_image((512, 512))[0],
    "{stripes}": stripes_style_image,
}
MASK_FILES = {
    "{left_hard}": lambda: edge_mask(CONTENT_SIZE, True, False),
    "{right_hard}": lambda: edge_mask(CONTENT_SIZE, False, False),
    "{left_soft}": lambda: edge_mask(CONTENT_SIZE, True, True),
    "{right_soft}": lambda: edge_mask(CONTENT_SIZE, False, True),
    "{starry_sky}": lambda: starry_sky_mask((640, 1024)),  # the painting's aspect (its file in the art folder)
}
ART = re.compile(r"\{art:(.+)\}")


def style_file_options(argv, work, art=None):
    """Replace ``{name}`` placeholders with style images and masks made (once) in ``work``, and
    ``{art:FILE}`` with the painting FILE of the folder ``art``."""
    out = []
    for option in argv:
        if ART.fullmatch(option):
            if art is None:
                raise NSTError(f"the painting {ART.fullmatch(option).group(1)} is in the art folder: give --art DIR "
                               f"or set {ART_ENV}")
            option = os.path.join(art, ART.fullmatch(option).group(1))
        elif option in STYLE_FILES or option in MASK_FILES:
            path = os.path.join(work, option.strip("{}") + ".png")
            if not os.path.exists(path):
                if option in STYLE_FILES:
                    save_image(path, reshape_and_normalize_image(STYLE_FILES[option]()))
                else:
                    mask = np.rint(MASK_FILES[option]() * 255).astype(np.uint8)
                    write_atomic(path, png_of(np.repeat(mask[:, :, None], 3, axis=2)))
            option = path
        out.append(option)
    return out


def png_of(pixels):
    """PNG bytes of uint8 (H, W, 3) pixels."""
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, format="PNG")
    return buffer.getvalue()


def make_picture(argv, work, art=None):
    """Run nst train with ``argv`` into a folder named after it, once; return (final image, the history's
    last row as a dict of its columns, settings). ``art``: the paintings' folder, for ``{art:FILE}``."""
    folder = os.path.join(work, hashlib.sha1("\0".join(argv).encode()).hexdigest()[:12])
    config = train.parse([*style_file_options(argv, work, art), "--output", folder, "--overwrite"]).config
    final = os.path.join(folder, FINAL_IMAGE)
    if not os.path.exists(final):  # a run cut short is redone
        run_style_transfer(config)
    return load_image(final), last_history_row(folder), config


def last_history_row(folder):
    """The last row of a run's history.csv, by column name ("J", "seconds", ...)."""
    with open(os.path.join(folder, HISTORY_FILE), newline="") as f:
        return list(csv.DictReader(f))[-1]


def row_figure_bytes(title, subtitle_text, pictures, captions, dpi=100, gap=0.25):
    """One row: the pictures side by side at their own resolution, each captioned below."""
    n, (height, width) = len(pictures), pictures[0].shape[:2]
    fig = Figure(figsize=(n * width / dpi * (1 + gap) / 0.96, height / dpi / 0.8), dpi=dpi)
    fig.subplots_adjust(left=0.02, right=0.98, bottom=0.1, top=0.9, wspace=gap)  # tiles 1:1 in pixels
    for ax, picture, text in zip(fig.subplots(1, n, squeeze=False)[0], pictures, captions):
        ax.imshow(picture.astype("uint8"))
        ax.axis("off")
        ax.text(0.5, -0.03, text, transform=ax.transAxes, ha="center", va="top", fontsize=8)
    fig.suptitle(f"{title}\n{subtitle_text}", y=0.93, va="bottom", fontsize=10)
    return png_bytes(fig)


def needs_art(row):
    """Whether a row's pictures use paintings of the art folder."""
    return any(ART.fullmatch(option) for picture in row.pictures for option in picture.options)


def make_row(row, args, work, art=None):
    """Run each picture of ``row`` (reusing runs already made) and write gallery_<name>.png."""
    pictures, configs = [], []
    for picture in row.pictures:
        start = time.perf_counter()
        image, last, config = make_picture(common_options(args) + list(row.options) + list(picture.options), work,
                                           art)
        print(f"{row.name}: {options_text(row, picture)}: J={last['J']} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)
        pictures.append(image)
        configs.append(config)
    shared, lengths = run_lengths(configs)
    captions = [caption(row, picture, length) for picture, length in zip(row.pictures, lengths)]
    path = os.path.join(args.out, f"gallery_{row.name}.png")
    write_atomic(path, row_figure_bytes(row.title, subtitle(row, args, shared), pictures, captions))
    print(f"wrote {path}", flush=True)
    return path


GAP, CAPTION, HEADER = 16, 56, 48  # px of a grid figure: between tiles, under each, above them for the title


def painting_caption(name):
    """What a panel of the painting ``name`` (a file name of PAINTINGS) says: the painting, painter, year."""
    title, painter, year = PAINTINGS[name]
    return f"{title}\n{painter}, {year}"


def result_caption(name, preset, last):
    """A result's caption: the painting, the preset, and the run's wall time and final J from its history."""
    return f"{painting_caption(name)}\n{preset}: {float(last['seconds']):.0f} s, J = {float(last['J']):.3g}"


def art_folder(args):
    """The paintings' folder: --art, else $NST_ART; every painting of PAINTINGS must be in it."""
    folder = args.art or os.environ.get(ART_ENV)
    if not folder:
        rows = [name for name in (PAINTINGS_ROW, *(row.name for row in ROWS if needs_art(row)))
                if not args.only or name in args.only]
        what = f"the {rows[0]} row needs" if len(rows) == 1 else f"the rows {', '.join(rows)} need"
        raise NSTError(f"{what} the paintings: give --art DIR or set {ART_ENV}")
    where = "--art" if args.art else ART_ENV
    if not os.path.isdir(folder):
        raise NSTError(f"{folder} ({where}): no such folder of paintings")
    missing = [f"{name} ({PAINTINGS[name][0]})" for name in PAINTINGS if not os.path.isfile(os.path.join(folder, name))]
    if missing:
        raise NSTError(f"{folder} ({where}): missing the painting {', '.join(missing)}")
    return folder


def painting_presets(args):
    """The presets of --presets, checked against nst train's when the row runs (one may be added later)."""
    chosen = list(dict.fromkeys(name.strip() for name in args.presets.split(",") if name.strip()))
    unknown = [name for name in chosen if name not in presets.names()]
    if unknown:
        raise NSTError(f"--presets: unknown preset {', '.join(map(repr, unknown))}: "
                       f"use some of {', '.join(presets.names())}")
    if not chosen:
        raise NSTError(f"--presets is empty: name some of {', '.join(presets.names())}")
    return chosen


def painting_overrides(args):
    """The size and length given to the gallery: in the paintings row they replace each preset's own."""
    given = args.given
    size = ["--size", args.size] if args.size else ["--max-side", str(args.max_side)] if "max_side" in given else []
    return size + (["--iterations", str(args.iterations)] if "iterations" in given else [])


def painting_options(args, preset, path):
    """nst train options of one painting's run: the preset's own size and length unless overridden."""
    save = ["--save-every", str(args.iterations)] if "iterations" in args.given else []
    return ["--preset", preset, "--style", path, *painting_overrides(args), *save, *run_options(args)]


def make_painting(args, work, folder, preset, name):
    """One painting's run with ``preset`` (made once): (final image, its history's last row, settings)."""
    start = time.perf_counter()
    image, last, config = make_picture(painting_options(args, preset, os.path.join(folder, name)), work)
    print(f"{PAINTINGS_ROW}: {preset} {name}: J={last['J']} ({time.perf_counter() - start:.0f} s)", flush=True)
    return image, last, config


def preset_label(preset, runs):
    """The text at the start of a preset's row: the preset, what it ran, G's size."""
    image, _, config = runs[0]
    return f"--preset {preset}\n{config.length()}\n{image.shape[1]}x{image.shape[0]} px"


def paintings_cells(folder, chosen, runs):
    """The grid of gallery_paintings.png: the photo and the paintings on top, then a row per preset."""
    inputs = [(default_content_image()[0], CONTENT_CAPTION)]
    inputs += [(load_image(os.path.join(folder, name)), painting_caption(name)) for name in PAINTINGS]
    return [inputs] + [[(None, preset_label(preset, row))] + [
        (image, result_caption(name, preset, last)) for name, (image, last, _) in zip(PAINTINGS, row)]
        for preset, row in zip(chosen, runs)]


def hero_cells(runs):
    """The row of paintings.png: the photo, then each painting's result with the last preset."""
    return [[(default_content_image()[0], CONTENT_CAPTION)] + [
        (image, painting_caption(name)) for name, (image, _, _) in zip(PAINTINGS, runs[-1])]]


def grid_figure_bytes(title, cells, tile, dpi=100):
    """Rows of captioned tiles of ``tile`` = (height, width) px each, exactly (a picture of None: its text
    alone), so the figure's size in pixels follows from the grid."""
    (height, width), rows, columns = tile, len(cells), max(len(row) for row in cells)
    size = (GAP + columns * (width + GAP), HEADER + rows * (height + CAPTION))
    fig = Figure(figsize=(size[0] / dpi, size[1] / dpi), dpi=dpi)
    for r, row in enumerate(cells):
        for c, (picture, text) in enumerate(row):
            left, bottom = GAP + c * (width + GAP), size[1] - HEADER - r * (height + CAPTION) - height
            draw_tile(fig.add_axes((left / size[0], bottom / size[1], width / size[0], height / size[1])),
                      picture, text)
    fig.suptitle(title, y=1 - 6 / size[1], va="top", fontsize=10)
    return png_bytes(fig, tight=False)


def draw_tile(ax, picture, text):
    """A picture with its caption 4 px below it, or the text alone in its place."""
    ax.axis("off")
    if picture is None:
        ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=9)
        return
    ax.imshow(picture.astype("uint8"))
    ax.annotate(text, (0.5, 0), xycoords="axes fraction", xytext=(0, -4), textcoords="offset pixels",
                ha="center", va="top", fontsize=8)


def make_paintings(args, work, folder, chosen):
    """Run each painting with each preset (runs made once) and write gallery_paintings.png and paintings.png."""
    runs = [[make_painting(args, work, folder, preset, name) for name in PAINTINGS] for preset in chosen]
    tile = tuple(np.max([image.shape[:2] for row in runs for image, _, _ in row], axis=0))
    overrides = " ".join(painting_overrides(args)) or "each preset's own size and length"
    where = f"nst train --preset PRESET --style PAINTING, {overrides}, seed {args.seed}"
    figures = {f"gallery_{PAINTINGS_ROW}.png": (f"Paintings: one row per preset\n{where}",
                                              paintings_cells(folder, chosen, runs)),
               "paintings.png": (f"nst train --preset {chosen[-1]} --style PAINTING", hero_cells(runs))}
    paths = []
    for name, (title, cells) in figures.items():
        paths.append(os.path.join(args.out, name))
        write_atomic(paths[-1], grid_figure_bytes(title, cells, tile))
        print(f"wrote {paths[-1]}", flush=True)
    return paths


def run(args):
    prepare_output_dir(args.out)
    rows = [row for row in ROWS if not args.only or row.name in args.only]
    paintings = not args.only or PAINTINGS_ROW in args.only
    inputs = (art_folder(args), painting_presets(args)) if paintings else None  # checked before any run
    art = art_folder(args) if paintings or any(needs_art(row) for row in rows) else None
    start = time.perf_counter()
    with contextlib.ExitStack() as stack:
        work = args.work or stack.enter_context(tempfile.TemporaryDirectory(prefix="nst-gallery-"))
        os.makedirs(work, exist_ok=True)
        paths = [make_row(row, args, work, art) for row in rows]
        paths += make_paintings(args, work, *inputs) if paintings else []
    print(f"{len(rows) + paintings} rows in {time.perf_counter() - start:.0f} s")
    return paths


def main(argv=None, prog=PROG):
    try:
        run(build_parser(prog).parse_args(argv))
    except NSTError as exc:
        return report(prog, exc, train.flag)
    return 0


if __name__ == "__main__":
    sys.exit(main())
