"""One workload timed: floor, eager, optimized, compiled and C-kernel rows, side by side."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..common.batchnorm import randomize_batchnorm
from ..common.table import format_table
from ..common.timing import time_call
from ..hacnn.soft_attention import SoftAttention
from ..infer.optimize import optimize_for_inference
from .memory import memory_in_fresh_process, peak_memory_bytes
from .workloads import Workload

KERNEL_ROW = "optimized, hand-written C pass"


FLOOR_ROW = "floor: copy_ into preallocated"
CLONE_ROW = "floor: x.clone()"
EAGER_ROW = "eager (module.eval())"
OPTIMIZED_ROW = "optimized, eager ops"
COMPILED_ROW = "optimized, torch.compile"
KERNEL_ROW = "optimized, hand-written C pass"
CHECKED_ROWS = (OPTIMIZED_ROW, COMPILED_ROW, KERNEL_ROW)  # compared with the eager output
MEMORY_ROWS = {EAGER_ROW: "eager", OPTIMIZED_ROW: "optimized", KERNEL_ROW: "kernel"}


@dataclass
class Row:
    """One candidate's times (median and spread over rounds, ms) and what they mean."""

    name: str
    median_ms: float
    min_ms: float
    max_ms: float
    gb_per_s: float  # the floor's bytes (read x, write one output) over this row's time
    x_floor: float  # this row's time over the floor's
    images_per_s: float | None = None
    peak_mem_mb: float | None = None
    compile_s: float | None = None  # the first (compiling) call, not in the median
    max_abs_diff: float | None = None  # against the eager module's output


@dataclass
class Result:
    """One workload's rows, the floor's byte count and notes on rows left out."""

    name: str
    shape: tuple[int, ...]
    floor_bytes: int
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def run_workload(
    index: int,
    work: Workload,
    device: torch.device,
    rounds: int,
    quick: bool,
    memory: bool,
    use_compile: bool = True,
) -> Result:
    """Time floor, eager and optimized side by side, ``rounds`` times interleaved."""
    torch.manual_seed(0)
    model = randomize_batchnorm(work.build().eval()).to(device)
    x = torch.randn(work.shape, device=device)
    out = torch.empty_like(x)
    copy_bytes = 2 * x.numel() * x.element_size()  # read x, write a same-sized output
    optimized = optimize_for_inference(model, compile=False)
    candidates: dict[str, Callable[[], object]] = {
        FLOOR_ROW: lambda: out.copy_(x),
        CLONE_ROW: lambda: x.clone(),
        EAGER_ROW: lambda: model(x),
        OPTIMIZED_ROW: lambda: optimized(x),
    }
    notes: list[str] = []
    compile_s = None
    if use_compile:
        compile_s = _add_compiled(candidates, model, x, notes)
    if isinstance(model, SoftAttention) and device.type == "cpu":
        _add_kernel(candidates, model, x, notes)

    with torch.no_grad():
        reference = model(x)
        diffs = {
            name: float((candidates[name]() - reference).abs().max())
            for name in CHECKED_ROWS
            if name in candidates
        }
    runs = _time_rounds(candidates, rounds, quick)
    peaks = _peaks(candidates, index, x, device, quick) if memory else {}

    floor_ms = statistics.median(runs[FLOOR_ROW])
    result = Result(work.name, tuple(work.shape), copy_bytes, notes=notes)
    for name, times in runs.items():
        med = statistics.median(times)
        peak = peaks.get(name)
        result.rows.append(
            Row(
                name=name,
                median_ms=med,
                min_ms=min(times),
                max_ms=max(times),
                gb_per_s=copy_bytes / (med * 1e-3) / 1e9,
                x_floor=med / floor_ms,
                images_per_s=work.images / (med * 1e-3) if work.images else None,
                peak_mem_mb=None if peak is None else peak / 2**20,
                compile_s=compile_s if name == COMPILED_ROW else None,
                max_abs_diff=diffs.get(name),
            )
        )
    return result


def _add_compiled(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    notes: list[str],
) -> float | None:
    """Add the torch.compile row unless compiling is impossible here; returns its compile time."""
    compiled = optimize_for_inference(model, compile=True)
    with torch.no_grad():
        start = time.perf_counter()
        compiled(x)  # the first call compiles
        seconds = time.perf_counter() - start
    if not compiled.compile_info.used:
        notes.append(f"torch.compile not timed: {compiled.compile_info}")
        return None
    candidates[COMPILED_ROW] = lambda: compiled(x)
    return seconds


def _add_kernel(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    notes: list[str],
) -> None:
    """Add the hand-written C pass's row where it runs on ``x``, else say why not."""
    fused = optimize_for_inference(model, kernel=True)
    with torch.no_grad():
        fused(x)
    if fused.last_path == "kernel":
        candidates[KERNEL_ROW] = lambda: fused(x)
    else:
        notes.append(f"hand-written C pass not timed: {fused.last_path}")


def _time_rounds(
    candidates: dict[str, Callable[[], object]], rounds: int, quick: bool
) -> dict[str, list[float]]:
    """Median ms of each candidate per round; the rounds interleave, so load hurts all alike."""
    runs: dict[str, list[float]] = {name: [] for name in candidates}
    min_run_time = 0.02 if quick else 0.4
    with torch.no_grad():
        for _ in range(rounds):
            for name, fn in candidates.items():
                timing = time_call(
                    fn, label=name, warmup=1 if quick else 3, min_run_time=min_run_time
                )
                runs[name].append(timing.median_ms)
    return runs


def _peaks(
    candidates: dict[str, Callable[[], object]],
    index: int,
    x: torch.Tensor,
    device: torch.device,
    quick: bool,
) -> dict[str, int | None]:
    """Peak extra bytes of one call per row: cold in a fresh process on the CPU (not quick)."""
    peaks: dict[str, int | None] = {FLOOR_ROW: 0, CLONE_ROW: x.numel() * x.element_size()}
    for name, kind in MEMORY_ROWS.items():
        if name not in candidates:
            continue
        if device.type == "cuda" or quick:
            with torch.no_grad():
                peaks[name] = peak_memory_bytes(candidates[name], device)
        else:
            peaks[name] = memory_in_fresh_process(index, kind, quick)
    return peaks


def format_result(result: Result) -> str:
    """A plain-text table of one workload: a title line, the rows, then notes."""
    header = ("candidate", "median ms", "min-max ms", "GB/s", "x floor", "img/s", "peak MB")
    header += ("max|diff|",)
    rows = []
    notes = list(result.notes)
    for r in result.rows:
        rows.append(
            (
                r.name,
                f"{r.median_ms:.2f}",
                f"{r.min_ms:.2f}-{r.max_ms:.2f}",
                f"{r.gb_per_s:.2f}",
                f"{r.x_floor:.2f}",
                _or_dash(r.images_per_s, ".1f"),
                _or_dash(r.peak_mem_mb, ".1f"),
                _or_dash(r.max_abs_diff, ".1e"),
            )
        )
        if r.compile_s is not None:
            notes.append(f"{r.name}: its first call compiled in {r.compile_s:.1f} s (not timed)")
    title = (
        f"{result.name}  x {result.shape}  "
        f"floor bytes (read + write x) {result.floor_bytes / 1e6:.1f} MB"
    )
    table = format_table(header, rows)
    lines = [title, *("  " + line for line in table.splitlines())]
    lines.extend(f"  note: {note}" for note in notes)
    return "\n".join(lines)


def _or_dash(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
