"""Where compiled artefacts are kept between processes, and what they must be rebuilt for.

Both the hand-written soft-attention kernel and the ahead-of-time compiled HA-CNN are native
code built for one CPU: the CPU's model and feature flags are part of every cache key.
"""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path


def cache_dir() -> Path:
    """Where compiled code is kept: $TUTORIAL_UTILS_CACHE, else ~/.cache/tutorial_utils."""
    chosen = os.environ.get("TUTORIAL_UTILS_CACHE")
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "tutorial_utils"


def writable_cache_dir() -> Path:
    """``cache_dir()``, created; the system's temporary directory if that cannot be written."""
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        return directory
    except OSError:
        fallback = Path(tempfile.gettempdir()) / "tutorial_utils"
        fallback.mkdir(parents=True, exist_ok=True)
        return fallback


def cpu_fingerprint() -> str:
    """CPU model and flags: code built with -march=native must not run on another CPU."""
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags", "Features"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()
