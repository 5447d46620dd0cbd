"""Honest timing: warm-up first, CUDA synchronised, many runs, median and spread reported."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from .quiet import quiet_cpp_extension_notice


@dataclass
class Timing:
    label: str
    median_ms: float
    iqr_ms: float  # interquartile range: how noisy the runs were
    runs: int

    def __str__(self) -> str:
        return f"{self.label}: {self.median_ms:.3f} ms (IQR {self.iqr_ms:.3f} ms, {self.runs} runs)"


def time_call(
    fn: Callable[..., object],
    *args: object,
    label: str = "",
    warmup: int = 3,
    min_run_time: float = 0.5,
) -> Timing:
    """Median wall time of ``fn(*args)`` in milliseconds.

    Warm-up runs absorb one-off costs (allocation, autotuning, lazy init).
    ``torch.utils.benchmark`` synchronises CUDA around each block of runs, so queued
    GPU work is counted, and it uses as many threads as PyTorch does (its default is 1).
    """
    benchmark = _import_benchmark()
    for _ in range(warmup):
        fn(*args)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    timer = benchmark.Timer(
        stmt="fn(*args)",
        globals={"fn": fn, "args": args},
        label=label,
        num_threads=torch.get_num_threads(),
    )
    measurement = timer.blocked_autorange(min_run_time=min_run_time)
    runs = measurement.number_per_run * len(measurement.times)
    return Timing(label, measurement.median * 1e3, measurement.iqr * 1e3, runs)


def _import_benchmark():
    """torch.utils.benchmark, imported without its CUDA_HOME notice on GPU-less machines."""
    quiet_cpp_extension_notice()
    from torch.utils import benchmark

    return benchmark
