"""Time to quality: ``nst bench --time-to-quality``, presets compared by the wall time they take to reach
a fixed objective's target, on the CPU named in the output.

The objective is the reference preset's (``jcjohnson``: jcjohnson/neural-style's, in float32) at each size,
and the target is the J its own full run reaches there (1000 L-BFGS iterations). Every preset runs as
``nst train --preset NAME --max-side SIDE --seed 0`` would, through the run layer, timed from the start of
the run (smaller levels and graph builds included). A preset that optimises that very objective is traced
step by step (the time its J first reaches the target); any other (another objective, bfloat16) has its
final image scored on the objective, once, at the end.
"""
import os
import time
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from nst.run import presets
from nst.run.consumers import Consumer

REFERENCE = "jcjohnson"


class Outcome(NamedTuple):
    preset: str
    side: int
    size: Tuple[int, int]
    seconds: float  # the whole run
    J: float  # of the final image, on the reference objective
    reached: Optional[float]  # seconds to the target; None: not reached (or not traced and above it)
    trace: List[Tuple[float, float]]  # (seconds, J on the objective) per step, when the preset optimises it
    image: Any  # the final G, normalised (1, H, W, 3)
    picture: Any  # the final image as saved: uint8 (H, W, 3)


class Trace(Consumer):
    """(seconds since ``start``, J) of each step."""

    def __init__(self, start):
        self.start, self.points = start, []

    def step(self, step):
        self.points.append((time.perf_counter() - self.start, step.J))


def config_of(preset: str, side: int, content: Optional[str], style: Optional[str], **given):
    """The run a user gets from ``nst train --preset PRESET --max-side SIDE --seed 0`` (nothing written)."""
    settings = dict(max_side=side, seed=0, output=None, quiet=True, **given)
    if content:
        settings["content"] = content
    if style:
        settings["style"] = (style,)
    return presets.config(preset, **settings)


def score(image, objective_config) -> float:
    """J of ``image`` (normalised, G's size) on the objective of ``objective_config``, in a graph of its own."""
    from nst.algorithm.graph import build_graph
    from nst.run.loop import session
    from nst.run.problem import prepare

    problem = prepare(objective_config)
    with session() as sess:
        graph = build_graph(sess, problem.weights, problem.C, problem.S, problem.costs, problem.config.style_blend,
                            guides=problem.guides)
        graph.assign_input(image)
        return float(graph.costs()[0])


def measure(preset: str, side: int, content: Optional[str], style: Optional[str], target: Optional[float],
            vgg: Optional[str] = None, **given) -> Outcome:
    """Run ``preset`` at ``side`` and score it against ``target`` (None: this run makes the target)."""
    from nst.run.loop import run_style_transfer
    from nst.run.problem import prepare

    config = config_of(preset, side, content, style, vgg=vgg, **given)
    objective = config_of(REFERENCE, side, content, style, vgg=vgg)
    start = time.perf_counter()
    trace = Trace(start)
    result = run_style_transfer(config, consumers=[trace])
    seconds = time.perf_counter() - start
    same = config.costs() == objective.costs() and not config.preserve_colors
    J = trace.points[-1][1] if same else score(result.image, objective)
    limit = J if target is None else target
    reached = next((t for t, j in trace.points if j <= limit), None) if same else (seconds if J <= limit else None)
    return Outcome(preset, side, tuple(result.image.shape[1:3]), seconds, J, reached,
                   trace.points if same else [], result.image, prepare(config).picture(result.image))


def table(names: Sequence[str], sides: Sequence[int], content: Optional[str], style: Optional[str],
          vgg: Optional[str] = None, say=print) -> Dict[int, List[Outcome]]:
    """Each preset at each side, the reference first (its J is the target); a line per run as it ends."""
    say(f"objective and target: {REFERENCE}'s, its full run's J")
    order = [REFERENCE] + [n for n in names if n != REFERENCE]
    outcomes: Dict[int, List[Outcome]] = {}
    for side in sides:
        target = None
        for name in order:
            outcome = measure(name, side, content, style, target, vgg)
            target = outcome.J if target is None else target
            outcomes.setdefault(side, []).append(outcome)
            say(line(outcome, target))
    return outcomes


def line(o: Outcome, target: float) -> str:
    reached = f"{o.reached:7.1f} s" if o.reached is not None else "    never"
    return (f"{o.preset:>15} {o.size[0]}x{o.size[1]}: {o.seconds:7.1f} s in all, final J {o.J:.6g} "
            f"({o.J / target - 1:+.2%} of the target {target:.6g}), target reached at {reached}")


def plot(outcomes: Dict[int, List[Outcome]], path: str) -> None:
    """J against wall seconds of the traced runs at the largest side, the target dashed."""
    import io

    from matplotlib.figure import Figure

    from nst.algorithm.images import write_atomic

    side = max(outcomes)
    fig = Figure(figsize=(7, 4.2), dpi=100)
    ax = fig.subplots()
    for o in outcomes[side]:
        if o.trace:
            ax.plot(*zip(*o.trace), label=f"{o.preset} ({o.seconds / 60:.1f} min)", lw=1.6)
    target = outcomes[side][0].J
    ax.axhline(target, color="gray", ls="--", lw=1, label=f"target: {REFERENCE}'s final J")
    ax.set(yscale="log", ylim=(0.9 * target, 30 * target), xlabel="wall seconds (smaller levels included)",
           ylabel=f"J ({REFERENCE}'s objective)",
           title=f"Time to quality at {outcomes[side][0].size[1]}x{outcomes[side][0].size[0]}, "
                 f"{os.cpu_count()} CPU cores")
    ax.legend()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    write_atomic(path, buffer.getvalue())


def pictures(outcomes: Dict[int, List[Outcome]], path: str) -> None:
    """The final images at the largest side side by side, each titled with its wall time and J."""
    import io

    from matplotlib.figure import Figure

    from nst.algorithm.images import write_atomic

    row = outcomes[max(outcomes)]
    target = row[0].J
    height, width = row[0].picture.shape[:2]
    fig = Figure(figsize=(4 * len(row), 4 * height / width + 0.6), dpi=100)
    for ax, o in zip(fig.subplots(1, len(row), squeeze=False)[0], row):
        ax.imshow(o.picture)
        ax.set_title(f"{o.preset}: {o.seconds / 60:.1f} min\nJ {o.J:.4g} ({o.J / target - 1:+.1%})", fontsize=10)
        ax.axis("off")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    write_atomic(path, buffer.getvalue())
