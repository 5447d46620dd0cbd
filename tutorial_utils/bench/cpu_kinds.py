"""The defaults on each kind of x86 CPU measured so far: stored benchmark ratios, as a table
and a figure.

A speed goal holds only where it was measured. ``python -m tutorial_utils.bench`` measures the
machine it runs on; this module reads the runs kept in ``data/bench_cpu_kinds.json`` (one entry
per CPU kind, three benchmark runs each, ratios only, since the hosts' absolute speed varied), so
that a lesson can show them beside the reader's own run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..common.images import data_file
from .measure import HACNN_GOAL, SOFT_GOAL

CPU_KINDS_FILE = "bench_cpu_kinds.json"


@dataclass(frozen=True)
class BenchRun:
    """One benchmark run's ratios: soft attention over the copy floor (lower is better), HA-CNN
    over torchreid's images/s (higher is better); ``roof_share`` is the defaults' GFLOP/s at
    batch 32 as a share of a float32 matmul's, where the run printed it."""

    soft_x_floor: float
    hacnn32_x_torchreid: float
    hacnn1_x_torchreid: float
    roof_share: float | None = None


@dataclass(frozen=True)
class CpuKind:
    """One kind of CPU, the soft-attention kernel build its defaults ran, and its runs."""

    name: str
    isa: str
    kernel: str
    date: str
    runs: tuple[BenchRun, ...]
    # HA-CNN at batch 32 compiled in bfloat16 (the opt-in), x torchreid, where measured
    bfloat16_compiled_x_torchreid: float | None = None


def load_cpu_kinds(path: Path | None = None) -> list[CpuKind]:
    """The stored runs, one entry per CPU kind; ValueError naming a malformed entry."""
    path = data_file(CPU_KINDS_FILE) if path is None else path
    data = json.loads(path.read_text(encoding="utf-8"))
    kinds = []
    for index, entry in enumerate(data.get("kinds", [])):
        try:
            runs = tuple(BenchRun(**run) for run in entry["runs"])
            kind = CpuKind(
                entry["name"],
                entry["isa"],
                entry["kernel"],
                entry["date"],
                runs,
                entry.get("bfloat16_compiled_x_torchreid"),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(
                f"{path.name}, kind {index + 1}: {err}; expected name, isa, kernel, date and runs "
                "of soft_x_floor, hacnn32_x_torchreid, hacnn1_x_torchreid (roof_share optional)"
            ) from None
        if not runs:
            raise ValueError(f"{path.name}, kind {index + 1} ({kind.name}): no runs")
        kinds.append(kind)
    return kinds


def format_cpu_kinds(kinds: list[CpuKind]) -> str:
    """A table: per CPU kind, each run's ratios and how many runs met each goal."""
    lines = []
    for kind in kinds:
        lines.append(f"{kind.name} ({kind.isa}); kernel build: {kind.kernel}; {kind.date}")
        lines.append(
            f"  {'run':>3s}  {'soft x floor':>12s}  {'HA-CNN b32 x torchreid':>22s}"
            f"  {'b1 x torchreid':>14s}  {'b32 share of matmul roof':>24s}"
        )
        for number, run in enumerate(kind.runs, start=1):
            share = "-" if run.roof_share is None else f"{run.roof_share:.0%}"
            lines.append(
                f"  {number:3d}  {run.soft_x_floor:11.2f}x  {run.hacnn32_x_torchreid:21.2f}x"
                f"  {run.hacnn1_x_torchreid:13.2f}x  {share:>24s}"
            )
        soft_met = sum(run.soft_x_floor <= SOFT_GOAL for run in kind.runs)
        hacnn_met = sum(run.hacnn32_x_torchreid >= HACNN_GOAL for run in kind.runs)
        lines.append(
            f"  goals met: soft attention <= {SOFT_GOAL}x the floor in {soft_met} of "
            f"{len(kind.runs)} runs; HA-CNN >= {HACNN_GOAL}x torchreid at batch 32 in "
            f"{hacnn_met} of {len(kind.runs)}"
        )
        if kind.bfloat16_compiled_x_torchreid is not None:
            lines.append(
                "  opt-in precision='bfloat16', compiled: "
                f"{kind.bfloat16_compiled_x_torchreid:.2f}x torchreid at batch 32"
            )
    return "\n".join(lines)


def plot_cpu_kinds(kinds: list[CpuKind], fig: object = None) -> object:
    """Two panels, one dot per run and kind, with each goal as a line: soft attention over
    the copy floor (at most the goal) and HA-CNN over torchreid at batch 32 (at least it), with
    the compiled bfloat16 opt-in as an open diamond where measured. Returns the figure."""
    import matplotlib.pyplot as plt

    if fig is None:
        fig = plt.figure(figsize=(8.0, 3.4))
    axes = fig.subplots(1, 2, sharey=True)
    panels = (
        ("soft attention: x the copy floor\n(lower is faster)", "soft_x_floor", SOFT_GOAL),
        ("HA-CNN, batch 32: x torchreid\n(higher is faster)", "hacnn32_x_torchreid", HACNN_GOAL),
    )
    for ax, (title, field, goal) in zip(axes, panels, strict=True):
        high = goal
        for row, kind in enumerate(kinds):
            values = [getattr(run, field) for run in kind.runs]
            label = "defaults, one dot per run" if row == 0 else None
            ax.scatter(values, [row] * len(values), s=60, color="#0072b2", zorder=3, label=label)
            high = max(high, *values)
            bf16 = kind.bfloat16_compiled_x_torchreid
            if field == "hacnn32_x_torchreid" and bf16 is not None:
                ax.scatter(
                    [bf16],
                    [row],
                    s=80,
                    marker="D",
                    facecolor="none",
                    edgecolor="#009e73",
                    linewidth=2,
                    zorder=3,
                    label="bfloat16 opt-in, compiled",
                )
                high = max(high, bf16)
        ax.axvline(goal, color="#d55e00", linestyle="--", linewidth=2, label=f"goal {goal}x")
        ax.set_yticks(range(len(kinds)), [kind.name for kind in kinds])
        ax.set_ylim(-0.6, len(kinds) - 0.4)
        ax.set_xlim(0, high * 1.15)  # from 0: the ratios are read as lengths
        ax.set_title(title, fontsize=10)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.14), fontsize=8, ncol=2)
        ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
