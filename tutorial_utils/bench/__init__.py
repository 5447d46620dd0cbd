"""The benchmark room: ``python -m tutorial_utils.bench`` times eager and optimized modules
against a memory-copy floor (the command line is in ``cli``).

workloads (what runs), measure (one workload's rows, timed side by side, and its table),
memory (peak memory of one call, cold in a fresh process), allocator (which malloc, and
re-running under a tuned one), startup (a new process until its first batch), training_speed
(``python -m tutorial_utils.bench training``: how fast HA-CNN trains, and how long the
synthetic set takes to draw), cpu_kinds (the defaults' stored ratios on each kind of CPU measured,
as a table and a figure). This room imports the inference room, the re-identification room
(for the synthetic set only), the reference model and the shared room.
"""

from .allocator import (
    TUNED_ALLOCATOR,
    allocator_settings,
    describe_allocator,
)
from .cpu_kinds import BenchRun, CpuKind, format_cpu_kinds, load_cpu_kinds, plot_cpu_kinds
from .measure import Result, Row, format_result, run_workload
from .memory import memory_in_fresh_process, peak_memory_bytes, peak_rss_growth
from .workloads import Workload, workloads

__all__ = [
    "TUNED_ALLOCATOR",
    "BenchRun",
    "CpuKind",
    "Result",
    "Row",
    "Workload",
    "allocator_settings",
    "describe_allocator",
    "format_cpu_kinds",
    "format_result",
    "load_cpu_kinds",
    "memory_in_fresh_process",
    "peak_memory_bytes",
    "peak_rss_growth",
    "plot_cpu_kinds",
    "run_workload",
    "workloads",
]
