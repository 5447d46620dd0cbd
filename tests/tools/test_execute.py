"""tools.execute runs a notebook top to bottom in a fresh kernel and stores its outputs."""

import nbformat
import pytest

from tools.execute import execute, main


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
