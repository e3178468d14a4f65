"""Checkpoints: everything a killed run needs to continue exactly where it was.

One ``checkpoint.npz`` per output directory, rewritten atomically at every
save point: the values of the trainable image and of the optimizer's own
variables (Adam's m and v slots and its beta powers), the number of steps
done, the cost history, the best image so far, and the run's settings
(``info``, JSON) so that ``--resume DIR`` needs nothing else. Restoring these
into a freshly built graph makes the next step compute exactly what the
uninterrupted run computed.
"""
import io
import json
import os
from typing import NamedTuple

import numpy as np

from nst.errors import NSTError
from nst.images import write_atomic
from nst.tf1 import tf

CHECKPOINT_FILE = "checkpoint.npz"


class Checkpoint(NamedTuple):
    steps: int  # Adam steps done
    history: list  # rows (iteration, J, J_content, J_style, seconds), one per step done
    best: tuple  # (J, image, iteration) of the lowest-J image seen, or None
    variables: dict  # variable name -> value
    info: dict  # the run's settings, as given to write_checkpoint


def state_variables(graph):
    """The variables whose values are the run's state: G, then the optimizer's slots and counters."""
    return [graph.model["input"]] + list(graph.optimizer.variables())


def checkpoint_bytes(graph, steps, history, best, info):
    """The .npz content of a checkpoint of ``graph`` after ``steps`` steps."""
    variables = state_variables(graph)
    values = graph.sess.run(variables)
    arrays = {f"var{i}": value for i, value in enumerate(values)}
    names = [v.op.name for v in variables]
    header = {"steps": steps, "names": names, "info": info, "best": None}
    if best is not None:
        header["best"] = {"J": best[0], "iteration": best[2]}
        arrays["best_image"] = best[1]
    arrays["history"] = np.asarray(history[:steps], np.float64).reshape(-1, 5)
    arrays["header"] = np.array(json.dumps(header))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def write_checkpoint(path, graph, steps, history, best, info):
    write_atomic(path, checkpoint_bytes(graph, steps, history, best, info))


def read_checkpoint(path):
    """Load a checkpoint, with one clear error if it is missing or damaged."""
    if not os.path.isfile(path):
        raise NSTError(f"{path}: no checkpoint to resume from (runs write one at every save point)")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["header"]))
            variables = {name: data[f"var{i}"] for i, name in enumerate(header["names"])}
            history = [(int(r[0]), *map(float, r[1:])) for r in data["history"]]
            best = header["best"] and (header["best"]["J"], data["best_image"], header["best"]["iteration"])
    except Exception as exc:  # zip, json and key errors all mean the same to the user
        raise NSTError(f"{path}: not a readable checkpoint (damaged?): {exc}") from None
    return Checkpoint(int(header["steps"]), history, best or None, variables, header["info"])


def _load(sess, variable, value):
    """Set a variable through its initializer's input: no new op in the graph."""
    sess.run(variable.initializer, {variable.initializer.inputs[1]: value})


def restore(graph, checkpoint):
    """Initialise ``graph``'s variables, then put the checkpoint's values into its state."""
    graph.sess.run(tf.global_variables_initializer())
    for variable in state_variables(graph):
        value = checkpoint.variables.get(variable.op.name)
        shape = tuple(variable.shape.as_list())
        if value is None or value.shape != shape:
            found = "missing" if value is None else f"of shape {value.shape}"
            raise NSTError(f"checkpoint does not fit this run: {variable.op.name} {shape} is {found}")
        _load(graph.sess, variable, value)

