"""One workload timed side by side: the floors (a copy; for HA-CNN also a matmul, the compute
roof), torchreid's own HA-CNN, eager, optimized, compiled, what the defaults give, bfloat16."""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from ..common.batchnorm import randomize_batchnorm
from ..common.seeding import with_seed
from ..common.table import format_table
from ..common.timing import time_call
from ..hacnn.model import HACNN
from ..hacnn.torchreid_reference import torchreid_twin
from ..infer.optimize import optimize_for_inference
from ..infer.soft_kernel import KERNEL_TARGETS, FusedSoftAttention, load_kernel
from .memory import memory_in_fresh_process, peak_memory_bytes
from .workloads import Workload

FLOOR_ROW = "floor: copy_ into preallocated"
CLONE_ROW = "floor: x.clone()"
ROOF_ROW = "roof: float32 matmul"  # the compute roof, timed beside HA-CNN's rows
TORCHREID_ROW = "torchreid's hacnn.py, eager"
EAGER_ROW = "eager (module.eval())"
OPTIMIZED_ROW = "optimized, eager ops"
COMPILED_ROW = "optimized, torch.compile"
DEFAULT_ROW = "optimize_for_inference(m), defaults"
BF16_ROW = "opt-in: precision=bfloat16"
KERNEL_ROW = "C kernel, {isa} build"  # the kernel's other builds this CPU runs, beside the default
CHECKED_ROWS = (OPTIMIZED_ROW, COMPILED_ROW, DEFAULT_ROW, TORCHREID_ROW)
SOFT_GOAL = 1.5  # soft attention's defaults: at most this many times the copy floor
HACNN_GOAL = 2.5  # HA-CNN's defaults: at least this many times torchreid's images/s (batch 32)
MEMORY_ROWS = {EAGER_ROW: "eager", OPTIMIZED_ROW: "optimized", DEFAULT_ROW: "default"}


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
    gflop_per_s: float | None = None  # counted FLOPs (convs, matmuls) over this row's time
    x_baseline: float | None = None  # images/s over the baseline row's (torchreid, else eager)


@dataclass
class Result:
    """One workload's rows, the floor's byte count and notes on rows left out."""

    name: str
    shape: tuple[int, ...]
    floor_bytes: int
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    baseline: str | None = None  # the row ``x_baseline`` divides by
    flops: float | None = None  # one call of the eager module, counted
    kernel_isa: str | None = None  # the build of the C kernel the defaults ran, if they did
    goals: list[str] = field(default_factory=list)  # each goal: met or not, and why


@with_seed(0, device_argument="device")  # the same weights every run; the caller's stream kept
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
    model = randomize_batchnorm(work.build().eval()).to(device)
    x = torch.randn(work.shape, device=device)
    out = torch.empty_like(x)
    copy_bytes = 2 * x.numel() * x.element_size()  # read x, write a same-sized output
    notes: list[str] = []
    candidates: dict[str, Callable[[], object]] = {
        FLOOR_ROW: lambda: out.copy_(x),
        CLONE_ROW: lambda: x.clone(),
    }
    flops = roof_flops = None
    if isinstance(model, HACNN):
        flops = counted_flops(model, x)
        roof, roof_flops = _matmul_roof(device, quick)
        candidates[ROOF_ROW] = roof
        _add_torchreid(candidates, model, x, notes)
    candidates[EAGER_ROW] = lambda: model(x)
    optimized = optimize_for_inference(model, compile=False, kernel=False)
    candidates[OPTIMIZED_ROW] = lambda: optimized(x)
    compile_s = None
    if use_compile and not isinstance(model, HACNN):
        compile_s = _add_compiled(candidates, model, x, notes)
    kernel_isa = _add_default(candidates, model, x, notes, use_compile)
    if kernel_isa is not None:
        _add_kernel_builds(candidates, model, x, kernel_isa)
    if isinstance(model, HACNN) and device.type == "cpu":
        _add_bfloat16(candidates, model, x, notes, use_compile)

    with torch.no_grad():
        reference = model(x)
        diffs = {
            name: float((candidates[name]() - reference).abs().max())
            for name in candidates
            if name in CHECKED_ROWS or name.startswith(KERNEL_ROW.split("{")[0])
        }
    runs = _time_rounds(candidates, rounds, quick)
    peaks = _peaks(candidates, index, x, device, quick) if memory else {}

    floor_ms = statistics.median(runs[FLOOR_ROW])
    baseline = TORCHREID_ROW if TORCHREID_ROW in runs else EAGER_ROW
    baseline_ms = statistics.median(runs[baseline])
    result = Result(work.name, tuple(work.shape), copy_bytes, notes=notes, flops=flops)
    result.baseline = baseline if work.images else None
    result.kernel_isa = kernel_isa
    for name, times in runs.items():
        med = statistics.median(times)
        peak = peaks.get(name)
        is_roof = name == ROOF_ROW
        row_flops = roof_flops if is_roof else (None if name in (FLOOR_ROW, CLONE_ROW) else flops)
        counts_images = bool(work.images) and name not in (FLOOR_ROW, CLONE_ROW, ROOF_ROW)
        result.rows.append(
            Row(
                name=name,
                median_ms=med,
                min_ms=min(times),
                max_ms=max(times),
                gb_per_s=copy_bytes / (med * 1e-3) / 1e9,
                x_floor=med / floor_ms,
                images_per_s=work.images / (med * 1e-3) if counts_images else None,
                peak_mem_mb=None if peak is None else peak / 2**20,
                compile_s=compile_s if name == COMPILED_ROW else None,
                max_abs_diff=diffs.get(name),
                gflop_per_s=None if row_flops is None else row_flops / (med * 1e-3) / 1e9,
                x_baseline=baseline_ms / med if counts_images else None,
            )
        )
    result.goals = goal_lines(result)
    return result


def counted_flops(model: torch.nn.Module, x: torch.Tensor) -> float:
    """FLOPs of one eager call as torch's FlopCounterMode counts them (convs, matmuls)."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(x)
    return float(counter.get_total_flops())


def _matmul_roof(device: torch.device, quick: bool) -> tuple[Callable[[], object], float]:
    """A square float32 matrix product (2048, or 256 when quick) and its FLOPs: the roof."""
    size = 256 if quick else 2048
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    product = torch.empty(size, size, device=device)
    return (lambda: torch.mm(a, b, out=product)), 2.0 * size**3


def _add_torchreid(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    notes: list[str],
) -> None:
    """torchreid's own HA-CNN with the same weights, where its hacnn.py is at hand."""
    try:
        twin = torchreid_twin(model).to(x.device)
    except (FileNotFoundError, RuntimeError, TypeError, AttributeError) as error:
        reason = str(error).splitlines()[0][:200]
        notes.append(f"torchreid row not timed ({reason}); x base is the eager row")
        return

    def run_twin() -> torch.Tensor:
        with warnings.catch_warnings():  # its F.upsample is deprecated; said once is enough
            warnings.simplefilter("ignore")
            return twin(x)

    candidates[TORCHREID_ROW] = run_twin


def _add_compiled(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    notes: list[str],
) -> float | None:
    """Add the torch.compile row unless compiling is impossible here; returns its compile time."""
    compiled = optimize_for_inference(model, compile=True, kernel=False)
    with torch.no_grad():
        start = time.perf_counter()
        compiled(x)  # the first call compiles
        seconds = time.perf_counter() - start
    if not compiled.compile_info.used:
        notes.append(f"torch.compile not timed: {compiled.compile_info}")
        return None
    candidates[COMPILED_ROW] = lambda: compiled(x)
    return seconds


def _add_default(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    notes: list[str],
    use_compile: bool,
) -> str | None:
    """What a user gets from ``optimize_for_inference(model)`` with no arguments.

    A HACNN's default compiles ahead of time (minutes, once per machine): with --no-compile
    or --quick that row is left out rather than paid for. Returns the build of the C kernel
    the default ran ("avx512", "avx2", "portable"), or None where it ran no kernel.
    """
    if isinstance(model, HACNN) and not use_compile:
        notes.append("defaults row not timed: --no-compile (it compiles HA-CNN ahead of time)")
        return None
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        default = optimize_for_inference(model)
        with torch.no_grad():
            default(x)
    notes.extend(f"defaults: {w.message}" for w in caught if w.category is RuntimeWarning)
    info = default.compile_info
    candidates[DEFAULT_ROW] = lambda: default(x)
    if isinstance(default, FusedSoftAttention):
        notes.append(f"defaults ran: {default.last_path} ({info})")
        return default.kernel_isa() if default.last_path.startswith("kernel") else None
    notes.append(f"defaults ran: {info}")
    return None


def _add_kernel_builds(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    default_isa: str,
) -> None:
    """The C kernel's other builds that this CPU runs, timed beside the default's."""
    for isa in KERNEL_TARGETS:
        if isa == default_isa or load_kernel(isa)[0] is None:
            continue
        fused = FusedSoftAttention(model, isa=isa)
        candidates[KERNEL_ROW.format(isa=isa)] = lambda fused=fused: fused(x)


def _add_bfloat16(
    candidates: dict[str, Callable[[], object]],
    model: torch.nn.Module,
    x: torch.Tensor,
    notes: list[str],
    use_compile: bool = True,
) -> None:
    """The opt-in bfloat16 path, timed, and how far its features are from float32's.

    On a CPU with bfloat16 units it compiles its own package (minutes, once per machine);
    with --no-compile or --quick it runs eager instead.
    """
    compile_choice = "auto" if use_compile else False
    low = optimize_for_inference(model, precision="bfloat16", compile=compile_choice)
    with torch.no_grad():
        reference = model(x)
        features = low(x)
    cosine = torch.nn.functional.cosine_similarity(features.float(), reference, dim=1)
    notes.append(
        f"bfloat16 ({low.compile_info}): cosine similarity with float32 features "
        f"min {float(cosine.min()):.4f}, mean {float(cosine.mean()):.4f}"
    )
    candidates[BF16_ROW] = lambda: low(x)


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
    header = ("candidate", "median ms", "min-max ms", "GB/s", "x floor", "img/s")
    header += ("x base", "GFLOP/s", "peak MB", "max|diff|")
    rows = []
    notes = list(result.notes)
    for r in result.rows:
        rows.append(
            (
                r.name,
                f"{r.median_ms:.2f}",
                f"{r.min_ms:.2f}-{r.max_ms:.2f}",
                *_copy_columns(r, compute_bound=result.flops is not None),
                _or_dash(r.images_per_s, ".1f"),
                _or_dash(r.x_baseline, ".2f"),
                _or_dash(r.gflop_per_s, ".1f"),
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
    if result.baseline is not None:
        lines.append(f"  x base: images/s over the row '{result.baseline}'")
    if result.flops is not None:
        lines.append(f"  GFLOP/s: {result.flops / 1e9:.2f} GFLOP per call (FlopCounterMode)")
    lines.extend(f"  note: {note}" for note in notes)
    lines.extend(f"  goal: {goal}" for goal in result.goals)
    return "\n".join(lines)


def goal_lines(result: Result) -> list[str]:
    """Whether the defaults row meets its goal, by the medians and by the minima, and for
    HA-CNN the roofline: what the goal would ask of the matmul's GFLOP/s."""
    rows = {r.name: r for r in result.rows}
    default = rows.get(DEFAULT_ROW)
    if default is None:
        return []
    if result.flops is None:  # soft attention: memory-bound, measured against the copy
        floor = rows[FLOOR_ROW]
        by_min = default.min_ms / floor.min_ms
        met = "met" if default.x_floor <= SOFT_GOAL else "NOT met"
        built = f"the C kernel's {result.kernel_isa} build" if result.kernel_isa else "no C kernel"
        return [
            f"defaults at most {SOFT_GOAL}x the copy floor: {met}, {default.x_floor:.2f}x by "
            f"the medians ({by_min:.2f}x by the minima), {built}"
        ]
    if result.baseline != TORCHREID_ROW or default.x_baseline is None:
        return [f"defaults at least {HACNN_GOAL}x torchreid: not measured (no torchreid row)"]
    base = rows[TORCHREID_ROW]
    by_min = base.min_ms / default.min_ms
    met = "met" if default.x_baseline >= HACNN_GOAL else "NOT met"
    lines = [
        f"defaults at least {HACNN_GOAL}x torchreid (set for batch 32): {met}, "
        f"{default.x_baseline:.2f}x by the medians ({by_min:.2f}x by the minima)"
    ]
    roof = rows.get(ROOF_ROW)
    if roof is not None and roof.gflop_per_s and default.gflop_per_s:
        needed = result.flops / (base.median_ms / HACNN_GOAL * 1e-3) / 1e9
        lines.append(
            f"roofline: the defaults run {default.gflop_per_s:.1f} GFLOP/s, "
            f"{default.gflop_per_s / roof.gflop_per_s:.0%} of the float32 matmul's "
            f"{roof.gflop_per_s:.1f}; {HACNN_GOAL}x torchreid needs {needed:.1f} GFLOP/s, "
            f"{needed / roof.gflop_per_s:.0%} of it"
            + (
                " (out of reach in float32 with these FLOPs: torchreid itself runs "
                f"{base.gflop_per_s:.1f} GFLOP/s, {base.gflop_per_s / roof.gflop_per_s:.0%})"
                if needed > 0.9 * roof.gflop_per_s
                else ""
            )
        )
    return lines


def _copy_columns(row: Row, compute_bound: bool) -> tuple[str, str]:
    """GB/s and x floor: the yardstick of a memory-bound module, noise beside a network's
    convolutions (HA-CNN's rows show "-" there; the JSON keeps the numbers)."""
    if compute_bound and row.name not in (FLOOR_ROW, CLONE_ROW):
        return "-", "-"
    return f"{row.gb_per_s:.2f}", f"{row.x_floor:.2f}"


def _or_dash(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)
