"""Benchmark: seconds per Adam step and peak memory, nst against its peers and the FLOP limit.

``nst bench`` measures, in one run and side by side, the same problem (the
default images, the course's costs, Adam) as:

- baseline: the course's plain graph (the whole VGG-19 built, a_S read by one
  session run per layer, Gram targets recomputed every step);
- peer: nst's graph built as the best-known TF implementation builds its
  own: weights as graph constants, TF's default gradient gating;
- pytorch: the same network, weights and costs in plain PyTorch (when it is
  installed);
- nst: what ``nst train`` runs;
- nst-cache: nst's graph with oneDNN's filters cached (nst.onednn), as
  ``NST_FILTER_CACHE=1`` runs it (the default on CPUs with AMX);
- nst-bf16: ``nst train --precision bf16``.

Each (variant, size) runs in its own process so its peak RSS is its own. The
FLOP limit of a step is 2 x the forward convolution FLOPs up to the deepest
layer used (forward + backward to the image), divided by this machine's
sustained numpy sgemm rate, measured in the same run.
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np

from nst.errors import NSTError, OneLineParser, report
from nst.run import presets

SIZES = {256: (192, 256), 512: (384, 512), 1024: (768, 1024), 2048: (1536, 2048)}
VARIANTS = ("baseline", "peer", "pytorch", "nst", "nst-cache", "nst-bf16")
ENV = {"nst-cache": {"NST_FILTER_CACHE": "1"}}  # a variant's environment, set before TensorFlow starts

PROG = "nst bench"


def conv_flops(weights, height, width, up_to):
    """Forward FLOPs (2 per multiply-add) of the 3x3 convolutions through ``up_to``."""
    from nst.algorithm.vgg import LAYER_ORDER, canonical_layer

    total, h, w = 0, height, width
    for name in LAYER_ORDER[: LAYER_ORDER.index(canonical_layer(up_to)) + 1]:
        if name.startswith("pool"):
            h, w = -(-h // 2), -(-w // 2)
        else:
            kh, kw, cin, cout = weights.convs[name][0].shape
            total += 2 * h * w * kh * kw * cin * cout
    return total


def sgemm_gflops(n=2048, repeats=5):
    """Sustained float32 matrix-multiply rate of numpy in this process (best of a few runs)."""
    a, b = (np.random.RandomState(i).rand(n, n).astype(np.float32) for i in range(2))
    a @ b  # warm-up
    best = min(_timed(lambda: a @ b) for _ in range(repeats))
    return 2 * n**3 / best / 1e9


def blas_kernel():
    try:
        from threadpoolctl import threadpool_info

        return ",".join(f"{i.get('internal_api')}/{i.get('architecture')}" for i in threadpool_info())
    except ImportError:
        return "kernel unknown (pip install threadpoolctl)"


SGEMM_SCRIPT = ("import json; from nst.tools.bench import sgemm_gflops, blas_kernel; "
                "print(json.dumps([sgemm_gflops(), blas_kernel()]))")


def machine_sgemm():
    """The machine's sgemm rate: the faster of numpy as configured here and numpy with
    OPENBLAS_CORETYPE unset (some sandboxes pin an older kernel; the limit is the machine's)."""
    rates = []
    for drop in ((), ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")):
        env = {k: v for k, v in os.environ.items() if k not in drop}
        done = subprocess.run([sys.executable, "-c", SGEMM_SCRIPT], capture_output=True, text=True, env=env)
        rate, kernel = json.loads(done.stdout.strip().splitlines()[-1])
        rates.append((float(rate), kernel, "as configured" if not drop else "OPENBLAS_CORETYPE unset"))
    for rate, kernel, how in rates:
        print(f"numpy sgemm ({how}, {kernel}): {rate:.1f} GFLOP/s (2048x2048 float32, best of 5)")
    return max(rates)[0]


def _timed(fn):
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def _problem(size, weights):
    """Content (Grace Hopper), style (the swirl) and the paper's start G at ``size``, normalised."""
    from nst.algorithm import images

    content = images.resize_image(images.default_content_image()[0], size)
    style = images.resize_image(images.default_style_image(size)[0], size)
    C = images.reshape_and_normalize_image(content, weights.mean_pixel)
    S = images.reshape_and_normalize_image(style, weights.mean_pixel)
    return C, S, images.generate_noise_image(C, 0.6, seed=0)


def _baseline_step(sess, weights, C, S):
    """The course's graph: (how to set G, what a step fetches, J), initialised as the course does."""
    from nst.algorithm.reference import course_graph
    from nst.algorithm.tf1 import tf

    model, J, train_step = course_graph(sess, weights, C, S)

    def initialize(G):
        sess.run(tf.global_variables_initializer())
        sess.run(model["input"].assign(G))

    return initialize, [train_step], J


def _nst_step(sess, weights, C, S, precision="fp32", peer=False):
    """nst's graph, initialised as nst train does; a step fetches what its loop fetches."""
    from nst.algorithm.graph import CostSettings, build_graph

    graph = build_graph(sess, weights, C, S, CostSettings(precision=precision), peer=peer)
    # exactly what nst train's loop fetches each step: the step, G as it read it, the costs
    return graph.initialize, [graph.train_step, graph.model["G"], graph.J, graph.J_content, graph.J_style], graph.J


def _tf_steps(variant, weights, C, S, G):
    """(build seconds, a function that runs one step, J at G) of a TensorFlow variant."""
    from nst.algorithm.graph import new_session

    sess = new_session()
    if variant == "baseline":
        build = _baseline_step
    else:
        options = {"peer": {"peer": True}, "nst-bf16": {"precision": "bf16"}}.get(variant, {})
        build = lambda *a: _nst_step(*a, **options)  # noqa: E731
    start = time.perf_counter()
    initialize, fetches, J = build(sess, weights, C, S)
    initialize(G)
    build_s = time.perf_counter() - start
    return build_s, lambda: sess.run(fetches), float(sess.run(J))  # J at G, before any step


def worker(variant, size, steps, warmup, vgg):
    """Run one variant at one size in this process; return its figures as a dict."""
    from nst.algorithm.vgg import read_vgg_weights

    weights = read_vgg_weights(vgg)
    C, S, G = _problem(size, weights)
    if variant == "pytorch":
        from nst.tools.torch_step import torch_steps

        build_s, step, J0 = torch_steps(weights, C, S, G)
    else:
        build_s, step, J0 = _tf_steps(variant, weights, C, S, G)
    times = [_timed(step) for _ in range(warmup + steps)][warmup:]
    return {"variant": variant, "size": list(size), "median_s": statistics.median(times),
            "min_s": min(times), "build_s": build_s, "J0": J0,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def run_worker(variant, size, steps, warmup, vgg):
    """Run :func:`worker` in a fresh process, so peak memory is measured per variant."""
    cmd = [sys.executable, "-m", "nst.tools.bench", "--worker", variant, "--size", f"{size[0]}x{size[1]}",
           "--steps", str(steps), "--warmup", str(warmup), "--vgg", vgg]
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **ENV.get(variant, {})})
    if done.returncode != 0:
        raise NSTError(f"benchmark worker {variant} {size} failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def variants():
    """The variants this machine can run: the PyTorch row only where PyTorch is installed."""
    try:
        import importlib.util

        has_torch = importlib.util.find_spec("torch") is not None
    except ValueError:
        has_torch = False
    return [v for v in VARIANTS if v != "pytorch" or has_torch]


def speed_table(sides, steps, warmup, vgg, only=None):
    """Print and return the per-step figures of each variant at each size, with the FLOP limit."""
    from nst.algorithm.vgg import read_vgg_weights

    weights = read_vgg_weights(vgg)
    print_machine()
    rate = machine_sgemm()
    print(f"{'size':>9} {'variant':>9} {'GFLOP/step':>10} {'limit s':>8} {'median s':>9} {'x limit':>8} "
          f"{'GFLOP/s':>8} {'peak MB':>8} {'vs base':>8} {'J at start':>11}")
    rows = []
    for side in sides:
        size = SIZES[side]
        flops = 2 * conv_flops(weights, *size, "conv5_1")
        limit = flops / (rate * 1e9)
        base = None
        for variant in [v for v in variants() if not only or v in only]:
            r = run_worker(variant, size, steps, warmup, vgg)
            base = base or r["median_s"]
            r.update(gflop=flops / 1e9, limit_s=limit, ratio=r["median_s"] / limit, speedup=base / r["median_s"])
            rows.append(r)
            print(f"{size[0]:>4}x{size[1]:<4} {variant:>9} {flops / 1e9:>10.1f} {limit:>8.3f} "
                  f"{r['median_s']:>9.3f} {r['ratio']:>8.2f} {flops / 1e9 / r['median_s']:>8.1f} "
                  f"{r['peak_rss_mb']:>8.0f} {r['speedup']:>7.2f}x {r['J0']:>11.5g}", flush=True)
        float32 = [r for r in rows if r["size"] == list(size) and r["variant"] != "nst-bf16"]
        if len(float32) > 1:
            fastest = min(float32, key=lambda r: r["median_s"])["variant"]
            print(f"{'':>9} fastest in float32 at {size[0]}x{size[1]}: {fastest}", flush=True)
    return rows


def cpu_model():
    """'MODEL, N cores': the CPU's model name as /proc/cpuinfo gives it (or the platform's word for it).
    Every benchmark of nst prints it with its figures."""
    import platform

    try:
        with open("/proc/cpuinfo") as info:
            name = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), None)
    except OSError:
        name = None
    return f"{name or platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def flags_text(wanted=("avx2", "avx512f", "avx512_bf16", "amx_bf16", "amx_tile")):
    """The flags that decide which kernels run, of those this CPU has."""
    from nst.algorithm.onednn import cpu_flags

    return " ".join(f for f in wanted if f in cpu_flags()) or "none of " + " ".join(wanted)


ONEDNN_SCRIPT = ("import numpy as np; from nst.algorithm.tf1 import tf; "
                 "tf.Session().run(tf.nn.conv2d(np.ones((1, 8, 8, 16), np.float32), "
                 "np.ones((3, 3, 16, 16), np.float32), [1, 1, 1, 1], 'SAME'))")


def onednn_info():
    """oneDNN's version and the instruction set it chose, from its verbose start-up lines."""
    done = subprocess.run([sys.executable, "-c", ONEDNN_SCRIPT], capture_output=True, text=True,
                          env={**os.environ, "ONEDNN_VERBOSE": "1", "TF_CPP_MIN_LOG_LEVEL": "3"})
    info = [line.split(",", 3)[-1] for line in done.stdout.splitlines() if line.startswith("onednn_verbose,")
            and (",info,oneDNN" in line or ",info,cpu,isa" in line)]
    return "; ".join(info) or "not used (TensorFlow without oneDNN, or TF_ENABLE_ONEDNN_OPTS=0)"


def print_machine():
    """What the figures depend on: CPU, cores, TensorFlow, its oneDNN kernels, PyTorch."""
    import tensorflow as tf

    from nst.algorithm import onednn

    print(f"CPU: {cpu_model()}; flags: {flags_text()}")
    print(f"TensorFlow {tf.__version__}; oneDNN: {onednn_info()}")
    used = "used by nst train" if onednn.available() else "not used by nst train"
    print(f"cached oneDNN filters (nst.onednn, NST_FILTER_CACHE={os.environ.get(onednn.ENV, 'auto')}): {used}")
    try:
        import torch

        print(f"PyTorch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("PyTorch: not installed (pip install torch adds its row)")


def main(argv=None, prog=PROG):
    parser = OneLineParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--sides", type=int, nargs="+", default=[256, 512], choices=sorted(SIZES),
                        help="longer sides to measure (default: 256 512)")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, metavar="NAME",
                        help=f"rows to measure (default: all this machine can run): {', '.join(VARIANTS)}")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per variant (median taken)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--quick", action="store_true", help="a first look in about a minute: 256 px only, "
                        "3 timed steps after 1 warm-up step")
    parser.add_argument("--vgg", default=None, help="VGG-19 .mat (default: found as nst train finds it)")
    parser.add_argument("--time-to-quality", metavar="PLOT", nargs="?", const="time_to_quality.png",
                        help="instead: the wall time each preset takes to reach the J of jcjohnson's full run on "
                        "its objective, at each of --sides, J against time plotted to PLOT (default: "
                        "time_to_quality.png in the current folder), the final pictures beside it (PLOT's name "
                        "with _pictures)")
    parser.add_argument("--presets", default="course,jcjohnson,jcjohnson-fast", metavar="A,B,...",
                        help="presets of --time-to-quality (default: course,jcjohnson,jcjohnson-fast)")
    parser.add_argument("--content", help="content image of --time-to-quality (default: nst train's)")
    parser.add_argument("--style", help="style image of --time-to-quality (default: nst train's)")
    parser.add_argument("--worker", choices=VARIANTS, help=argparse.SUPPRESS)
    parser.add_argument("--size", help=argparse.SUPPRESS)
    from nst.algorithm.vgg import resolve_weights_path

    try:
        args = parser.parse_args(argv)
        if args.quick:
            args.sides, args.steps, args.warmup = [256], 3, 1
        for option, value, least in (("--steps", args.steps, 1), ("--warmup", args.warmup, 0)):
            if value < least:  # before any worker starts: a median of no steps is no figure
                raise NSTError(f"{option} {value}: give {least} or more")
        vgg = resolve_weights_path(args.vgg)
        if args.time_to_quality:
            _time_to_quality(args, vgg)
        elif args.worker:
            size = tuple(int(v) for v in args.size.split("x"))
            print(json.dumps(worker(args.worker, size, args.steps, args.warmup, vgg)))
        else:
            speed_table(args.sides, args.steps, args.warmup, vgg, args.variants)
    except NSTError as exc:
        return report(prog, exc)
    return 0


def _time_to_quality(args, vgg):
    from nst.tools import quality

    names = [name.strip() for name in args.presets.split(",") if name.strip()]
    for name in names:
        presets.describe(name)  # an unknown name: one line, before anything runs
    print(f"CPU: {cpu_model()}, {flags_text()}", flush=True)
    outcomes = quality.table(names, args.sides, args.content, args.style, vgg,
                             say=lambda text: print(text, flush=True))
    quality.plot(outcomes, args.time_to_quality)
    side_by_side = os.path.splitext(args.time_to_quality)[0] + "_pictures.png"
    quality.pictures(outcomes, side_by_side)
    print(f"wrote {args.time_to_quality} and {side_by_side}")


if __name__ == "__main__":
    raise SystemExit(main())
