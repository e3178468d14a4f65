"""The "C + S = G" picture of a run: ``python -m nst.figure RUN_DIR [OUT.png]``.

Every run of ``nst train`` keeps the content and style exactly as the network
saw them (``content.png``, ``style.png``, after crop and resize) beside its
``final.png``; this lays the three out side by side with the operators between.
"""
import io
import os

from matplotlib.figure import Figure

from nst.algorithm.images import load_image, write_atomic
from nst.errors import NSTError, OneLineParser, report

PANELS = (("content.png", "content C"), ("style.png", "style S"), ("final.png", "generated G"))

PROG = "nst figure"


def png_bytes(fig, tight=True):
    """PNG bytes of a figure, trimmed to its content (``tight``) or at the figure's own size in pixels.

    Figures are made with :class:`matplotlib.figure.Figure`, not pyplot, so no
    backend is chosen or changed: this works headless and inside a notebook.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight" if tight else None)
    return buffer.getvalue()


def figure_bytes(pictures, titles, caption=None, dpi=100):
    """PNG bytes of pictures in a row with '+' and '=' in narrow columns between them."""
    n = len(pictures)
    fig = Figure(figsize=(4.6 * n, 3.6), dpi=dpi)
    axes = fig.subplots(1, 2 * n - 1, gridspec_kw={"width_ratios": [1, 0.12] * (n - 1) + [1]})
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i % 2:
            ax.text(0.5, 0.5, "+" if i < 2 * n - 3 else "=", fontsize=28, ha="center", va="center")
        else:
            ax.imshow(pictures[i // 2].astype("uint8"))
            ax.set_title(titles[i // 2])
    if caption:
        fig.text(0.5, 0.02, caption, ha="center", fontsize=9)
    return png_bytes(fig)


def run_figure(run_dir, out, caption=None):
    pictures = [load_image(os.path.join(run_dir, name)) for name, _ in PANELS]
    write_atomic(out, figure_bytes(pictures, [title for _, title in PANELS], caption))


def main(argv=None, prog=PROG):
    parser = OneLineParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="an output folder of nst train")
    parser.add_argument("out", nargs="?", default="c_plus_s_equals_g.png",
                        help="the picture to write (default: c_plus_s_equals_g.png in the current folder)")
    parser.add_argument("--caption", default=None)
    try:
        args = parser.parse_args(argv)
        run_figure(args.run_dir, args.out, args.caption)
    except NSTError as exc:
        return report(prog, exc)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
