"""Execute lessons in place, each in a fresh kernel, and say how long each took.

``python -m tools.execute notebooks/NN_topic.ipynb ...`` (``make execute`` runs it on every
lesson, ``make execute NB=notebooks/08_does_attention_help.ipynb`` on one). Prints the wall time
and the kernel's peak resident memory (Linux only) per notebook.

The notebook is saved with the state of every widget its kernel made (nbclient's
``store_widget_state``), replacing any state stored before, and each widget view's output
carries the first picture its explorer drew (``tools.widget_state``), so nbviewer, GitHub and
the HTML edition show the explorer's first view.

Why not ``jupyter nbconvert --execute``: on a busy machine a kernel reply can arrive while the
client sits in one long blocking poll and go unnoticed, so a cell after a widget waits out the
whole timeout with the kernel idle. Polling in one-second slices avoids that.
"""

from __future__ import annotations

import argparse
import os
import queue
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from tools.widget_state import add_first_pictures
from tutorial_utils.bench import TUNED_ALLOCATOR

POLL_SLICE_S = 1.0


def poll_in_slices(kernel_client: object, slice_s: float = POLL_SLICE_S) -> None:
    """Make a kernel client's channels wait for replies in short slices (the overall timeout
    is unchanged; a reply that lands during a long poll is seen within ``slice_s``)."""
    for name in ("shell_channel", "iopub_channel", "control_channel"):
        channel = getattr(kernel_client, name)
        original = channel.get_msg

        async def get_msg(timeout: float | None = None, _original=original):
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = slice_s if deadline is None else deadline - time.monotonic()
                try:
                    return await _original(timeout=max(0.0, min(slice_s, left)))
                except queue.Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

        channel.get_msg = get_msg


def peak_memory_mb(pid: int) -> float | None:
    """The process's peak resident memory (VmHWM) in MB, or None where /proc is missing."""
    status = Path(f"/proc/{pid}/status")
    if not status.is_file():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM"):
            return int(line.split()[1]) / 1024
    return None


def execute(path: Path, timeout: int = 900, kernel: str = "python3") -> tuple[float, float | None]:
    """Run every cell of ``path`` top to bottom in a fresh kernel and store the outputs.

    Returns (seconds, kernel peak memory in MB or None). A failing cell raises nbclient's
    CellExecutionError (cells tagged ``raises-exception`` may fail, as in nbconvert).
    """
    if not path.is_file():
        raise FileNotFoundError(f"no notebook at {path}")
    nb = nbformat.read(path, as_version=4)
    # A state from an earlier run describes widgets (and controls) that may no longer exist.
    nb.metadata.pop("widgets", None)
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel,
        resources={"metadata": {"path": str(path.parent)}},
        store_widget_state=True,
    )
    start = time.perf_counter()
    with client.setup_kernel():
        poll_in_slices(client.kc)
        client.reset_execution_trackers()
        for index, cell in enumerate(nb.cells):
            client.execute_cell(cell, index)
        # nbclient writes the state only in its own run loop; this one calls it itself.
        client.set_widgets_metadata()
        process = getattr(client.km.provisioner, "process", None)
        peak = peak_memory_mb(process.pid) if process is not None else None
    add_first_pictures(nb)
    nbformat.write(nb, path)
    return time.perf_counter() - start, peak


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.execute", description=__doc__)
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    # Kernels inherit this environment: the tuned allocator the lessons' timings assume (lesson
    # 07, appendix A), as `make lab` and `make test` start them. Settings already made win.
    for name, value in TUNED_ALLOCATOR.items():
        os.environ.setdefault(name, value)
    for path in args.notebooks:
        seconds, peak = execute(path, args.timeout)
        memory = "" if peak is None else f", kernel peak {peak:.0f} MB"
        print(f"{path}: {seconds:.1f} s{memory}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
