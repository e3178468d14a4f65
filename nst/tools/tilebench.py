"""Benchmark of the tiled step: its peak memory and seconds as the picture grows, against the untiled step.

``nst bench-tiles`` runs one process per (size, graph): Grace Hopper cropped square at each size, the
swirl style at 512x512, the course's costs, the paper's start. Each process builds its graph (untiled, or
tiled with the same tile at every size), sets G, and then times Adam steps. The memory figures are read
from /proc: RSS before the steps (the weights, the whole-picture state: G, Adam's slots, C, a_C) and the
peak during them (VmHWM, reset after the set-up by writing 5 to /proc/self/clear_refs), so the set-up's
own passes (a_C, the style's Grams) do not count in the step. The untiled graph runs only where its
estimate fits free memory.
"""
import argparse
import json
import os
import subprocess
import sys
import time

from nst.errors import NSTError, OneLineParser, report

PROG = "nst bench-tiles"
SIDES = (1024, 2048, 4096, 6000)
TILE = 1024


def _status(field):
    """A /proc/self/status figure in MiB (VmRSS, VmHWM)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def _reset_peak():
    """Start VmHWM again from the current RSS; False where the kernel does not allow it."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def worker(side, tile, steps, vgg):
    """One graph at side x side, in this process: its figures as a dict (tile 0: untiled)."""
    from nst.algorithm import images
    from nst.algorithm.graph import CostSettings, build_graph, new_session
    from nst.algorithm.optimize import updater
    from nst.algorithm.tiled import TiledGraph
    from nst.algorithm.vgg import read_vgg_weights

    weights = read_vgg_weights(vgg)
    size = (side, side)
    C = images.reshape_and_normalize_image(images.resize_image(images.default_content_image()[0], size),
                                           weights.mean_pixel)
    S = images.reshape_and_normalize_image(images.default_style_image((512, 512))[0], weights.mean_pixel)
    G = images.generate_noise_image(C, 0.6, seed=0)
    start = time.perf_counter()
    sess = new_session()
    graph = TiledGraph(sess, weights, C, S, CostSettings(), tile) if tile else build_graph(sess, weights, C, S)
    graph.initialize(G)
    build_s = time.perf_counter() - start
    setup_peak, before = _status("VmHWM"), _status("VmRSS")
    reset = _reset_peak()
    update, times, J = updater(graph), [], None
    for _ in range(steps):
        start = time.perf_counter()
        _, costs = update()
        times.append(time.perf_counter() - start)
        J = J if J is not None else float(costs[0])
    return {"side": side, "tile": tile, "tiles": len(graph.grid) if tile else 1, "build_s": build_s,
            "step_s": times, "J0": J, "rss_before_mb": before, "step_peak_mb": _status("VmHWM") if reset else None,
            "setup_peak_mb": setup_peak}


def run_worker(side, tile, steps, vgg):
    cmd = [sys.executable, "-m", "nst.tools.tilebench", "--worker", str(side), "--tile", str(tile),
           "--steps", str(steps), "--vgg", vgg]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise NSTError(f"benchmark worker {side} px (tile {tile}) failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def fits_untiled(vgg, side):
    """(fits, estimated GiB) of the untiled step at side x side in this machine's free memory."""
    from nst.algorithm import memory
    from nst.algorithm.vgg import read_vgg_weights

    needed = memory.estimate_peak_bytes(read_vgg_weights(vgg), side, side, "conv5_1")
    return needed <= memory.HEADROOM * memory.available_bytes(), needed / 2**30


def table(sides, tile, steps, vgg):
    """Print and return a row per (size, graph)."""
    from nst.tools.bench import cpu_model

    print(f"machine: {cpu_model()}; {os.environ.get('NST_BENCH_COMMIT', '')}".rstrip("; "), flush=True)
    print(f"{'size':>11} {'graph':>12} {'tiles':>5} {'set-up s':>9} {'s/step':>8} {'RSS before':>10} "
          f"{'step peak':>10} {'J at start':>12}", flush=True)
    rows = []
    for side in sides:
        fits, needed = fits_untiled(vgg, side)
        for t in ([0] if fits else []) + [tile]:
            r = run_worker(side, t, steps, vgg)
            rows.append(r)
            print(f"{side:>5}x{side:<5} {'untiled' if not t else f'tile {t}':>12} {r['tiles']:>5} "
                  f"{r['build_s']:>9.1f} {min(r['step_s']):>8.1f} {r['rss_before_mb'] / 1024:>8.2f} G "
                  f"{(r['step_peak_mb'] or float('nan')) / 1024:>8.2f} G {r['J0']:>12.6g}", flush=True)
        if not fits:
            print(f"{side:>5}x{side:<5} {'untiled':>12}  not run: its estimate, {needed:.1f} GiB, is over free "
                  "memory", flush=True)
    peaks = [r["step_peak_mb"] for r in rows if r["tile"] and r["step_peak_mb"]]
    if peaks:
        print(f"tiled step peak: {min(peaks) / 1024:.2f} to {max(peaks) / 1024:.2f} GiB "
              f"({100 * (max(peaks) / min(peaks) - 1):.0f} % apart) from {sides[0]} to {sides[-1]} px", flush=True)
    return rows


def build_parser(prog=PROG):
    p = OneLineParser(prog=prog, description="Peak memory and seconds of one tiled step as the picture grows, "
                      "against the untiled step where it fits.")
    p.add_argument("--sides", type=int, nargs="+", default=list(SIDES), metavar="PX",
                   help=f"square sizes to run (default: {' '.join(map(str, SIDES))})")
    p.add_argument("--tile", type=int, default=TILE, metavar="PX", help=f"the tile at every size (default: {TILE})")
    p.add_argument("--steps", type=int, default=1, metavar="N", help="steps timed per graph (default: 1; the "
                   "fastest is shown)")
    p.add_argument("--vgg", metavar="PATH", help="VGG-19 .mat (default: as nst train finds it)")
    p.add_argument("--json", metavar="FILE", help="also write the rows there")
    p.add_argument("--figure", nargs=2, metavar=("RESULT", "OUT"), help="instead: draw RESULT (a tiled run's "
                   "picture, made with --tile) downscaled with its tiles' edges and two 1:1 crops into OUT")
    p.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    return p


def figure(result_path, out, tile, side=600):
    """The docs' picture of a tiled result: crop a at the face, crop b where the tiles' cores meet."""
    import numpy as np
    from matplotlib.figure import Figure

    from nst.algorithm import tiles
    from nst.algorithm.images import load_image

    if os.path.exists(out) and os.path.samefile(out, result_path):
        raise NSTError(f"{out}: is the result itself; give another file to draw into")
    picture = np.clip(load_image(result_path), 0, 255).astype(np.uint8)
    H, W = picture.shape[:2]
    grid = tiles.grid((H, W), tiles.aligned(tile, "conv5_1"), tiles.halo("conv5_1"))
    rows = sorted({t.core[0] for t in grid} - {0})
    columns = sorted({t.core[1] for t in grid} - {0})
    if not rows or not columns:
        raise NSTError(f"{result_path}: {W}x{H} px is one tile of {tile} px: no edges to show")
    side = min(side, H, W)
    inside = lambda x, y: (min(max(x, 0), W - side), min(max(y, 0), H - side))  # noqa: E731
    crops = {"a": inside(int(W * 0.36), int(H * 0.18)), "b": inside(columns[0] - side // 2, rows[0] - side // 2)}
    fig = Figure(figsize=(14, 5.4))
    axes = fig.subplots(1, 3, gridspec_kw={"width_ratios": [W / H, 1, 1]})
    axes[0].imshow(picture[::4, ::4])
    for x in columns:
        axes[0].axvline(x / 4, color="w", ls="--", lw=0.8)
    for y in rows:
        axes[0].axhline(y / 4, color="w", ls="--", lw=0.8)
    axes[0].set_title(f"{W}x{H}, every 4th pixel (dashed: the tiles' edges)", fontsize=9)
    for axis, (name, (x, y)) in zip(axes[1:], crops.items()):
        axes[0].add_patch(_box(x / 4, y / 4, side / 4))
        axes[0].text(x / 4 + 3, y / 4 + 14, name, color="w", fontsize=11, weight="bold")
        axis.imshow(np.asarray(picture[y:y + side, x:x + side]))
        axis.set_title(f"{name}: {side}x{side} px at 1:1" + (", centred where the tiles meet" if name == "b" else ""),
                       fontsize=9)
    for axis in axes:
        axis.axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=100, pil_kwargs={"quality": 88})


def _box(x, y, side):
    from matplotlib.patches import Rectangle

    return Rectangle((x, y), side, side, fill=False, color="w", lw=1.5)


def main(argv=None, prog=PROG):
    args = build_parser(prog).parse_args(argv)
    try:
        if args.figure:
            figure(*args.figure, args.tile)
            return 0
        from nst.algorithm.vgg import resolve_weights_path

        vgg = resolve_weights_path(args.vgg)
        if args.worker is not None:
            print(json.dumps(worker(args.worker, args.tile, args.steps, vgg)))
            return 0
        rows = table(args.sides, args.tile, args.steps, vgg)
        if args.json:
            with open(args.json, "w") as f:
                json.dump(rows, f, indent=1)
    except NSTError as exc:
        return report(prog, exc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
