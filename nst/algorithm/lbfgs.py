"""L-BFGS of the package's own, whose whole state is a few arrays: a run checkpoints between two iterations
and a resumed run computes exactly what the uninterrupted one computed.

scipy's L-BFGS-B keeps its curvature memory inside Fortran work arrays that cannot be read back in, so a
run there cannot be resumed. Here the state after iteration k is x_k, f(x_k), its gradient g_k, the costs
recorded there, and the last m pairs s_i = x_{i+1} - x_i, y_i = g_{i+1} - g_i. The next iteration reads
nothing else: the direction is the two-loop recursion over the pairs (Nocedal & Wright, *Numerical
Optimization*, Algorithm 7.4, with H_0 = (s'y / y'y) I from the newest pair), and each line search starts
afresh from that state.

Two line searches:

- ``wolfe``: a strong-Wolfe search (Algorithms 3.5 and 3.6 there, cubic interpolation in the zoom; c1 =
  1e-4, c2 = 0.9, as scipy's). The first trial is a unit step (1 / ||g|| on the first iteration, when the
  direction is the raw gradient).
- ``fixed``: torch's ``optim.lbfgs`` as jcjohnson/neural-style calls it: no line search, unit steps (the
  first min(1, 1 / |g|_1)), every step taken. One evaluation per iteration.

Arrays are float32, as the graph's input and gradient are (and as torch's are); the scalars are Python
floats. A pair whose s'y is not positive (above 1e-10) is not stored, so H stays positive definite.
"""
from typing import Callable, Iterator, NamedTuple, Optional, Tuple

import numpy as np

# x -> (f, gradient, costs): J, its gradient (same shape, float32) and what a step records at x
Function = Callable[[np.ndarray], Tuple[float, np.ndarray, tuple]]

LINE_SEARCHES = ("wolfe", "fixed")  # the first is the default
MEMORY = 20  # curvature pairs kept by default (scipy's L-BFGS-B keeps 10, torch's optim.lbfgs 100)
C1, C2 = 1e-4, 0.9  # sufficient decrease and curvature constants of the Wolfe conditions
MAX_EVALUATIONS = 20  # per line search
DTYPE = np.float32
CURVATURE_FLOOR = 1e-10  # a pair with s'y at or below this is not stored (torch's test)


class State(NamedTuple):
    """Everything the next iteration reads; :meth:`arrays` / :func:`from_arrays` for a checkpoint."""

    iteration: int
    x: np.ndarray  # flat float32
    f: float
    g: np.ndarray  # flat float32
    costs: tuple  # what the objective recorded at x
    s: np.ndarray  # (pairs, n) float32, oldest first
    y: np.ndarray  # (pairs, n) float32

    def arrays(self):
        """The state as named float arrays (the iteration is the checkpoint's step count)."""
        return {"x": self.x, "g": self.g, "s": self.s, "y": self.y,
                "f_costs": np.asarray((self.f,) + tuple(self.costs), np.float64)}


def from_arrays(iteration: int, arrays) -> State:
    """The :class:`State` of :meth:`State.arrays`; ValueError if the arrays do not fit together."""
    x, g, s, y, f_costs = (arrays[name] for name in ("x", "g", "s", "y", "f_costs"))
    n = x.shape[0]
    if x.ndim != 1 or g.shape != (n,) or s.ndim != 2 or s.shape != y.shape or s.shape[1] != n:
        raise ValueError(f"L-BFGS arrays of shapes x {x.shape}, g {g.shape}, s {s.shape}, y {y.shape} do not fit")
    if f_costs.ndim != 1 or f_costs.size < 2:
        raise ValueError("L-BFGS f_costs is not the cost at x and what was recorded there")
    f32 = DTYPE
    return State(iteration, x.astype(f32), float(f_costs[0]), g.astype(f32), tuple(float(c) for c in f_costs[1:]),
                 s.astype(f32), y.astype(f32))


def start(fun: Function, x0: np.ndarray) -> State:
    """The state at ``x0``, before any iteration (one evaluation)."""
    x = np.ascontiguousarray(x0, DTYPE).ravel()
    f, g, costs = fun(x)
    empty = np.zeros((0, x.size), DTYPE)
    return State(0, x, f, g, costs, empty, empty)


def direction(g: np.ndarray, s: np.ndarray, y: np.ndarray) -> np.ndarray:
    """-H g by the two-loop recursion over the pairs (oldest first); -g when there are none."""
    q = g.astype(DTYPE, copy=True)
    k = len(s)
    rho = [1.0 / float(np.dot(y[i], s[i])) for i in range(k)]
    a = [0.0] * k
    for i in reversed(range(k)):
        a[i] = rho[i] * float(np.dot(s[i], q))
        q -= DTYPE(a[i]) * y[i]
    if k:
        q *= DTYPE(float(np.dot(s[-1], y[-1])) / float(np.dot(y[-1], y[-1])))
    for i in range(k):
        b = rho[i] * float(np.dot(y[i], q))
        q += DTYPE(a[i] - b) * s[i]
    return -q


def iterate(fun: Function, state: State, iterations: int, memory: int = 20,
            line_search: str = "wolfe") -> Iterator[State]:
    """Yield the state after each iteration from ``state.iteration`` + 1 up to ``iterations``.

    It ends early when no step lowers J any more (a failed line search, or a zero gradient).
    """
    search = {"wolfe": _wolfe, "fixed": _fixed}[line_search]
    while state.iteration < iterations:
        p = direction(state.g, state.s, state.y)
        slope = float(np.dot(state.g, p))
        if not slope < 0:
            return  # no descent direction: the gradient is zero (or H lost its meaning)
        found = search(fun, state, p, slope)
        if found is None:
            return
        x, f, g, costs = found
        state = _advanced(state, x, f, g, costs, memory)
        yield state


def _advanced(state, x, f, g, costs, memory):
    """The state after moving to x: the new pair stored if its curvature is positive, the oldest dropped."""
    s_new, y_new = x - state.x, g - state.g
    s, y = state.s, state.y
    if float(np.dot(s_new, y_new)) > CURVATURE_FLOOR:
        s = np.concatenate([s[len(s) + 1 - memory:], s_new[None]]) if memory > 0 else s
        y = np.concatenate([y[len(y) + 1 - memory:], y_new[None]]) if memory > 0 else y
    return State(state.iteration + 1, x, f, g, costs, s, y)


def _first_trial(state, p, norm):
    """The first step length tried: 1, but at most 1/norm(g) on the first iteration (the raw gradient)."""
    return 1.0 if state.iteration else min(1.0, 1.0 / norm(state.g))


def _fixed(fun, state, p, slope):
    """torch's step: t * p with t = 1 (min(1, 1/|g|_1) before any pair), taken whatever J does."""
    t = _first_trial(state, p, lambda g: float(np.abs(g).sum()))
    x = state.x + DTYPE(t) * p
    return (x, *fun(x))


class _Point(NamedTuple):
    t: float
    x: np.ndarray
    f: float
    g: np.ndarray
    costs: tuple
    slope: float  # g . p


def _wolfe(fun, state, p, slope) -> Optional[tuple]:
    """A point along p satisfying the strong Wolfe conditions (N&W Alg. 3.5), or None after
    ``MAX_EVALUATIONS`` without one; then the best point that lowered J is taken, if any."""
    f0 = state.f
    at = _evaluator(fun, state.x, p)
    previous = _Point(0.0, state.x, f0, state.g, state.costs, slope)
    t = _first_trial(state, p, lambda g: float(np.linalg.norm(g)))
    tried = []
    for i in range(MAX_EVALUATIONS):
        point = at(t)
        tried.append(point)
        if not np.isfinite(point.f) or point.f > f0 + C1 * t * slope or (i and point.f >= previous.f):
            found = _zoom(at, f0, slope, previous, point, MAX_EVALUATIONS - i - 1, tried)
            break
        if abs(point.slope) <= -C2 * slope:
            found = point
            break
        if point.slope >= 0:
            found = _zoom(at, f0, slope, point, previous, MAX_EVALUATIONS - i - 1, tried)
            break
        previous, t = point, 4.0 * t  # still going down steeply: a longer step
    else:
        found = None
    if found is None:
        lower = [q for q in tried if np.isfinite(q.f) and q.f < f0]
        found = min(lower, key=lambda q: q.f) if lower else None
    return None if found is None else (found.x, found.f, found.g, found.costs)


def _evaluator(fun, x0, p):
    def at(t):
        x = x0 + DTYPE(t) * p
        f, g, costs = fun(x)
        return _Point(t, x, f, g, costs, float(np.dot(g, p)))
    return at


def _zoom(at, f0, slope, low, high, budget, tried):
    """N&W Alg. 3.6: shrink [low, high] (low the lower J) to a strong-Wolfe point; None if the budget ends."""
    for _ in range(budget):
        t = _cubic_minimum(low, high)
        point = at(t)
        tried.append(point)
        if not np.isfinite(point.f) or point.f > f0 + C1 * t * slope or point.f >= low.f:
            high = point
            continue
        if abs(point.slope) <= -C2 * slope:
            return point
        if point.slope * (high.t - low.t) >= 0:
            high = low
        low = point
    return None


def _cubic_minimum(a, b):
    """The minimiser of the cubic through (t, f, slope) at a and b, kept well inside the interval
    (bisection where the cubic has none there)."""
    lo, hi = min(a.t, b.t), max(a.t, b.t)
    d1 = a.slope + b.slope - 3 * (a.f - b.f) / (a.t - b.t)
    square = d1 * d1 - a.slope * b.slope
    if np.isfinite(square) and square >= 0:
        d2 = np.sign(b.t - a.t) * np.sqrt(square)
        t = b.t - (b.t - a.t) * (b.slope + d2 - d1) / (b.slope - a.slope + 2 * d2)
        margin = 0.1 * (hi - lo)
        if np.isfinite(t) and lo + margin <= t <= hi - margin:
            return float(t)
    return 0.5 * (lo + hi)
