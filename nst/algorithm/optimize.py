"""The paper's step 5 as generators: each optimizer yields one :class:`Step` per G it reaches.

``for step in Adam(graph).steps(G0, 200)`` is the whole optimisation; what is
printed, saved or plotted is up to whoever iterates (``nst.run`` has the
consumers the command line uses; the notebook keeps a few snapshots). Stopping
early is just leaving the loop.

A step of Adam is one ``sess.run`` that applies the update and fetches J,
J_content, J_style and G as the update read it: the forward pass computes the
costs anyway, so the record is free. Row *i* therefore holds G after *i*
updates while the variable already holds G after *i + 1*; the last row, after
the last update, costs one more run. L-BFGS (scipy's L-BFGS-B, the optimizer of
Gatys et al.'s own code) asks for J and its gradient at points of its
choosing; it runs in a helper thread that hands each accepted iterate over and
waits, so it is consumed the same way.
"""
import queue
import threading
import time
from typing import (TYPE_CHECKING, Dict, Iterator, List, Mapping, NamedTuple, Optional, Sequence, Tuple, Type, Union,
                    cast)

import numpy as np

from nst.algorithm.images import VGG_MEAN
from nst.algorithm.tf1 import Tensor, tf

if TYPE_CHECKING:  # for the annotations only: an optimizer runs without importing the graph module
    from nst.algorithm.graph import StyleTransferGraph


class Step(NamedTuple):
    """One G of the optimisation and its costs."""

    iteration: int  # optimizer steps (Adam) or iterations (L-BFGS) done to reach this G
    J: float
    J_content: float
    J_style: float
    J_tv: Optional[float]  # None when the graph has no total-variation term
    seconds: float  # since the run started (continued across a resume)
    image: np.ndarray  # this G, (1, H, W, 3), normalised
    J_temporal: Optional[float] = None  # only in a video's graph (nst.algorithm.temporal)


OPTIONAL_COSTS = ("J_tv", "J_temporal")  # nodes a graph may have; a Step's field each


def history_columns(*optional: str) -> Tuple[str, ...]:
    """A cost history's columns, in the order of its files: the step, the costs (``optional`` ones
    among them, e.g. "J_tv"), the seconds."""
    return ("iteration", "J", "J_content", "J_style", *optional, "seconds")


def optional_costs(graph: "StyleTransferGraph") -> Tuple[str, ...]:
    """The names of the optional cost nodes this graph has."""
    return tuple(name for name in OPTIONAL_COSTS if getattr(graph, name, None) is not None)


def cost_nodes(graph: "StyleTransferGraph") -> List[Tensor]:
    """J, J_content, J_style (and J_tv, J_temporal when the graph has them): what a step records."""
    return [graph.J, graph.J_content, graph.J_style] + [getattr(graph, name) for name in optional_costs(graph)]


def _step(iteration, costs, seconds, image, optional):
    extra = dict(zip(optional, (float(c) for c in costs[3:])))
    return Step(iteration, float(costs[0]), float(costs[1]), float(costs[2]), extra.get("J_tv"), seconds, image,
                extra.get("J_temporal"))


def measure(graph: "StyleTransferGraph", iteration: int, seconds: float = 0.0) -> Step:
    """The :class:`Step` of the G now in the input variable (one session run)."""
    *costs, image = graph.sess.run(cost_nodes(graph) + [graph.model["input"]])
    return _step(iteration, costs, seconds, image, optional_costs(graph))


class Adam:
    """The course's optimizer: the graph's ``train_step``, one update per step."""

    name, label, unit, resumable = "adam", "Adam", "step", True

    def __init__(self, graph: "StyleTransferGraph") -> None:
        self.graph = graph

    def steps(self, start_image: np.ndarray, iterations: int, first: int = 0, elapsed: float = 0.0
              ) -> Iterator[Step]:
        """Yield G after ``first`` .. ``iterations`` updates.

        With ``first`` 0 the optimizer is reset and G set to ``start_image``;
        otherwise the state was restored (:meth:`restore`) and ``elapsed``
        seconds were already spent.
        """
        graph = self.graph
        if first == 0:
            graph.initialize(start_image)
        fetches = [graph.train_step, graph.model["G"]] + cost_nodes(graph)
        optional = optional_costs(graph)
        start = time.perf_counter() - elapsed
        for iteration in range(first, iterations):
            # G as the update read it comes with the update's own run: no extra fetch
            _, before, *costs = graph.sess.run(fetches)
            yield _step(iteration, costs, time.perf_counter() - start, before, optional)
        yield measure(graph, iterations, time.perf_counter() - start)

    def state(self, step: Step, last: bool = False) -> Tuple[int, Dict[str, np.ndarray]]:
        """(updates applied, {variable name: value}) of the optimisation just after it yielded ``step``.

        Each step but the ``last`` has already applied the next update.
        """
        variables = self.state_variables()
        values = self.graph.sess.run(variables)
        return step.iteration + (not last), {v.op.name: value for v, value in zip(variables, values)}

    def state_variables(self) -> List[Tensor]:
        """G, then Adam's slots and counters: all a resumed run needs to go on exactly."""
        return [self.graph.model["input"]] + list(self.graph.optimizer.variables())

    def restore(self, variables: Mapping[str, np.ndarray]) -> None:
        """Put saved values into the state; the variables must all be there, with their shapes."""
        sess = self.graph.sess
        sess.run(self.graph.reset)
        for variable in self.state_variables():
            value = variables.get(variable.op.name)
            shape = tuple(variable.shape.as_list())
            if value is None or tuple(value.shape) != shape:
                found = "missing" if value is None else f"of shape {tuple(value.shape)}"
                raise ValueError(f"{variable.op.name} {shape} is {found}")
            # through the initializer's input: no new op in the graph
            sess.run(variable.initializer, {variable.initializer.inputs[1]: value})


class Objective:
    """J and its gradient as a function of the flat float64 image scipy works on."""

    def __init__(self, graph: "StyleTransferGraph", gradient: Tensor) -> None:
        self.graph, self.gradient = graph, gradient
        self.shape = graph.model["input"].shape.as_list()
        self.costs, self.optional = cost_nodes(graph), optional_costs(graph)
        self.evaluations = 0
        self.last_x: Optional[np.ndarray] = None  # the last point evaluated and its costs
        self.last: Optional[Tuple[float, ...]] = None

    def __call__(self, x: np.ndarray) -> Tuple[float, np.ndarray]:
        self.graph.assign_input(self.image(x))
        *costs, grad = self.graph.sess.run(self.costs + [self.gradient])
        self.evaluations += 1
        self.last_x, self.last = x.copy(), tuple(float(c) for c in costs)
        return self.last[0], grad.astype(np.float64).ravel()

    def image(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape).astype(np.float32)

    def costs_at(self, x: np.ndarray) -> Tuple[float, ...]:
        """The costs at ``x``: from the last evaluation when it was there (the usual case)."""
        if self.last_x is None or not np.array_equal(x, self.last_x):
            self(x)
        return cast(Tuple[float, ...], self.last)  # self(x) above set it when it was not there


def pixel_bounds(shape: Sequence[int], mean_pixel: np.ndarray = VGG_MEAN) -> List[Tuple[float, float]]:
    """Per-value (low, high) so that G + mean stays a valid 0..255 picture."""
    mean = np.broadcast_to(np.asarray(mean_pixel, np.float64), shape).ravel()
    return list(zip(-mean, 255.0 - mean))


class LBFGS:
    """The paper's optimizer: scipy's L-BFGS-B on the graph's J and gradient, pixels kept in 0..255.

    It keeps its curvature memory in scipy, not in the graph, so a run cannot
    be checkpointed and resumed; :meth:`state` holds G alone.
    """

    name, label, unit, resumable = "lbfgs", "L-BFGS", "iteration", False

    def __init__(self, graph: "StyleTransferGraph", mean_pixel: np.ndarray = VGG_MEAN) -> None:
        self.graph, self.mean_pixel = graph, mean_pixel
        self.gradient = tf.gradients(graph.J, graph.model["input"])[0]  # once: a video runs many frames

    def steps(self, start_image: np.ndarray, iterations: int, first: int = 0, elapsed: float = 0.0
              ) -> Iterator[Step]:
        """Yield G at the start and after each iteration, up to ``iterations``."""
        if first:
            raise ValueError("an L-BFGS run cannot be resumed: its curvature memory is not saved")
        objective, start = Objective(self.graph, self.gradient), time.perf_counter()
        yield _step(0, objective.costs_at(start_image.astype(np.float64).ravel()), 0.0, start_image,
                    objective.optional)
        handover = _Handover()
        worker = threading.Thread(target=handover.run, daemon=True,
                                  args=(self._minimize, objective, start_image, iterations, start))
        worker.start()
        try:
            yield from handover.items()
        finally:
            handover.stop()
            worker.join()

    def _minimize(self, objective, start_image, iterations, start, accept):
        """Run scipy to the end; ``accept(step)`` gets each iterate and returns False to stop.

        Returns the step of the point scipy ended at when no iteration reported
        it (a failed line search, say), else None. G is left in the input.
        """
        import scipy.optimize  # a third of a second: here, not where a command's --help imports this module

        reported = [0, None]  # iterations reported, the last point

        def callback(xk):
            reported[:] = reported[0] + 1, xk.copy()
            step = _step(reported[0], objective.costs_at(xk), time.perf_counter() - start, objective.image(xk),
                         objective.optional)
            if not accept(step):
                raise StopIteration  # scipy ends the run and returns the current point

        result = scipy.optimize.minimize(
            objective, start_image.astype(np.float64).ravel(), jac=True, method="L-BFGS-B",
            bounds=pixel_bounds(start_image.shape, self.mean_pixel), callback=callback,
            options={"maxiter": iterations, "maxcor": 20, "maxfun": 2 * iterations + 20})
        self.graph.assign_input(objective.image(result.x))
        if reported[1] is not None and np.array_equal(result.x, reported[1]):
            return None
        return _step(reported[0] + 1, objective.costs_at(result.x), time.perf_counter() - start,
                     objective.image(result.x), objective.optional)

    def state(self, step: Step, last: bool = False) -> Tuple[int, Dict[str, np.ndarray]]:
        """(iterations done, {input: G}): G alone, as the curvature memory cannot be saved."""
        return step.iteration, {self.graph.model["input"].op.name: step.image}


class _Handover:
    """Lets a callback-driven optimizer in a thread be consumed as a generator, one item at a time."""

    _END = object()

    def __init__(self):
        self.items_queue, self.go_on = queue.Queue(), threading.Semaphore(0)
        self.stopped = False

    def accept(self, item):
        """In the worker: hand ``item`` over and wait until it was consumed; False: stop."""
        self.items_queue.put(item)
        self.go_on.acquire()
        return not self.stopped

    def run(self, minimize, *args):
        try:
            self.items_queue.put((self._END, minimize(*args, self.accept)))
        except BaseException as exc:  # handed to the consumer's thread, raised there
            self.items_queue.put((self._END, exc))

    def items(self):
        """Each item the worker hands over, then what it returned (unless None); its error is raised."""
        while True:
            item = self.items_queue.get()
            if not (isinstance(item, tuple) and item[0] is self._END):
                yield item
                self.go_on.release()
                continue
            if isinstance(item[1], BaseException):
                raise item[1]
            if item[1] is not None:
                yield item[1]
            return

    def stop(self):
        """The consumer left: let the worker finish its current evaluation and end."""
        self.stopped = True
        self.go_on.release()


# a setting's name -> its optimizer
OPTIMIZERS: Dict[str, Union[Type[Adam], Type[LBFGS]]] = {"adam": Adam, "lbfgs": LBFGS}
