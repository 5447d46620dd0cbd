"""Benchmark eager vs optimized attention modules against a memory-copy floor, in one run.

    python -m tutorial_utils.bench [--device cpu|cuda] [--json PATH] [--quick] [--rounds R]
                                   [--no-tune-allocator] [--no-memory] [--no-compile] [--threads N]

Workloads: SoftAttention(16) on (32, 16, 256, 128); HACNN at batch 1 and 32 on 160 x 64.
Each workload times, side by side: copying x into a preallocated output (``copy_``), ``x.clone()``
(a fresh output: this one pays the allocator), the eager module, the optimized one and, unless
``--no-compile``, the optimized one under torch.compile (HACNN: its own forward with fast attention,
compiled with inductor freezing; about a minute per batch size, printed, not timed), and for
SoftAttention on the CPU the hand-written one-pass C kernel (``soft_kernel``). The whole
set is repeated ``--rounds`` times, interleaved, so a busy machine hurts every row alike; the
table gives the median over rounds and the min-max spread.

Allocator: glibc's default malloc hands large blocks back to the OS, so every fresh 64 MB
output page-faults again. Unless MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_ are already
set (or --no-tune-allocator is given) the benchmark re-runs itself with both raised, so that
candidates and floor are compared under the same, tuned, allocator. It prints which one it used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import torch

from ..common.timing import time_call
from ..hacnn.model import HACNN
from ..hacnn.soft_attention import SoftAttention
from ..infer.optimize import optimize_for_inference

KERNEL_ROW = "optimized, hand-written C pass"

TUNED_ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 32),  # keep blocks up to 4 GiB on the heap
    "MALLOC_TRIM_THRESHOLD_": str(1 << 36),  # and do not give free heap back to the OS
}
RESTARTED_FLAG = "TUTORIAL_UTILS_BENCH_RESTARTED"


def allocator_settings() -> dict[str, str]:
    """The environment variables that decide how this process allocates memory."""
    names = (*TUNED_ALLOCATOR, "LD_PRELOAD", "PYTORCH_CUDA_ALLOC_CONF")
    found = {name: os.environ[name] for name in names if name in os.environ}
    return found


def describe_allocator() -> str:
    """One line: which allocator settings this process runs under."""
    settings = allocator_settings()
    preload = settings.get("LD_PRELOAD", "")
    if "jemalloc" in preload or "tcmalloc" in preload:
        return f"preloaded allocator: {preload}"
    if all(name in settings for name in TUNED_ALLOCATOR):
        pairs = ", ".join(f"{name}={settings[name]}" for name in TUNED_ALLOCATOR)
        return f"glibc malloc, tuned: {pairs}"
    return "glibc malloc, default settings (large blocks returned to the OS)"


def restart_with_tuned_allocator(argv: list[str]) -> None:
    """Re-run this module with the tuned glibc settings, unless they are set already."""
    if os.environ.get(RESTARTED_FLAG) or any(name in os.environ for name in TUNED_ALLOCATOR):
        return
    env = {**os.environ, **TUNED_ALLOCATOR, RESTARTED_FLAG: "1"}
    print(
        "re-running with a tuned allocator: "
        + ", ".join(f"{k}={v}" for k, v in TUNED_ALLOCATOR.items())
    )
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "tutorial_utils.bench", *argv], env)


# --------------------------------------------------------------------------------- workloads


@dataclass
class Workload:
    """A module, its input and how to count: ``images`` > 0 prints images/s."""

    name: str
    build: Callable[[], torch.nn.Module]
    shape: tuple[int, ...]
    images: int = 0
    tolerance: float = 1e-5


def randomize_batchnorm(module: torch.nn.Module, seed: int = 0) -> None:
    """Give every BatchNorm random running statistics and affine terms (as if trained)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                if m.weight is not None:
                    m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                    m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.2)


def workloads(quick: bool) -> list[Workload]:
    """The benchmark set; ``quick`` shrinks it to seconds (for tests)."""

    def soft() -> torch.nn.Module:
        return SoftAttention(16)

    def hacnn() -> torch.nn.Module:
        if quick:
            return HACNN(10, nchannels=(16, 32, 48), feat_dim=32)
        return HACNN(751)

    if quick:
        return [
            Workload("SoftAttention", soft, (2, 16, 32, 16)),
            Workload("HACNN batch 1", hacnn, (1, 3, 160, 64), images=1, tolerance=1e-4),
            Workload("HACNN batch 2", hacnn, (2, 3, 160, 64), images=2, tolerance=1e-4),
        ]
    return [
        Workload("SoftAttention", soft, (32, 16, 256, 128)),
        Workload("HACNN batch 1", hacnn, (1, 3, 160, 64), images=1, tolerance=1e-4),
        Workload("HACNN batch 32", hacnn, (32, 3, 160, 64), images=32, tolerance=1e-4),
    ]


# ---------------------------------------------------------------------------------- memory


def current_rss() -> int:
    """Resident set size of this process in bytes (Linux /proc, else psutil, else 0)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        try:
            import psutil

            return int(psutil.Process().memory_info().rss)
        except ImportError:
            return 0


def peak_rss_growth(fn: Callable[[], object], interval: float = 0.0005) -> int:
    """Bytes the process's RSS grew to above its level before ``fn()``, sampled every 0.5 ms."""
    before = current_rss()
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, current_rss())
            time.sleep(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        fn()
    finally:
        done.set()
        thread.join()
    peak = max(peak, current_rss())
    return max(0, peak - before)


def peak_memory_bytes(fn: Callable[[], object], device: torch.device) -> int:
    """Peak extra memory of one call: CUDA allocator peak on a GPU, RSS growth on the CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        base = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return max(0, torch.cuda.max_memory_allocated(device) - base)
    return peak_rss_growth(fn)


def _memory_child(workload_index: int, candidate: str, quick: bool) -> int:
    """In a fresh process: build one candidate and its input, return the peak growth of one call."""
    torch.manual_seed(0)
    work = workloads(quick)[workload_index]
    module = work.build().eval()
    randomize_batchnorm(module)
    x = torch.randn(work.shape)
    if candidate == "optimized":
        module = optimize_for_inference(module, compile=False)
    elif candidate == "kernel":
        module = optimize_for_inference(module, kernel=True)
    with torch.no_grad():
        return peak_rss_growth(lambda: module(x))


def memory_in_fresh_process(workload_index: int, candidate: str, quick: bool) -> int | None:
    """CPU peak of one cold call, measured in a child process so earlier runs do not hide it."""
    cmd = [
        sys.executable,
        "-m",
        "tutorial_utils.bench",
        "--memory-child",
        f"{workload_index}:{candidate}",
    ]
    if quick:
        cmd.append("--quick")
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
        return int(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None


# ---------------------------------------------------------------------------------- timing


@dataclass
class Row:
    name: str
    median_ms: float
    min_ms: float
    max_ms: float
    gb_per_s: float
    x_floor: float
    images_per_s: float | None = None
    peak_mem_mb: float | None = None
    compile_s: float | None = None
    max_abs_diff: float | None = None


@dataclass
class Result:
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
    model = work.build().eval()
    randomize_batchnorm(model)
    model = model.to(device)
    x = torch.randn(work.shape, device=device)
    with torch.no_grad():
        reference = model(x)
    out = torch.empty_like(x)
    copy_bytes = 2 * x.numel() * x.element_size()  # read x, write a same-sized output

    compiled = optimize_for_inference(model, compile=use_compile)
    candidates: dict[str, Callable[[], object]] = {
        "floor: copy_ into preallocated": lambda: out.copy_(x),
        "floor: x.clone()": lambda: x.clone(),
        "eager (module.eval())": lambda: model(x),
        "optimized, eager ops": None,  # filled below
    }
    optimized = optimize_for_inference(model, compile=False)
    candidates["optimized, eager ops"] = lambda: optimized(x)
    compile_s = None
    if compiled is not optimized and getattr(compiled, "compile_info", None) is not None:
        with torch.no_grad():
            start = time.perf_counter()
            compiled(x)
            if compiled.compile_info.used:
                compile_s = time.perf_counter() - start
                candidates["optimized, torch.compile"] = lambda: compiled(x)

    notes: list[str] = []
    if isinstance(model, SoftAttention) and device.type == "cpu":
        fused = optimize_for_inference(model, kernel=True)
        with torch.no_grad():
            fused(x)
        if fused.last_path == "kernel":
            candidates[KERNEL_ROW] = lambda: fused(x)
        else:
            notes.append(f"hand-written C pass not timed: {fused.last_path}")

    diffs: dict[str, float] = {}
    with torch.no_grad():
        for name in ("optimized, eager ops", "optimized, torch.compile", KERNEL_ROW):
            if name in candidates:
                got = candidates[name]()
                diffs[name] = float((got - reference).abs().max())

    runs: dict[str, list[float]] = {name: [] for name in candidates}
    min_run_time = 0.02 if quick else 0.4
    with torch.no_grad():
        for _ in range(rounds):
            for name, fn in candidates.items():
                runs[name].append(
                    time_call(
                        fn, label=name, warmup=1 if quick else 3, min_run_time=min_run_time
                    ).median_ms
                )

    peaks: dict[str, int | None] = {}
    if memory:
        for name, kind in (
            ("eager (module.eval())", "eager"),
            ("optimized, eager ops", "optimized"),
            (KERNEL_ROW, "kernel"),
        ):
            if name not in candidates:
                continue
            if device.type == "cuda" or quick:
                with torch.no_grad():
                    peaks[name] = peak_memory_bytes(candidates[name], device)
            else:
                peaks[name] = memory_in_fresh_process(index, kind, quick)
        peaks["floor: copy_ into preallocated"] = 0
        peaks["floor: x.clone()"] = x.numel() * x.element_size()

    floor_ms = statistics.median(runs["floor: copy_ into preallocated"])
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
                compile_s=compile_s if name == "optimized, torch.compile" else None,
                max_abs_diff=diffs.get(name),
            )
        )
    return result


def format_result(result: Result) -> str:
    """A plain-text table of one workload."""
    lines = [
        f"{result.name}  x {result.shape}  floor bytes (read + write x) {result.floor_bytes / 1e6:.1f} MB",
        f"  {'candidate':32s} {'median ms':>10s} {'min-max ms':>17s} {'GB/s':>7s} {'x floor':>8s}"
        f" {'img/s':>8s} {'peak MB':>8s} {'max|diff|':>10s}",
    ]
    for r in result.rows:
        spread = f"{r.min_ms:.2f}-{r.max_ms:.2f}"
        img = f"{r.images_per_s:.1f}" if r.images_per_s is not None else "-"
        mem = f"{r.peak_mem_mb:.1f}" if r.peak_mem_mb is not None else "-"
        diff = f"{r.max_abs_diff:.1e}" if r.max_abs_diff is not None else "-"
        lines.append(
            f"  {r.name:32s} {r.median_ms:10.2f} {spread:>17s} {r.gb_per_s:7.2f} {r.x_floor:8.2f}"
            f" {img:>8s} {mem:>8s} {diff:>10s}"
        )
        if r.compile_s is not None:
            lines.append(
                f"  {'':32s} (compile time of its first call: {r.compile_s:.1f} s, not in the median)"
            )
    lines.extend(f"  note: {note}" for note in result.notes)
    return "\n".join(lines)


def run(device_name: str, quick: bool, rounds: int, memory: bool, use_compile: bool) -> dict:
    """Run every workload on one device and return the JSON-ready report."""
    device = torch.device(device_name)
    info = {
        "device": device_name,
        "device_name": torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "allocator": describe_allocator(),
        "allocator_env": allocator_settings(),
        "memory_measure": (
            "torch.cuda.max_memory_allocated above the level before the call"
            if device.type == "cuda"
            else "RSS growth during one call (sampled every 0.5 ms); "
            + ("in this process (quick mode)" if quick else "cold, in a fresh process")
        ),
        "compile": "on (every workload; HACNN with inductor freezing)" if use_compile else "off",
        "quick": quick,
        "rounds": rounds,
        "workloads": [],
    }
    print(
        f"device: {device_name} ({info['device_name']}), torch {info['torch']}, {info['threads']} threads"
    )
    print(f"allocator: {info['allocator']}")
    print(f"peak memory: {info['memory_measure']}")
    print(f"torch.compile: {info['compile']}")
    print(f"each row: median over {rounds} interleaved rounds of torch.utils.benchmark medians")
    for index, work in enumerate(workloads(quick)):
        result = run_workload(index, work, device, rounds, quick, memory, use_compile)
        print()
        print(format_result(result))
        sys.stdout.flush()
        entry = asdict(result)
        entry["shape"] = list(result.shape)
        info["workloads"].append(entry)
    return info


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_utils.bench", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--device",
        choices=("cpu", "cuda"),
        default=None,
        help="default: the CPU, then CUDA too if present",
    )
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--quick", action="store_true", help="tiny sizes and short runs (tests)")
    parser.add_argument(
        "--rounds", type=int, default=None, help="interleaved repeats (default 3, quick 1)"
    )
    parser.add_argument(
        "--no-tune-allocator", action="store_true", help="do not re-run with tuned glibc malloc"
    )
    parser.add_argument(
        "--no-memory", action="store_true", help="skip the peak-memory measurements"
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)"
    )
    parser.add_argument(
        "--no-compile", action="store_true", help="skip torch.compile (implied by --quick)"
    )
    parser.add_argument("--memory-child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child is not None:
        index, candidate = args.memory_child.split(":")
        print(_memory_child(int(index), candidate, args.quick))
        return 0
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if rounds < 1:
        raise ValueError(f"--rounds must be >= 1, got {rounds}")
    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if not args.no_tune_allocator:
        restart_with_tuned_allocator(argv)

    if args.device == "cuda" and not torch.cuda.is_available():
        print("CUDA requested but no CUDA device was found; nothing to run on cuda")
        return 2
    devices = [args.device] if args.device else ["cpu"]
    if args.device is None:
        if torch.cuda.is_available():
            devices.append("cuda")
        else:
            print("no CUDA device found: GPU benchmark skipped, CPU only")
    report = {"runs": []}
    for device_name in devices:
        use_compile = not (args.no_compile or args.quick)
        report["runs"].append(run(device_name, args.quick, rounds, not args.no_memory, use_compile))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
