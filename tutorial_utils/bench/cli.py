"""Benchmark eager vs optimized attention modules against a memory-copy floor, in one run.

    python -m tutorial_utils.bench [--device cpu|cuda] [--json PATH] [--quick] [--rounds R]
                                   [--no-tune-allocator] [--no-memory] [--no-compile] [--threads N]
    python -m tutorial_utils.bench training [...]   how fast HA-CNN trains (``training_speed``)

Workloads: SoftAttention(16) on (32, 16, 256, 128); HACNN(751) at batch 1 and 32 on 160 x 64.
Each workload times, side by side: copying x into a preallocated output (``copy_``, the memory
floor), ``x.clone()`` (a fresh output: this one pays the allocator), the eager module, the
optimized one with eager ops, and what ``optimize_for_inference(module)`` gives with no
arguments (SoftAttention: the hand-written C kernel; HACNN: the ahead-of-time package, compiled
once per machine and then loaded from the cache). SoftAttention adds a torch.compile row.
HACNN adds torchreid's own hacnn.py with the same weights (the baseline of "x base"), a float32
matrix product (the compute roof, in GFLOP/s beside the network's) and the bfloat16 opt-in.
The C kernel's other builds that this CPU runs get rows of their own beside the default's, and
the header names the build the defaults use. ``--no-compile`` (and ``--quick``) leave out the
rows that compile. Under each table, a line per goal says whether the defaults met it (soft
attention at most 1.5x the copy floor; HA-CNN at least 2.5x torchreid) and, for HA-CNN, what
the goal asks of the CPU's matmul roof. After the tables, a new
process is timed from start to its first HA-CNN batch (the compile-once promise). The whole
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
import sys
from dataclasses import asdict

import torch

from ..infer.low_precision import native_bfloat16
from ..infer.soft_kernel import PREFERENCE, default_target, load_kernel
from .allocator import allocator_settings, describe_allocator, restart_with_tuned_allocator
from .measure import format_result, run_workload
from .memory import cold_call_memory
from .startup import format_startup, startup_in_fresh_process, startup_phases
from .workloads import workloads


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
        "compile": "on (SoftAttention: torch.compile row; HACNN: the defaults compile ahead of "
        "time, once, and cache)"
        if use_compile
        else "off (no torch.compile row, no HACNN defaults row)",
        "quick": quick,
        "rounds": rounds,
        "workloads": [],
    }
    print(
        f"device: {device_name} ({info['device_name']}), torch {info['torch']}, "
        f"{info['threads']} threads"
    )
    print(f"allocator: {info['allocator']}")
    print(f"peak memory: {info['memory_measure']}")
    print(f"torch.compile: {info['compile']}")
    print(f"each row: median over {rounds} interleaved rounds of torch.utils.benchmark medians")
    print(f"CPU: {cpu_model()}; bfloat16: {native_bfloat16()[1]}")
    if device.type == "cpu":
        info["kernel_builds"] = kernel_builds()
        runs = ", ".join(info["kernel_builds"]["runs"]) or "none"
        print(
            f"soft attention's C kernel: builds this CPU runs: {runs}; "
            f"the defaults use: {info['kernel_builds']['default']}"
        )
    for index, work in enumerate(workloads(quick)):
        result = run_workload(index, work, device, rounds, quick, memory, use_compile)
        print()
        print(format_result(result))
        sys.stdout.flush()
        entry = asdict(result)
        entry["shape"] = list(result.shape)
        info["workloads"].append(entry)
    if use_compile and device.type == "cpu":
        # Every HA-CNN workload shares one model: its package is cached by now.
        last = len(workloads(quick)) - 1
        info["startup"] = startup_in_fresh_process(last, quick)
        print()
        print(format_startup(info["startup"]))
    return info


def kernel_builds() -> dict[str, object]:
    """The C kernel's builds this CPU runs (and the compiler builds), and the default one."""
    runs = [isa for isa in PREFERENCE if load_kernel(isa)[0] is not None]
    return {"runs": runs, "default": default_target() if runs else "none (PyTorch path)"}


def cpu_model() -> str:
    """The CPU's model name (Linux), else what platform says."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main(argv: list[str] | None = None) -> int:
    """The command line; returns the exit status (2: CUDA asked for but absent)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["training"]:  # the training-speed benchmark has options of its own
        from .training_speed import main as training_main

        return training_main(argv[1:])
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
    parser.add_argument("--startup-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.memory_child is not None:
        index, candidate = args.memory_child.split(":")
        print(cold_call_memory(int(index), candidate, args.quick))
        return 0
    if args.startup_child is not None:
        print(json.dumps(startup_phases(args.startup_child, args.quick)))
        return 0
    rounds = args.rounds if args.rounds is not None else (1 if args.quick else 3)
    if rounds < 1:
        parser.error(f"--rounds must be >= 1, got {rounds}")
    if args.threads is not None:
        if args.threads < 1:
            parser.error(f"--threads must be >= 1, got {args.threads}")
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
