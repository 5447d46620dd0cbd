"""Which memory allocator this process runs under, and re-running under a tuned one.

glibc's default malloc hands large blocks back to the OS, so every fresh 64 MB output
page-faults again. Raising MALLOC_MMAP_THRESHOLD_ and MALLOC_TRIM_THRESHOLD_ keeps them on
the heap, as PyTorch's CPU tuning guide recommends (or preload jemalloc / tcmalloc).
"""

from __future__ import annotations

import os
import sys

TUNED_ALLOCATOR = {
    "MALLOC_MMAP_THRESHOLD_": str(1 << 32),  # keep blocks up to 4 GiB on the heap
    "MALLOC_TRIM_THRESHOLD_": str(1 << 36),  # and do not give free heap back to the OS
}
RESTARTED_FLAG = "TUTORIAL_UTILS_BENCH_RESTARTED"


def allocator_settings() -> dict[str, str]:
    """The environment variables that decide how this process allocates memory."""
    names = (*TUNED_ALLOCATOR, "LD_PRELOAD", "PYTORCH_CUDA_ALLOC_CONF")
    return {name: os.environ[name] for name in names if name in os.environ}


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
    """Re-run the benchmark with the tuned glibc settings, unless they are set already.

    Replaces this process (``os.execve``): malloc reads its settings only at start-up.
    """
    if os.environ.get(RESTARTED_FLAG) or any(name in os.environ for name in TUNED_ALLOCATOR):
        return
    env = {**os.environ, **TUNED_ALLOCATOR, RESTARTED_FLAG: "1"}
    print(
        "re-running with a tuned allocator: "
        + ", ".join(f"{k}={v}" for k, v in TUNED_ALLOCATOR.items())
    )
    sys.stdout.flush()
    os.execve(sys.executable, [sys.executable, "-m", "tutorial_utils.bench", *argv], env)
