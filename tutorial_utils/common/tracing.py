"""Shape tracing: run a module once and tabulate every submodule's output shape and size."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .table import format_table


@dataclass
class TraceRow:
    name: str  # dotted submodule name, e.g. "ha1.soft_attn"
    kind: str  # class name
    shape: str  # output shape(s), e.g. "(2, 128, 40, 16)"
    params: int  # parameters of the submodule, shared ones counted once
    calls: int  # how many times it ran in the forward pass


def _describe(output: object) -> str:
    if isinstance(output, torch.Tensor):
        return str(tuple(output.shape))
    if isinstance(output, tuple | list):
        return ", ".join(_describe(o) for o in output)
    return type(output).__name__


def trace_shapes(module: nn.Module, *inputs: torch.Tensor, depth: int = 1) -> list[TraceRow]:
    """Run ``module(*inputs)`` without gradients and return one row per submodule up to ``depth``.

    Rows come in the order the modules first run. depth=1 lists direct children, depth=2
    their children too. A module that runs several times (HA-CNN's shared local convs run
    once per region) is one row with its call count.
    """
    rows: dict[str, TraceRow] = {}
    started: dict[str, int] = {}  # first-call order: parents start before their children
    handles = []

    def pre_hook_for(name: str):
        def pre_hook(_mod: nn.Module, _inp: object) -> None:
            started.setdefault(name, len(started))

        return pre_hook

    def hook_for(name: str, sub: nn.Module):
        def hook(_mod: nn.Module, _inp: object, out: object) -> None:
            if name in rows:
                rows[name].calls += 1
            else:
                params = sum(p.numel() for p in sub.parameters())
                rows[name] = TraceRow(name, type(sub).__name__, _describe(out), params, 1)

        return hook

    for name, sub in module.named_modules():
        if name and name.count(".") < depth:
            handles.append(sub.register_forward_pre_hook(pre_hook_for(name)))
            handles.append(sub.register_forward_hook(hook_for(name, sub)))
    try:
        with torch.no_grad():
            output = module(*inputs)
    finally:
        for h in handles:
            h.remove()
    ordered = sorted(rows.values(), key=lambda row: started[row.name])
    ordered.append(
        TraceRow(
            "(output)",
            type(module).__name__,
            _describe(output),
            sum(p.numel() for p in module.parameters()),
            1,
        )
    )
    return ordered


def format_trace(rows: list[TraceRow]) -> str:
    """A fixed-width text table of trace rows (stable text, so nbval can compare it)."""
    header = ("module", "type", "output shape", "params", "calls")
    cells = [(r.name, r.kind, r.shape, f"{r.params:,}", str(r.calls)) for r in rows]
    return format_table(header, cells, align="lllrr")


def print_shapes(module: nn.Module, *inputs: torch.Tensor, depth: int = 1) -> None:
    """Print the shape table of ``module`` run on ``inputs``."""
    print(format_trace(trace_shapes(module, *inputs, depth=depth)))


def count_parameters(module: nn.Module, exclude_prefixes: tuple[str, ...] = ()) -> int:
    """Number of distinct parameters, skipping those whose name starts with a prefix."""
    return sum(
        p.numel() for name, p in module.named_parameters() if not name.startswith(exclude_prefixes)
    )
