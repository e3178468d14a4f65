"""Seed step 5: run Adam for N iterations, recording costs and saving images.

Run as ``python -m nst.train`` (options: ``--help``). Each step is one
``sess.run`` of the train op that also fetches J, J_content and J_style: the
forward pass computes them anyway, so the cost history is free. The image is
fetched only when it is saved.
"""
import csv
import io
import os
import time
from typing import NamedTuple

from tqdm import tqdm

from nst.images import VGG_MEAN, save_image, write_atomic

HISTORY_FIELDS = ("iteration", "J", "J_content", "J_style", "seconds")
HISTORY_FILE = "history.csv"
FINAL_IMAGE = "final.png"
INPUT_IMAGES = ("content.png", "style.png")  # C and S as the network saw them


class Result(NamedTuple):
    image: object  # final G, (1, H, W, 3), normalised
    history: list  # rows of HISTORY_FIELDS; row i holds the costs after i steps
    saved: list  # paths of the images written


def iteration_image_name(step):
    return f"iteration_{step:04d}.png"


def write_history(path, history):
    """The cost history as CSV, written atomically."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(HISTORY_FIELDS)
    writer.writerows([r[0], f"{r[1]:.9g}", f"{r[2]:.9g}", f"{r[3]:.9g}", f"{r[4]:.3f}"] for r in history)
    write_atomic(path, text.getvalue().encode())


def run_style_transfer(graph, generated_image, iterations=200, save_every=20, output_dir=None,
                       mean_pixel=VGG_MEAN, progress=True, on_save=None):
    """Optimise G from ``generated_image``; save every ``save_every`` steps and at the end.

    Returns a :class:`Result`. With ``output_dir`` None nothing is written.
    ``on_save(step, image)``, if given, gets G (normalised) at the same points,
    so the notebook can keep snapshots in memory; G is fetched only there.
    """
    graph.initialize(generated_image)
    fetches = [graph.train_step, graph.J, graph.J_content, graph.J_style]
    history, saved = [], []
    start = time.perf_counter()

    def save(step, name):
        image = graph.image()
        if on_save:
            on_save(step, image)
        if output_dir:
            path = os.path.join(output_dir, name)
            save_image(path, image, mean_pixel)
            write_history(os.path.join(output_dir, HISTORY_FILE), history)
            saved.append(path)

    bar = tqdm(range(iterations), desc="nst", unit="step", disable=not progress, dynamic_ncols=True)
    for step in bar:
        _, J, J_content, J_style = graph.sess.run(fetches)
        history.append((step, float(J), float(J_content), float(J_style), time.perf_counter() - start))
        bar.set_postfix(J=f"{J:.4g}", J_content=f"{J_content:.4g}", J_style=f"{J_style:.4g}", refresh=False)
        if (output_dir or on_save) and save_every and (step + 1) % save_every == 0 and step + 1 < iterations:
            save(step + 1, iteration_image_name(step + 1))
    bar.close()
    history.append((iterations, *graph.costs(), time.perf_counter() - start))
    if output_dir or on_save:
        save(iterations, FINAL_IMAGE)
    return Result(graph.image(), history, saved)


if __name__ == "__main__":
    from nst.cli import main

    raise SystemExit(main())
