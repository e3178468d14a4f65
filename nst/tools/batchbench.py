"""``nst bench-batch``: jobs per hour of nst batch for ways of splitting this machine's cores into workers.

Each setting (workers x TensorFlow threads each) runs the same jobs, every
content with every style at a small size, through nst batch's own pieces:
embedded Ray, the pool of workers holding the weights, the run layer. For each
it prints the start-up (Ray and the workers, with the weights), the jobs per
hour once the workers run, the time per job (all of it, and its steps) and the
scheduling overhead per job; then the figures the N-node model needs. The CPU
model is printed with the figures: they are this machine's, measured, never
asserted by a test.
"""
import os
import statistics
import tempfile
import time

import numpy as np

from nst.algorithm import images
from nst.errors import NSTError, OneLineParser, report
from nst.run.interrupt import StopRequest
from nst.tools.bench import cpu_model

PROG = "nst bench-batch"
FULL = dict(contents=4, styles=2, side=256, iterations=30, settings="1x0 1x1 2x1")
QUICK = dict(contents=2, styles=2, side=256, iterations=20, settings="1x0 2x1")


def parse_settings(text):
    """'1x0 2x1' -> [(1, 0), (2, 1)]: workers x threads each (0: the node's cores / its workers)."""
    try:
        settings = [tuple(int(v) for v in item.split("x")) for item in text.split()]
    except ValueError:
        settings = []
    if not settings or any(len(s) != 2 or s[0] < 1 or s[1] < 0 for s in settings):
        raise NSTError(f"--settings {text!r}: give WORKERSxTHREADS items, e.g. '1x0 2x1' (0 threads: the cores "
                       "shared out)")
    return settings


def make_pictures(folder, contents, styles):
    """Content pictures (matplotlib's photo, mirrored and rolled) and style pictures (the painted swirl)."""
    photo, _ = images.default_content_image()
    made = {"content": [], "style": []}
    for i in range(contents):
        path = os.path.join(folder, f"photo{i}.png")
        picture = np.roll(photo[:, ::-1] if i % 2 else photo, 37 * i, axis=1)
        images.write_atomic(path, images.encode_image(np.clip(picture, 0, 255).astype(np.uint8), path))
        made["content"].append(path)
    for i in range(styles):
        path = os.path.join(folder, f"swirl{i}.png")
        swirl, _ = images.default_style_image((256, 256), seed=7 + i)
        images.write_atomic(path, images.encode_image(swirl.astype(np.uint8), path))
        made["style"].append(path)
    return made


def measure(workers, threads, queue, weights):
    """One setting's figures: run the queue on a fresh embedded Ray of ``workers`` CPUs."""
    from nst.batch import cluster

    ray = cluster.import_ray()
    begin = time.perf_counter()
    end_ray = cluster.connect(workers)
    try:
        put = time.perf_counter()
        pool = cluster.Pool(ray, weights, workers, threads or None)
        put = time.perf_counter() - put
        starts, ends, outcomes = {}, {}, []

        def started(job, node):
            starts[job.id] = time.perf_counter()

        def finished(job, outcome):
            ends[job.id] = time.perf_counter()
            outcomes.append(outcome)

        pool.run(queue, started, finished, StopRequest())
        pool.close()
    finally:
        (end_ray or ray.shutdown)()  # embedded Ray's folder removed with it
    failed = [o.error for o in outcomes if o.status != "done"]
    if failed:
        raise NSTError(f"a benchmark job failed: {failed[0]}")
    first, last = min(starts.values()), max(ends.values())
    walls = [ends[i] - starts[i] for i in ends]
    return dict(workers=workers, threads=threads, jobs=len(ends), startup=first - begin, put=put,
                total=last - begin, per_hour=len(ends) / (last - first) * 3600 if last > first else float("nan"),
                job=statistics.mean(walls), steps=statistics.mean(o.seconds for o in outcomes),
                overhead=statistics.mean(w - o.wall for w, o in zip(walls, outcomes)))


def _queue(settings, pictures, folder, vgg):
    from nst.batch import command, jobs

    common = command.train_settings(settings, PROG)
    batch = jobs.name_jobs(jobs.cross(pictures["content"], pictures["style"]))
    return [(job, command.job_config(common, job, folder, vgg, PROG), False) for job in batch]


def run(figures, vgg, settings):
    from nst.algorithm.vgg import read_vgg_weights

    weights = read_vgg_weights(vgg)
    size_mb = sum(a.nbytes for pair in weights.convs.values() for a in pair) / 1e6
    cpu = cpu_model()
    with tempfile.TemporaryDirectory(prefix="nst-bench-batch-") as folder:
        pictures = make_pictures(folder, figures["contents"], figures["styles"])
        options = ["--max-side", str(figures["side"]), "--iterations", str(figures["iterations"]), "--seed", "0",
                   "--save-every", str(figures["iterations"])]
        jobs = len(pictures["content"]) * len(pictures["style"])
        print(f"nst batch throughput on {cpu}: {jobs} jobs of {figures['iterations']} Adam steps at "
              f"{figures['side']} px (longer side), weights {size_mb:.0f} MB")
        print(f"{'workers x threads':>18} {'start-up s':>10} {'total s':>8} {'jobs/h':>7} {'job s':>6} "
              f"{'its steps s':>11} {'overhead s':>10}")
        rows = []
        for n, (workers, threads) in enumerate(settings):
            out = os.path.join(folder, f"run{n}")
            row = measure(workers, threads, _queue(options, pictures, out, vgg), weights)
            rows.append(row)
            shown = f"{workers} x {threads or max(1, (os.cpu_count() or 1) // workers)}"
            print(f"{shown:>18} {row['startup']:>10.1f} {row['total']:>8.1f} {row['per_hour']:>7.0f} "
                  f"{row['job']:>6.1f} {row['steps']:>11.1f} {row['overhead']:>10.3f}   ({cpu})", flush=True)
    best = max(rows, key=lambda r: r["per_hour"])
    print(f"most jobs per hour: {best['workers']} worker(s) x "
          f"{best['threads'] or max(1, (os.cpu_count() or 1) // best['workers'])} thread(s) ({cpu})")
    print(f"N-node model: T(J jobs, N nodes of w workers) = start-up + weights shipping + "
          f"ceil(J / (N w)) x (job + overhead); here job = {best['job']:.1f} s, overhead = "
          f"{best['overhead'] * 1000:.0f} ms, start-up = {best['startup']:.1f} s, ray.put of the weights = "
          f"{best['put']:.2f} s; shipping {size_mb:.0f} MB to a node takes {size_mb * 8 / 1000:.2f} s per Gbit/s")
    return rows


def main(argv=None, prog=PROG):
    parser = OneLineParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about 2 minutes: 4 jobs of 20 steps at 256 px, "
                        "settings 1x0 2x1 (default: 8 jobs of 30 steps at 256 px, 1x0 1x1 2x1)")
    parser.add_argument("--settings", help=f"workers x threads to compare (default: {FULL['settings']!r}; "
                        "0 threads: the cores shared out)")
    parser.add_argument("--vgg", default=None, help="VGG-19 .mat (default: found as nst train finds it)")
    from nst.algorithm.vgg import resolve_weights_path

    try:
        args = parser.parse_args(argv)
        figures = dict(QUICK if args.quick else FULL)
        run(figures, resolve_weights_path(args.vgg), parse_settings(args.settings or figures["settings"]))
    except NSTError as exc:
        return report(prog, exc)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
