"""How long a new process takes to be ready: the cost a compile-once cache must keep small.

The child (``python -m tutorial_utils.bench --startup-child INDEX``) imports torch and this
package, builds the workload's model, calls ``optimize_for_inference`` with its defaults and
runs one batch, then reports the wall-clock moment it was done. The parent counts from just
before it started the child to that moment: interpreter start included, the child's exit (over
a second once torch's compiler is imported) left out, since the process is ready before it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import torch

from ..common.batchnorm import randomize_batchnorm
from ..common.seeding import with_seed
from ..infer.optimize import optimize_for_inference
from .workloads import workloads


@with_seed(0)
def startup_phases(workload_index: int, quick: bool) -> dict[str, object]:
    """Seconds of each phase in this process: build, optimize (load or compile), first call."""
    start = time.perf_counter()
    # Seeded by with_seed: the same weights as the parent's workload, so the same cache key.
    work = workloads(quick)[workload_index]
    model = randomize_batchnorm(work.build().eval())
    x = torch.randn(work.shape)
    built = time.perf_counter()
    fast = optimize_for_inference(model, progress=False)
    optimized = time.perf_counter()
    with torch.no_grad():
        fast(x)
    done = time.perf_counter()
    return {
        "build_s": built - start,
        "optimize_s": optimized - built,
        "first_call_s": done - optimized,
        "how": str(fast.compile_info),
        "ready_at": time.time(),  # wall clock: the parent's start is on the same clock
    }


def startup_in_fresh_process(workload_index: int, quick: bool) -> dict[str, object] | None:
    """Run ``startup_phases`` in a new interpreter; add ``total_s``, from its start until it
    was ready and had run one batch, and ``exit_s``, what its exit took after that.

    None if the child failed.
    """
    command = [sys.executable, "-m", "tutorial_utils.bench", "--startup-child", str(workload_index)]
    if quick:
        command.append("--quick")
    start = time.time()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=900, check=True)
        phases = json.loads(done.stdout.strip().splitlines()[-1])
    except (subprocess.SubprocessError, ValueError, IndexError):
        return None
    phases["exit_s"] = time.time() - phases["ready_at"]
    phases["total_s"] = phases.pop("ready_at") - start
    return phases


def format_startup(phases: dict[str, object] | None) -> str:
    """One line for the report."""
    if phases is None:
        return "a new process: the child failed, not measured"
    measured = phases["build_s"] + phases["optimize_s"] + phases["first_call_s"]
    return (
        f"a new process, ready and one batch done in {phases['total_s']:.1f} s "
        f"(start and imports {phases['total_s'] - measured:.1f} s, "
        f"build {phases['build_s']:.1f} s, optimize_for_inference {phases['optimize_s']:.1f} s "
        f"[{phases['how']}], first batch {phases['first_call_s']:.1f} s; "
        f"its exit took {phases['exit_s']:.1f} s more)"
    )
