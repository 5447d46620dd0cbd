"""Peak memory of one call: the CUDA allocator's peak on a GPU, resident-set growth on the CPU.

On the CPU a cold call is measured in a fresh process (``python -m tutorial_utils.bench
--memory-child``), so memory that earlier runs left in the allocator does not hide its peak.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable

import torch

from ..common.batchnorm import randomize_batchnorm
from ..common.seeding import with_seed
from ..infer.optimize import optimize_for_inference
from .workloads import workloads


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


CANDIDATES = ("eager", "optimized", "default")  # module.eval(), compile=False, no arguments


def check_candidate(candidate: str) -> None:
    """Raise a ValueError naming ``candidate`` unless it is one of CANDIDATES."""
    if candidate not in CANDIDATES:
        raise ValueError(f"candidate must be one of {CANDIDATES}, got {candidate!r}")


@with_seed(0)  # the same weights and input every run; the caller's random stream is kept
def cold_call_memory(workload_index: int, candidate: str, quick: bool) -> int:
    """Build one candidate and its input here, return the RSS growth of its first call.

    Run it in a fresh process (``memory_in_fresh_process``) for a cold measurement.
    """
    check_candidate(candidate)
    work = workloads(quick)[workload_index]
    module = work.build().eval()
    randomize_batchnorm(module)
    x = torch.randn(work.shape)
    if candidate == "optimized":
        module = optimize_for_inference(module, compile=False, kernel=False)
    elif candidate == "default":
        module = optimize_for_inference(module, progress=False)
    with torch.no_grad():
        return peak_rss_growth(lambda: module(x))


def memory_in_fresh_process(workload_index: int, candidate: str, quick: bool) -> int | None:
    """CPU peak of one cold call, measured in a child process so earlier runs do not hide it.

    ``candidate`` is "eager", "optimized" or "default"; returns bytes, or None if the child
    failed.
    """
    check_candidate(candidate)
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
