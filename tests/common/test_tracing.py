"""Shape tracing and parameter counts."""

import torch
from torch import nn

from tutorial_utils import HACNN, count_parameters, format_trace, print_shapes, trace_shapes


def test_trace_shapes_lists_every_stage_of_hacnn():
    rows = trace_shapes(HACNN(5).eval(), torch.randn(1, 3, 160, 64))
    by_name = {r.name: r for r in rows}
    assert by_name["conv"].shape == "(1, 32, 80, 32)"
    assert by_name["ha3"].shape == "(1, 384, 10, 4), (1, 4, 2)"
    assert by_name["local_conv2"].calls == 4
    assert by_name["(output)"].shape == "(1, 1024)"
    assert by_name["inception1"].params == sum(p.numel() for p in HACNN(5).inception1.parameters())


def test_trace_depth_and_table(capsys):
    model = nn.Sequential(nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), nn.Flatten())
    rows = trace_shapes(model, torch.randn(2, 1, 5, 5), depth=2)
    assert [r.name for r in rows] == ["0", "0.0", "0.1", "1", "(output)"]
    assert rows[1].params == 20
    table = format_trace(rows)
    assert table.splitlines()[0].split() == ["module", "type", "output", "shape", "params", "calls"]
    print_shapes(model, torch.randn(2, 1, 5, 5))
    assert "(2, 18)" in capsys.readouterr().out


def test_count_parameters_skips_prefixes_and_counts_shared_ones_once():
    shared = nn.Linear(3, 4)
    model = nn.ModuleDict({"a": shared, "b": shared, "classifier": nn.Linear(4, 2)})
    assert count_parameters(model) == 3 * 4 + 4 + 4 * 2 + 2
    assert count_parameters(model, ("classifier",)) == 3 * 4 + 4
