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


M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # glibc's mallopt parameter numbers


def tune_allocator_in_process() -> bool:
    """Give this running process the tuned settings through glibc's ``mallopt``.

    Environment variables are read only when a process starts; a notebook kernel is already
    running, so it asks glibc directly. Returns False (and changes nothing) off glibc.
    """
    import ctypes
    import platform

    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return False
    libc = ctypes.CDLL("libc.so.6")
    mmap_ok = libc.mallopt(M_MMAP_THRESHOLD, 1 << 30)  # blocks up to 1 GiB stay on the heap
    trim_ok = libc.mallopt(M_TRIM_THRESHOLD, 1 << 36)
    return bool(mmap_ok and trim_ok)
