"""Does attention help? ``python -m tutorial_utils.digits`` trains the four DigitNet variants
on cluttered digits with one budget (``--quick`` for a seconds-long smoke run).

The results table is printed last: one row per variant, test accuracy (%), parameters, seconds.
A user's mistake is reported in one line with exit status 2; only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from .models import CONTROLS, RENAMED_VARIANTS, VARIANTS
from .report import format_glimpses, format_results
from .train import (
    DEFAULT_EPOCHS,
    DEFAULT_TEST,
    DEFAULT_TRAIN,
    TrainConfig,
    run_experiment,
    set_determinism,
)
from .weights import save_checkpoint

QUICK = {"epochs": 1, "num_train": 512, "num_test": 256}
PROG = "python -m tutorial_utils.digits"
# Exceptions that mean the user asked for something impossible (a bad value, a bad path).
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _fail(message: str) -> int:
    """Report a user's mistake in one line, as argparse does; the exit status is 2."""
    print(f"{PROG}: error: {' '.join(message.split())}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """The command line; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Train global, soft, hard and harmonious DigitNets on cluttered digits.",
    )
    parser.add_argument(
        "--epochs", type=int, default=None, help=f"epochs (default {DEFAULT_EPOCHS})"
    )
    parser.add_argument(
        "--seeds", type=int, nargs="+", default=[0], help="one full run per seed (default 0)"
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch.set_num_threads value (default 1: these small convolutions gain little from "
        "more threads, and one thread makes the numbers independent of the core count)",
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke run: {QUICK['epochs']} epoch on {QUICK['num_train']} train canvases",
    )
    parser.add_argument(
        "--variants",
        nargs="+",
        default=list(VARIANTS + CONTROLS),
        choices=VARIANTS + CONTROLS + tuple(RENAMED_VARIANTS),
        help="default: the four variants and the controls narrow_global and pooled_hard "
        "(the old names baseline and narrow_baseline still work, with a warning)",
    )
    parser.add_argument(
        "--data-seed",
        type=int,
        default=0,
        help="seed of the canvases, the same for every training seed (default 0)",
    )
    parser.add_argument("--save", type=Path, default=None, help="save weights and curves here")
    parser.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    args = parser.parse_args(argv)
    for old in dict.fromkeys(name for name in args.variants if name in RENAMED_VARIANTS):
        # A command line shows no DeprecationWarning by default: say it once on stderr.
        print(f"{PROG}: note: variant {old!r} is now {RENAMED_VARIANTS[old]!r}", file=sys.stderr)
    args.variants = [RENAMED_VARIANTS.get(name, name) for name in args.variants]
    if args.epochs is not None and args.epochs < 1:
        return _fail(f"--epochs must be a positive integer, got {args.epochs}")
    if args.threads < 1:
        return _fail(f"--threads must be a positive integer, got {args.threads}")
    if args.data_seed < 0:
        return _fail(f"--data-seed must be a non-negative integer, got {args.data_seed}")
    if args.save is not None and args.save.is_dir():
        return _fail(f"--save must name a file, got the folder {args.save}")
    try:
        return _run(args)
    except USER_ERRORS as error:
        return _fail(str(error))


def _run(args: argparse.Namespace) -> int:
    """Train and report as ``args`` say; returns the exit status."""
    num_train, num_test = DEFAULT_TRAIN, DEFAULT_TEST
    epochs = args.epochs or DEFAULT_EPOCHS
    if args.quick:
        num_train, num_test = QUICK["num_train"], QUICK["num_test"]
        epochs = args.epochs or QUICK["epochs"]
    runs = {}
    start = time.perf_counter()
    for seed in args.seeds:
        set_determinism(seed, args.threads)
        config = TrainConfig(epochs=epochs, seed=seed)
        runs[seed] = run_experiment(
            args.variants,
            config,
            num_train,
            num_test,
            progress=not args.no_progress,
            data_seed=args.data_seed,
        )
    total = time.perf_counter() - start
    if args.save is not None:
        save_checkpoint(runs, args.save)
        print(f"saved weights and learning curves to {args.save}")
    print(
        f"total time {total:.1f} s ({len(runs)} seeds, {epochs} epochs, "
        f"{num_train} train / {num_test} test canvases)"
    )
    for seed, (_, results) in runs.items():
        print(f"seed {seed}")
        glimpses = format_glimpses(results)
        if glimpses:
            print(glimpses)
        print(format_results(results))
    return 0
