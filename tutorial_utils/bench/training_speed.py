"""How fast HA-CNN trains here: images/s of one SGD step, by width, memory layout, compilation
and allocator, measured side by side.

One step is what the trainer does per batch: forward in train mode (global and local logits),
cross-entropy on both heads, backward, SGD with momentum. Inputs are random (speed does not
depend on what the pixels show), batch 32 at 160×64 by default, 200 classes (the synthetic
set's training identities).

Every configuration runs in its own child process, so each starts from the same state and the
allocator can be chosen with environment variables: glibc's default malloc gives large freed
blocks back to the operating system and page-faults them in again on the next step; "tuned" raises
``MALLOC_MMAP_THRESHOLD_`` and ``MALLOC_TRIM_THRESHOLD_`` so they stay on the heap for reuse.

    python -m tutorial_utils.bench training                # the default table, a few minutes
    python -m tutorial_utils.bench training --widths quarter --modes eager compile --json s.json
    python -m tutorial_utils.bench training --generation   # the synthetic set's generation time

The median step gives images/s; the spread (min-max over the timed steps) and the load average
before each row say how noisy the machine was. ``compile`` reports its first step (the
compilation) separately.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from typing import Any

import torch
import torch.nn.functional as F

from ..common.key_value import parse_key_value
from ..common.seeding import with_seed
from ..hacnn.model import HACNN
from .allocator import TUNED_ALLOCATOR

WIDTHS = {"full": (128, 256, 384), "half": (64, 128, 192), "quarter": (32, 64, 96)}
MODES = ("eager", "channels_last", "compile")
ALLOCATORS = {"default": {}, "tuned": TUNED_ALLOCATOR}


@with_seed(0)  # the same weights and batch every run; the caller's random stream is kept
def measure(
    width: str = "quarter",
    mode: str = "eager",
    *,
    steps: int = 6,
    warmup: int = 2,
    batch: int = 32,
    size: tuple[int, int] = (160, 64),
    num_classes: int = 200,
    threads: int | None = None,
) -> dict[str, Any]:
    """Time ``steps`` training steps (after ``warmup``) in this process.

    Returns a dict: ``images_per_s`` (median step, wall clock), ``min``/``max`` images/s over
    the steps, ``step_ms`` (each timed step), ``cpu_ms_per_image`` (CPU time of all threads,
    user + system, per image: the cost, whatever else the machine runs), ``system_share`` (the
    part of it spent in the kernel, page faults mostly), ``page_faults_per_step`` (minor faults),
    ``first_step_s`` (the first warm-up step, which holds torch.compile's compilation),
    ``threads``.
    """
    if width not in WIDTHS:
        raise ValueError(f"width must be one of {tuple(WIDTHS)}, got {width!r}")
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if steps < 1 or warmup < 1 or batch < 2:
        raise ValueError(
            f"need steps >= 1, warmup >= 1, batch >= 2; got {steps}, {warmup}, {batch}"
        )
    if threads is not None:
        torch.set_num_threads(threads)
    model = HACNN(num_classes, nchannels=WIDTHS[width]).train()
    images = torch.randn(batch, 3, *size)
    labels = torch.randint(num_classes, (batch,))
    if mode == "channels_last":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    forward = torch.compile(model) if mode == "compile" else model

    def step() -> None:
        global_logits, local_logits = forward(images)
        loss = F.cross_entropy(global_logits, labels) + F.cross_entropy(local_logits, labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    times, cpu, system, faults = [], [], [], []
    for _ in range(warmup + steps):
        before, wall = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        step()
        after = resource.getrusage(resource.RUSAGE_SELF)
        times.append(time.perf_counter() - wall)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        system.append(after.ru_stime - before.ru_stime)
        faults.append(after.ru_minflt - before.ru_minflt)
    timed = times[warmup:]
    return {
        "width": width,
        "nchannels": list(WIDTHS[width]),
        "mode": mode,
        "batch": batch,
        "images_per_s": batch / statistics.median(timed),
        "min": batch / max(timed),
        "max": batch / min(timed),
        "step_ms": [round(1000 * t, 1) for t in timed],
        # CPU time (all threads, user + system) hardly depends on what else the machine runs.
        "cpu_ms_per_image": 1000 * statistics.median(cpu[warmup:]) / batch,
        "system_share": sum(system[warmup:]) / max(sum(cpu[warmup:]), 1e-9),
        "page_faults_per_step": int(statistics.median(faults[warmup:])),
        "first_step_s": round(times[0], 2),
        "threads": torch.get_num_threads(),
    }


def measure_in_child(
    width: str,
    mode: str,
    allocator: str,
    *,
    steps: int,
    warmup: int,
    batch: int,
    threads: int | None,
    timeout: float,
) -> dict[str, Any]:
    """:func:`measure` in a fresh Python process with the chosen allocator settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    env.update(ALLOCATORS[allocator])
    command = [
        sys.executable,
        "-m",
        "tutorial_utils.bench",
        "training",
        "--child",
        json.dumps(
            {
                "width": width,
                "mode": mode,
                "steps": steps,
                "warmup": warmup,
                "batch": batch,
                "threads": threads,
            }
        ),
    ]
    load = os.getloadavg()[0]  # how busy the machine was: other work slows every row
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"speed child {width}/{mode}/{allocator} failed:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["allocator"] = allocator
    result["load_before"] = round(load, 2)
    return result


def format_table(results: list[dict[str, Any]]) -> str:
    """A markdown table: one row per configuration."""
    lines = [
        "| width | nchannels | mode | allocator | images/s | min-max | CPU ms/image | system "
        "| page faults/step | first step s | load |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['width']} | {tuple(r['nchannels'])} | {r['mode']} | {r['allocator']} | "
            f"{r['images_per_s']:.1f} | {r['min']:.1f}-{r['max']:.1f} | "
            f"{r['cpu_ms_per_image']:.0f} | {100 * r['system_share']:.0f} % | "
            f"{r['page_faults_per_step']} | {r['first_step_s']:.1f} | "
            f"{r.get('load_before', float('nan')):.1f} |"
        )
    return "\n".join(lines)


def print_generation_time(options: list[tuple[str, Any]], seed: int = 0) -> None:
    """Time each split of the synthetic set (``options`` as (key, value) pairs) and print it."""
    # The data set lives in the re-identification room; drawing needs PIL and the photos.
    from ..reid.difficulty import time_generation

    rows = time_generation(seed, **dict(options))
    for row in rows:
        print(
            f"{row['split']:8s} {row['images']:5d} images, {row['identities']:4d} identities: "
            f"{row['wall_s']:5.1f} s wall, {row['cpu_s']:5.1f} s CPU "
            f"(load {row['load_before']:.1f})"
        )
    images, cpu = sum(r["images"] for r in rows), sum(r["cpu_s"] for r in rows)
    print(
        f"all      {images:5d} images: {sum(r['wall_s'] for r in rows):5.1f} s wall, "
        f"{cpu:5.1f} s CPU, {1000 * cpu / images:.1f} ms CPU per image"
    )


def _parse_config(text: str) -> tuple[str, str, str]:
    """ "full/eager/default" -> ("full", "eager", "default"); ValueError naming what is wrong."""
    pieces = text.split("/")
    if (
        len(pieces) != 3
        or pieces[0] not in WIDTHS
        or pieces[1] not in MODES
        or pieces[2] not in ALLOCATORS
    ):
        raise ValueError(
            f"config {text!r} is not WIDTH/MODE/ALLOCATOR with WIDTH in {tuple(WIDTHS)}, "
            f"MODE in {MODES}, ALLOCATOR in {tuple(ALLOCATORS)}"
        )
    return pieces[0], pieces[1], pieces[2]


def main(argv: list[str] | None = None) -> int:
    """``python -m tutorial_utils.bench training``; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m tutorial_utils.bench training", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--widths", nargs="+", choices=tuple(WIDTHS), default=list(WIDTHS))
    parser.add_argument("--modes", nargs="+", choices=MODES, default=["eager", "channels_last"])
    parser.add_argument(
        "--allocators", nargs="+", choices=tuple(ALLOCATORS), default=list(ALLOCATORS)
    )
    parser.add_argument(
        "--compile-widths",
        nargs="*",
        choices=tuple(WIDTHS),
        default=["quarter"],
        help="widths also measured with torch.compile (its compilation takes minutes)",
    )
    parser.add_argument(
        "--configs",
        nargs="+",
        metavar="WIDTH/MODE/ALLOCATOR",
        help="exactly these runs, e.g. full/eager/default quarter/compile/tuned "
        "(overrides the grid)",
    )
    parser.add_argument("--repeats", type=int, default=1, help="runs of the whole plan, in turn")
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads per run (default: torch's own choice); with 1, CPU ms/image is "
        "the cost even on a busy machine, where OpenMP threads that wait for a core spin",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds per configuration")
    parser.add_argument("--json", help="write every result to this file")
    parser.add_argument(
        "--generation",
        action="store_true",
        help="time the synthetic data set's generation instead (with --option key=value)",
    )
    parser.add_argument(
        "--option",
        type=parse_key_value,
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="with --generation: a SyntheticPedestrians option, e.g. num_test_ids=200",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(measure(**json.loads(args.child))))
        return 0
    if args.generation:
        print_generation_time(args.option)
        return 0

    if args.configs:
        plan = [_parse_config(text) for text in args.configs]
    else:
        plan = [(w, m, a) for w in args.widths for m in args.modes for a in args.allocators]
        for w in args.compile_widths:
            if (w, "compile", "tuned") not in plan:
                plan.append((w, "compile", "tuned"))
    # Round robin: on a busy machine, repeats spread the load's drift over every configuration.
    runs: dict[tuple[str, str, str], list[dict[str, Any]]] = {config: [] for config in plan}
    for _ in range(args.repeats):
        for width, mode, allocator in plan:
            result = measure_in_child(
                width,
                mode,
                allocator,
                steps=args.steps,
                warmup=args.warmup,
                batch=args.batch,
                threads=args.threads,
                timeout=args.timeout,
            )
            print(
                f"{width:8s} {mode:14s} {allocator:8s} {result['images_per_s']:6.1f} images/s "
                f"({result['min']:.1f}-{result['max']:.1f}), {result['cpu_ms_per_image']:.0f} CPU "
                f"ms/image, {result['page_faults_per_step']} faults/step, first step "
                f"{result['first_step_s']:.1f} s, load {result['load_before']:.1f}",
                flush=True,
            )
            runs[(width, mode, allocator)].append(result)
    results = [_best_of(repeats) for repeats in runs.values()]
    threads = args.threads or torch.get_num_threads()
    print()
    print(
        f"torch {torch.__version__}, {os.cpu_count()} CPUs, {threads} threads, batch {args.batch}, "
        f"{args.steps} timed steps, best of {args.repeats} runs"
    )
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            summary = {"torch": torch.__version__, "cpus": os.cpu_count(), "threads": threads}
            json.dump({**summary, "results": results, "runs": list(runs.values())}, f, indent=1)
    return 0


def _best_of(repeats: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of a configuration's runs: other work on the machine only ever slows a run."""
    return max(repeats, key=lambda r: r["images_per_s"])
