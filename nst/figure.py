"""The "C + S = G" picture of a run: ``python -m nst.figure RUN_DIR [OUT.png]``.

Every run of ``nst.train`` keeps the content and style exactly as the network
saw them (``content.png``, ``style.png``, after crop and resize) beside its
``final.png``; this lays the three out side by side with the operators between.
"""
import argparse
import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from nst.errors import NSTError, report  # noqa: E402
from nst.images import load_image, write_atomic  # noqa: E402

PANELS = (("content.png", "content C"), ("style.png", "style S"), ("final.png", "generated G"))


def figure_bytes(pictures, titles, caption=None, dpi=100):
    """PNG bytes of pictures in a row with '+' and '=' between them."""
    fig, axes = plt.subplots(1, len(pictures), figsize=(4.2 * len(pictures), 3.6), dpi=dpi)
    for i, (ax, picture, title) in enumerate(zip(axes, pictures, titles)):
        ax.imshow(picture.astype("uint8"))
        ax.set_title(title)
        ax.axis("off")
        if i:
            fig.text((i / len(pictures)), 0.5, "+" if i < len(pictures) - 1 else "=", fontsize=28,
                     ha="center", va="center")
    if caption:
        fig.text(0.5, 0.02, caption, ha="center", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def run_figure(run_dir, out, caption=None):
    pictures = [load_image(os.path.join(run_dir, name)) for name, _ in PANELS]
    write_atomic(out, figure_bytes(pictures, [title for _, title in PANELS], caption))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="nst.figure", description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", help="an output directory of nst.train")
    parser.add_argument("out", nargs="?", default=os.path.join("images", "c_plus_s_equals_g.png"))
    parser.add_argument("--caption", default=None)
    args = parser.parse_args(argv)
    try:
        run_figure(args.run_dir, args.out, args.caption)
    except NSTError as exc:
        return report("nst.figure", exc)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
