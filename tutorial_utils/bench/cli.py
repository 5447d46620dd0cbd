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
import sys
from dataclasses import asdict

import torch

from .allocator import allocator_settings, describe_allocator, restart_with_tuned_allocator
from .measure import format_result, run_workload
from .memory import cold_call_memory
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
        "compile": "on (every workload; HACNN with inductor freezing)" if use_compile else "off",
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
    """The command line; returns the exit status (2: CUDA asked for but absent)."""
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
        print(cold_call_memory(int(index), candidate, args.quick))
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
