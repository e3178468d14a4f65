"""The paper's step 5 as generators: each optimizer yields one :class:`Step` per G it reaches.

``for step in Adam(graph).steps(G0, 200)`` is the whole optimisation; what is
printed, saved or plotted is up to whoever iterates (``nst.run`` has the
consumers the command line uses; the notebook keeps a few snapshots). Stopping
early is just leaving the loop.

A step of Adam is one ``sess.run`` that applies the update and fetches J,
J_content, J_style and G as the update read it: the forward pass computes the
costs anyway, so the record is free. Row *i* therefore holds G after *i*
updates while the variable already holds G after *i + 1*; the last row, after
the last update, costs one more run. L-BFGS (the optimizer of Gatys et al.'s own
code; :mod:`nst.algorithm.lbfgs`) asks for J and its gradient at points of its
choosing and yields each accepted iterate, so it is consumed the same way; both
resume exactly from their state.
"""
import itertools
import time
from typing import TYPE_CHECKING, Dict, Iterator, List, Mapping, NamedTuple, Optional, Tuple, Type, Union

import numpy as np

from nst.algorithm import lbfgs
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


def tiled(graph: "StyleTransferGraph") -> bool:
    """Whether ``graph`` computes J tile by tile (nst.algorithm.tiled): its costs are not nodes to run."""
    return hasattr(graph, "value_and_gradient")


def measure(graph: "StyleTransferGraph", iteration: int, seconds: float = 0.0) -> Step:
    """The :class:`Step` of the G now in the input variable (one session run)."""
    if tiled(graph):
        costs, image = graph.evaluate()  # type: ignore[attr-defined]
    else:
        *costs, image = graph.sess.run(cost_nodes(graph) + [graph.model["input"]])
    return _step(iteration, costs, seconds, image, optional_costs(graph))


def updater(graph):
    """callable() -> (G as the update read it, its costs): one Adam update of ``graph``."""
    if tiled(graph):
        return graph.update
    fetches = [graph.train_step, graph.model["G"]] + cost_nodes(graph)

    def update():
        # G as the update read it comes with the update's own run: no extra fetch
        _, before, *costs = graph.sess.run(fetches)
        return before, costs
    return update


class Adam:
    """The course's optimizer: the graph's ``train_step``, one update per step."""

    name, label, unit = "adam", "Adam", "step"

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
        update, optional = updater(graph), optional_costs(graph)
        start = time.perf_counter() - elapsed
        for iteration in range(first, iterations):
            before, costs = update()
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
    """J, its gradient and the recorded costs as a function of the flat float32 image L-BFGS works on."""

    def __init__(self, graph: "StyleTransferGraph", gradient: Optional[Tensor]) -> None:
        self.graph, self.gradient = graph, gradient
        self.shape = graph.model["input"].shape.as_list()
        self.costs, self.optional = cost_nodes(graph), optional_costs(graph)
        self.evaluations = 0

    def __call__(self, x: np.ndarray) -> Tuple[float, np.ndarray, Tuple[float, ...]]:
        if self.gradient is None:  # tiled
            costs, grad = self.graph.value_and_gradient(self.image(x))  # type: ignore[attr-defined]
        else:
            self.graph.assign_input(self.image(x))
            *costs, grad = self.graph.sess.run(self.costs + [self.gradient])
        self.evaluations += 1
        return float(costs[0]), grad.ravel(), tuple(float(c) for c in costs)

    def image(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(self.shape).astype(np.float32, copy=False)


class LBFGS:
    """The paper's optimizer: L-BFGS (:mod:`nst.algorithm.lbfgs`) on the graph's J and gradient.

    Its whole state is G, the gradient and the last ``memory`` curvature pairs, so a run checkpoints
    and resumes exactly, as Adam's does. ``line_search`` "wolfe" searches each step (as scipy's
    L-BFGS-B); "fixed" takes torch's unit steps (as jcjohnson/neural-style). Pixels are not bounded
    (neither are torch's): the saved picture is clipped to 0..255.
    """

    name, label, unit = "lbfgs", "L-BFGS", "iteration"
    PREFIX = "lbfgs/"  # of its state's names in a checkpoint

    def __init__(self, graph: "StyleTransferGraph", memory: int = lbfgs.MEMORY,
                 line_search: str = lbfgs.LINE_SEARCHES[0]) -> None:
        self.graph, self.memory, self.line_search = graph, memory, line_search
        # once: a video runs many frames; a tiled graph computes it itself
        self.gradient = None if tiled(graph) else tf.gradients(graph.J, graph.model["input"])[0]
        self.current: Optional[lbfgs.State] = None  # the state of the last step yielded
        self.restored: Optional[Mapping[str, np.ndarray]] = None

    def steps(self, start_image: np.ndarray, iterations: int, first: int = 0, elapsed: float = 0.0
              ) -> Iterator[Step]:
        """Yield G at ``first`` (the start, or the restored state) and after each iteration, up to ``iterations``.

        It may end earlier, when no step lowers J any more.
        """
        objective = Objective(self.graph, self.gradient)
        clock = time.perf_counter() - elapsed
        if first:
            if self.restored is None:
                raise ValueError("restore() the state before resuming an L-BFGS run")
            state = lbfgs.from_arrays(first, self.restored)
        else:
            state = lbfgs.start(objective, start_image)
        for state in itertools.chain([state], lbfgs.iterate(objective, state, iterations, self.memory,
                                                            self.line_search)):
            self.current = state
            yield _step(state.iteration, state.costs, time.perf_counter() - clock, objective.image(state.x),
                        objective.optional)
        self.graph.assign_input(objective.image(state.x))

    def state(self, step: Step, last: bool = False) -> Tuple[int, Dict[str, np.ndarray]]:
        """(iterations done, the L-BFGS state's arrays) just after it yielded ``step``."""
        assert self.current is not None and self.current.iteration == step.iteration
        return step.iteration, {self.PREFIX + name: value for name, value in self.current.arrays().items()}

    def restore(self, variables: Mapping[str, np.ndarray]) -> None:
        """Keep a saved state for :meth:`steps` (with its ``first``); ValueError if it is not this graph's."""
        arrays = {name[len(self.PREFIX):]: value for name, value in variables.items()
                  if name.startswith(self.PREFIX)}
        missing = [name for name in ("x", "g", "s", "y", "f_costs") if name not in arrays]
        if missing:
            raise ValueError(f"{self.PREFIX}{missing[0]} is missing (an L-BFGS checkpoint of an older version?)")
        size = int(np.prod(self.graph.model["input"].shape.as_list()))
        state = lbfgs.from_arrays(1, arrays)
        if state.x.size != size:
            raise ValueError(f"{self.PREFIX}x has {state.x.size} values, G has {size}")
        if len(state.costs) != len(cost_nodes(self.graph)):
            raise ValueError(f"{self.PREFIX}f_costs records {len(state.costs)} costs, this graph has "
                             f"{len(cost_nodes(self.graph))}")
        self.restored = arrays


# a setting's name -> its optimizer
OPTIMIZERS: Dict[str, Union[Type[Adam], Type[LBFGS]]] = {"adam": Adam, "lbfgs": LBFGS}
