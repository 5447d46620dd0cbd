"""The stored per-CPU results: read, checked, printed with the goals, drawn."""

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from tutorial_utils.bench import format_cpu_kinds, load_cpu_kinds, plot_cpu_kinds  # noqa: E402
from tutorial_utils.bench.measure import HACNN_GOAL, SOFT_GOAL  # noqa: E402


def test_the_stored_kinds_have_three_runs_each_and_name_the_kernel_build():
    kinds = load_cpu_kinds()
    assert [kind.kernel for kind in kinds] == ["avx2", "avx512"]
    assert all(len(kind.runs) == 3 for kind in kinds)


def test_the_table_counts_the_goals_from_the_runs(tmp_path: Path):
    entry = {
        "name": "a CPU",
        "isa": "x",
        "kernel": "portable",
        "date": "today",
        "runs": [
            {
                "soft_x_floor": SOFT_GOAL - 0.1,
                "hacnn32_x_torchreid": HACNN_GOAL + 0.1,
                "hacnn1_x_torchreid": 3.0,
            },
            {
                "soft_x_floor": SOFT_GOAL + 0.1,
                "hacnn32_x_torchreid": HACNN_GOAL - 0.1,
                "hacnn1_x_torchreid": 3.0,
                "roof_share": 0.5,
            },
        ],
    }
    path = tmp_path / "kinds.json"
    path.write_text(json.dumps({"kinds": [entry]}), encoding="utf-8")
    text = format_cpu_kinds(load_cpu_kinds(path))
    assert "the floor in 1 of 2 runs" in text and "at batch 32 in 1 of 2" in text
    assert "50%" in text and "kernel build: portable" in text


def test_a_malformed_entry_is_named(tmp_path: Path):
    path = tmp_path / "kinds.json"
    path.write_text(json.dumps({"kinds": [{"name": "a CPU", "runs": []}]}), encoding="utf-8")
    with pytest.raises(ValueError, match="kinds.json, kind 1"):
        load_cpu_kinds(path)


def test_the_figure_draws_each_run_and_both_goals():
    kinds = load_cpu_kinds()
    fig = plot_cpu_kinds(kinds)
    left, right = fig.axes
    assert sum(len(c.get_offsets()) for c in left.collections) == sum(len(k.runs) for k in kinds)
    assert [line.get_xdata()[0] for line in (left.lines[0], right.lines[0])] == [
        SOFT_GOAL,
        HACNN_GOAL,
    ]
    assert left.get_xlim()[0] == 0 and right.get_xlim()[0] == 0
