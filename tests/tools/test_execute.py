"""tools.execute runs a notebook top to bottom in a fresh kernel and stores its outputs."""

import base64

import nbformat
import pytest

from tools.execute import execute, main
from tools.widget_state import (
    WIDGET_STATE,
    explorer_problems,
    first_picture,
    read_view,
    stored_state,
    widget_views,
)


def _notebook(path, sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)


def test_outputs_and_counts_are_stored_in_order(tmp_path):
    path = tmp_path / "tiny.ipynb"
    _notebook(path, ["x = 20 + 1", "print(x * 2)"])
    seconds, _ = execute(path, timeout=120)
    nb = nbformat.read(path, as_version=4)
    assert [c.execution_count for c in nb.cells] == [1, 2]
    assert nb.cells[1].outputs[0]["text"] == "42\n"
    assert seconds > 0


def test_a_failing_cell_stops_the_run(tmp_path):
    path = tmp_path / "bad.ipynb"
    _notebook(path, ["raise ValueError('boom')", "print('never')"])
    with pytest.raises(Exception, match="boom"):
        execute(path, timeout=120)


def test_a_missing_notebook_is_named(tmp_path, capsys):
    with pytest.raises(FileNotFoundError, match="no notebook at .*missing.ipynb"):
        main([str(tmp_path / "missing.ipynb")])


EXPLORER = """\
import ipywidgets as widgets
import matplotlib.pyplot as plt


def show(k):
    plt.figure(figsize=(2, 2))
    plt.plot([0, k], [0, k])
    plt.show()


widgets.interact(show, k=widgets.IntSlider(value=3, min=1, max=9, description="kernel"));
"""


def test_the_explorer_is_saved_with_its_state_and_first_picture(tmp_path):
    path = tmp_path / "explorer.ipynb"
    _notebook(path, ["%matplotlib inline", EXPLORER])
    nb = nbformat.read(path, as_version=4)
    nb.metadata["widgets"] = {WIDGET_STATE: {"state": {"stale": {}}}}  # from an earlier run
    nbformat.write(nb, path)

    execute(path, timeout=120)

    nb = nbformat.read(path, as_version=4)
    state = stored_state(nb)
    assert "stale" not in state
    assert explorer_problems(nb) == []
    (view,) = widget_views(nb.cells[1])
    saved = read_view(view["model_id"], state)
    assert saved.controls == {"kernel": "3"}
    png = nb.cells[1].outputs[0]["data"]["image/png"]
    assert png == first_picture(saved) and base64.b64decode(png).startswith(b"\x89PNG")
