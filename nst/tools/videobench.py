"""Benchmark of ``nst video``: temporal consistency, style cost and speed, and where the defaults come from.

``nst videobench`` (or ``python -m nst.tools.videobench``) styles two clips
three ways and prints, for each, Ruder et al.'s short-term consistency error
(mean squared difference of each output frame and the previous output frame
warped by the flow, over reliable pixels) and the mean J_style per frame:

  (a) every frame on its own, from noise + content (the paper's start), with
      the first-frame iterations each;
  (b) ``prev-warped`` start, no temporal cost;
  (c) ``prev-warped`` start and the temporal cost (the defaults).

The clips: a synthetic one (matplotlib's sample photo of Grace Hopper, read
at run time, panned and zoomed by a known amount, with a textured disc moving
across it) and a real one, the clip gradio ships (world.mp4) when gradio is
installed, else one the project makes with ffmpeg (its mandelbrot zoom).
It also prints how many steps a prev-warped frame takes to reach the J_style a
noise + content frame reaches with the first-frame iterations, and seconds per
frame at 256 and 512 px. Every figure comes with the CPU model. The gallery
strip (frames of (a) and (c) side by side) goes to ``--gallery``.
"""
import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

from nst.errors import NSTError, OneLineParser, report
from nst.tools.bench import cpu_model

PROG = "nst videobench"
FRAMES = 8  # of each clip
VARIANTS = {  # name -> (init frame, temporal weight or None for the default, iterations after the first)
    "a": ("noise", 0.0, "first"),
    "b": ("prev-warped", 0.0, "frame"),
    "c": ("prev-warped", None, "frame"),
}
LABELS = {"a": "(a) independent, noise + content", "b": "(b) prev-warped, no J_temporal",
          "c": "(c) prev-warped + J_temporal"}


def synthetic_frames(count, size=(144, 192), pan=(2.0, 1.0), zoom=0.01, speed=6.0, radius=0.12):
    """A clip of ``count`` uint8 frames: the sample photo seen by a camera that pans ``pan`` (dx, dy)
    output pixels and zooms by ``zoom`` per frame, and a textured disc moving ``speed`` px a frame across it."""
    import cv2

    from nst.algorithm import images

    photo = images.default_content_image()[0]
    height, width = size
    photo_h, photo_w = photo.shape[:2]
    scale = 0.8 * min(photo_h / height, photo_w / width)  # photo pixels per output pixel at t = 0
    y, x = np.mgrid[0:height, 0:width]
    r = radius * height
    frames = []
    for t in range(count):
        s = scale / (1 + zoom * t)
        centre = (photo_w / 2 + pan[0] * t * scale, photo_h / 2 + pan[1] * t * scale)
        matrix = np.array([[s, 0, centre[0] - s * width / 2], [0, s, centre[1] - s * height / 2]], np.float32)
        frame = cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                               borderMode=cv2.BORDER_REFLECT)
        cx, cy = width * 0.15 + speed * t, height * 0.55
        inside = (x - cx) ** 2 + (y - cy) ** 2 < r**2
        checker = ((((x - cx) // 6).astype(int) + ((y - cy) // 6).astype(int)) % 2).astype(np.float32)
        disc = np.stack([200 + 55 * checker, 40 + 60 * checker, 30 + 0 * checker], axis=-1)
        frame[inside] = disc[inside]
        frames.append(np.clip(np.rint(frame), 0, 255).astype(np.uint8))
    return frames


def write_frames(folder, frames):
    import imageio.v3 as iio

    os.makedirs(folder, exist_ok=True)
    for n, frame in enumerate(frames):
        iio.imwrite(os.path.join(folder, f"{n:05d}.png"), frame)
    return folder


def real_clip(folder):
    """(path, name, every): gradio's world.mp4 when installed, else an ffmpeg-made mandelbrot zoom."""
    try:
        import gradio

        path = os.path.join(os.path.dirname(gradio.__file__), "media_assets", "videos", "world.mp4")
        if os.path.isfile(path):
            return path, "gradio's media_assets/videos/world.mp4 (a rotating Earth, 30 fps, every 3rd frame)", 3
    except ImportError:
        pass
    from nst.video.io import ffmpeg

    path = os.path.join(folder, "mandelbrot.mp4")
    subprocess.run([ffmpeg(), "-y", "-loglevel", "error", "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25",
                    "-t", "4", "-pix_fmt", "yuv420p", path], check=True)
    return path, "ffmpeg's mandelbrot zoom (made here, 25 fps, every 2nd frame)", 2


def style_run(clip, out, variant, args, every=1, size=None, frames=None):
    """Style ``clip`` as ``variant``; returns (VideoResult, run folder)."""
    from nst.run.config import RunConfig
    from nst.video.engine import run_video
    from nst.video.settings import VideoSettings

    init_frame, weight, iterations = VARIANTS[variant]
    weight = args.temporal_weight if weight is None else weight
    first = args.first_frame_iterations
    video = VideoSettings(input=clip, output=out + ".mp4", temporal_weight=weight, init_frame=init_frame,
                          first_frame_iterations=first,
                          end=str((frames or args.frames) * every), every=every)
    config = RunConfig(output=video.folder(), size=size or args.size, seed=0, quiet=True, vgg=args.vgg,
                       iterations=first if iterations == "first" else args.iterations, overwrite=True)
    result = run_video(config, video)
    if result.interrupted:  # a stop signal ends the whole benchmark, not only the run it reached
        from nst.run.interrupt import Interrupted

        raise Interrupted(result.interrupted)
    return result, video.folder()


def histories(folder, count):
    """Each frame's history rows (as floats) from its frame_NNNNN.csv."""
    rows = []
    for n in range(count):
        with open(os.path.join(folder, f"frame_{n:05d}.csv")) as f:
            rows.append([{k: float(v) for k, v in row.items()} for row in csv.DictReader(f)])
    return rows


def steps_to_reach(frame_rows, target, cost="J_style"):
    """The first step at which a frame's ``cost`` is at or below ``target``, or None."""
    for row in frame_rows:
        if row[cost] <= target:
            return int(row["iteration"])
    return None


def measure_clip(name, clip, args, every, workdir):
    """The three variants on one clip: a dict variant -> figures, and the run folders."""
    figures, folders = {}, {}
    for variant in VARIANTS:
        began = time.perf_counter()
        result, folder = style_run(clip, os.path.join(workdir, f"{name}_{variant}"), variant, args, every)
        rows = histories(folder, result.frames)
        figures[variant] = {"error": float(np.mean(result.errors)),
                            "J_style": float(np.mean([r[-1]["J_style"] for r in rows[1:]])),
                            "seconds": time.perf_counter() - began, "rows": rows}
        folders[variant] = folder
        print(f"  {LABELS[variant]:<36} short-term error {figures[variant]['error']:10.2f}   "
              f"mean J_style {figures[variant]['J_style']:.4g}   ({figures[variant]['seconds']:.0f} s)", flush=True)
    a, c = figures["a"], figures["c"]
    print(f"  (a) / (c) error: {a['error'] / c['error']:.2f}x lower with (c) (goal: at least 3x); "
          f"J_style (c) / (a): {c['J_style'] / a['J_style']:.3f} (goal: within 10 %)")
    for cost in ("J_style", "J_content"):
        target = np.mean([r[-1][cost] for r in a["rows"]])
        for variant in ("b", "c"):
            reached = [steps_to_reach(r, target, cost) for r in figures[variant]["rows"][1:]]
            shown = ", ".join("-" if s is None else str(s) for s in reached)
            print(f"  steps of each prev-warped frame ({variant}) to reach the {cost} of (a) after "
                  f"{args.first_frame_iterations} steps ({target:.4g}): {shown}  ('-': not within {args.iterations})")
    return figures, folders


def speed(args, workdir):
    """Seconds per frame at 256 and 512 px: flow + steps, from a short styled clip."""
    clip = write_frames(os.path.join(workdir, "speed_clip"), synthetic_frames(3, size=(384, 512)))
    steps = 3 if args.quick else 10
    for side, size in ((256, (192, 256)), (512, (384, 512))):
        runner = argparse.Namespace(**{**vars(args), "first_frame_iterations": steps, "iterations": steps})
        result, _ = style_run(clip, os.path.join(workdir, f"speed_{side}"), "c", runner, size=size, frames=3)
        per_step = np.median([s.seconds / s.iteration for s in result.histories[1:]])
        flow = np.median([total - h.seconds for total, h in zip(result.seconds[1:], result.histories[1:])])
        print(f"  {side} px ({size[0]}x{size[1]}): {per_step:.2f} s per step, {flow:.2f} s per frame for the flow, "
              f"the graph's set-up and the files; a frame of {args.iterations} steps: "
              f"{flow + args.iterations * per_step:.0f} s; the first ({args.first_frame_iterations} steps): "
              f"{flow + args.first_frame_iterations * per_step:.0f} s  [{cpu_model()}]", flush=True)


def gallery(path, clip, folders, shown=4):
    """A picture of ``shown`` frames spread over the clip: the input, (a) and (c), one row each."""
    import imageio.v3 as iio

    from nst.algorithm import images

    names = sorted(n for n in os.listdir(folders["a"]) if n.startswith("frame_") and n.endswith(".png"))
    picks = sorted({int(round(k)) for k in np.linspace(0, len(names) - 1, shown)})
    inputs = sorted(os.listdir(clip))
    rows = []
    for variant in ("input", "a", "c"):
        if variant == "input":
            size = iio.imread(os.path.join(folders["a"], names[0])).shape[:2]
            row = [images.resize_image(iio.imread(os.path.join(clip, inputs[n])).astype(np.float32), size)
                   for n in picks]
        else:
            row = [iio.imread(os.path.join(folders[variant], names[n])) for n in picks]
        rows.append(np.concatenate([np.rint(r).astype(np.uint8) for r in row], axis=1))
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    iio.imwrite(path, np.concatenate(rows, axis=0))
    print(f"gallery: {path} (rows: the input, (a), (c); frames {', '.join(map(str, picks))})")


def build_parser(prog=PROG):
    p = OneLineParser(prog=prog, description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a smoke run: 4 frames, few steps (not for figures)")
    p.add_argument("--frames", type=int, help=f"frames of each clip (default: {FRAMES}; --quick: 4)")
    p.add_argument("--size", default="96x128", help="frame size HxW of the consistency runs (default: 96x128)")
    p.add_argument("--first-frame-iterations", type=int, help="default: nst video's")
    p.add_argument("--iterations", type=int, help="steps of each later frame (default: nst video's)")
    p.add_argument("--temporal-weight", type=float, help="default: nst video's")
    p.add_argument("--gallery", default="video_gallery.png", help="where the strip goes (default: %(default)s)")
    p.add_argument("--clips", default="synthetic,real", help="which clips, comma-separated (default: %(default)s)")
    p.add_argument("--no-speed", action="store_true", help="skip the 256/512 px timing")
    p.add_argument("--vgg", help="VGG-19 .mat (default: as nst train finds it)")
    return p


def main(argv=None, prog=PROG):
    try:
        args = build_parser(prog).parse_args(sys.argv[1:] if argv is None else argv)
        from nst.algorithm import (
            images,  # after the options: --help answers without TensorFlow
        )
        from nst.video import settings as video

        args.size = images.parse_size(args.size)
        defaults = (4, 10, 5) if args.quick else (FRAMES, video.FIRST_FRAME_ITERATIONS, video.FRAME_ITERATIONS)
        for name, value in zip(("frames", "first_frame_iterations", "iterations"), defaults):
            if getattr(args, name) is None:  # given, a value is kept (0 too: it is refused, not replaced)
                setattr(args, name, value)
        args.temporal_weight = video.TEMPORAL_WEIGHT if args.temporal_weight is None else args.temporal_weight
        video.check_numbers(args.temporal_weight, frames=args.frames,
                            first_frame_iterations=args.first_frame_iterations, iterations=args.iterations)
        print(f"CPU: {cpu_model()}\n{args.frames} frames at {args.size[0]}x{args.size[1]}, first frame "
              f"{args.first_frame_iterations} steps, then {args.iterations}; temporal weight {args.temporal_weight:g}"
              f"; style: the painted swirl; seed 0", flush=True)
        with tempfile.TemporaryDirectory(prefix="nst-videobench-") as workdir:
            clips = args.clips.split(",")
            if "synthetic" in clips:
                synthetic = write_frames(os.path.join(workdir, "synthetic"), synthetic_frames(args.frames))
                print("synthetic clip: matplotlib's grace_hopper.jpg panned (2, 1) px and zoomed 1 % per frame, "
                      "a disc moving 6 px per frame", flush=True)
                _, folders = measure_clip("synthetic", synthetic, args, 1, workdir)
                gallery(args.gallery, synthetic, folders)
            if "real" in clips:
                path, name, every = real_clip(workdir)
                print(f"real clip: {name}", flush=True)
                measure_clip("real", path, args, every, workdir)
            if not args.no_speed:
                print("speed:", flush=True)
                speed(args, workdir)
        return 0
    except NSTError as exc:
        from nst.commands.train import flag

        return report(prog, exc, flag)


if __name__ == "__main__":
    sys.exit(main())
