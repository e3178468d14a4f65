"""The step-through notebook runs top to bottom, small, and the committed copy carries its outputs.

It runs on the real weights when NST_VGG19 is set, on tiny synthetic ones
otherwise. The committed file is only read: a copy executes in memory, in a
temporary folder.
"""
import json
import os

import pytest

from helpers import REAL_WEIGHTS, require
from synthetic_vgg import write_vgg_mat

nbformat = require("nbformat")  # the test extra: missing, these tests fail
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOTEBOOK = os.path.join(ROOT, "notebooks", "neural_style_transfer.ipynb")
SIZE, ITERATIONS = (48, 64), 4
# Appended to the copy only: what the test checks, as one JSON line.
PROBE = """import json
print(json.dumps({"J_initial": float(J_initial), "J_built": float(J_built),
                  "history": [[s.iteration, s.J] for s in history], "snapshots": sorted(snapshots),
                  "shape": list(G.shape)}))"""


def images_in(cell):
    return sum("image/png" in out.get("data", {}) for out in cell.get("outputs", []))


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    from nbclient import NotebookClient

    folder = tmp_path_factory.mktemp("notebook")
    weights = REAL_WEIGHTS if REAL_WEIGHTS and os.path.exists(REAL_WEIGHTS) else str(folder / "tiny.mat")
    if weights != REAL_WEIGHTS:
        write_vgg_mat(weights)
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE))
    env = dict(os.environ, NST_VGG19=weights, NST_NB_SIZE=f"{SIZE[0]}x{SIZE[1]}",
               NST_NB_ITERATIONS=str(ITERATIONS),
               PYTHONPATH=os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")])))
    client = NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute(env=env)  # the kernel gets this environment and runs in the temporary folder
    return nb


def test_notebook_runs_and_its_numbers_hold(executed):
    probe = json.loads(executed.cells[-1].outputs[0]["text"])
    history = probe["history"]
    assert [row[0] for row in history] == list(range(ITERATIONS + 1))
    assert history[-1][1] < history[0][1]  # Adam lowered J
    assert probe["J_built"] == pytest.approx(probe["J_initial"], rel=1e-4)  # by hand == build_graph
    assert history[0][1] == pytest.approx(probe["J_initial"], rel=1e-4)  # step 0 is the initial G
    assert probe["snapshots"] == list(range(ITERATIONS + 1))  # every = max(1, 4 // 5)
    assert probe["shape"] == [1, *SIZE, 3]
    figures = [images_in(cell) for cell in executed.cells]
    assert sum(figures) == 6  # C S G; activations; Gram matrices; snapshots; costs; C + S = G
    assert not any(out.get("output_type") == "error" for cell in executed.cells for out in cell.get("outputs", []))


def test_committed_notebook_carries_the_outputs_of_a_full_run():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert [cell.execution_count for cell in code] == list(range(1, len(code) + 1))  # one clean run, in order
    assert sum(images_in(cell) for cell in code) == 6
    text = "".join(out.get("text", "") for cell in code for out in cell.outputs)
    assert ".mat" not in text and "/shared/" not in text  # no path of the weights leaks into the repository
