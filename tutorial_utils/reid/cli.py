"""``python -m tutorial_utils.reid {train, evaluate, ablation}``.

python -m tutorial_utils.reid train --out hacnn.pt
python -m tutorial_utils.reid train --resume hacnn.pt      # after a stop: the next epoch on
torchrun --nproc_per_node 2 -m tutorial_utils.reid train --out hacnn.pt
python -m tutorial_utils.reid evaluate --checkpoint hacnn.pt --json report.json
python -m tutorial_utils.reid ablation --out-dir runs/ablation --json ablation.json
python -m tutorial_utils.reid interventions --checkpoint hacnn.pt --json interventions.json
python -m tutorial_utils.reid attend-table --runs runs/out --json attend.json

A user's mistake (a bad option, a missing or unreadable file) is reported in one line with
exit status 2, as argparse reports its own; a run stopped by SIGTERM / SIGINT exits with
128 + the signal's number, a run whose loss diverged with 1. Only a bug shows a traceback.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Any, NoReturn

import torch.distributed as dist

from ..common.device import pick_device
from ..common.key_value import parse_key_value
from .cached import DATASETS, CachedSplit, load_split
from .data_options import check_data_options
from .evaluation import evaluate, format_report, write_json
from .training import (
    RUNTIME_SETTINGS,
    SCHEDULES,
    TrainConfig,
    TrainingDiverged,
    TrainingStopped,
    resume_config,
    train,
)
from .variants import ALL_VARIANTS, GATES

# Exceptions that mean the user asked for something impossible: one line, exit status 2.
USER_ERRORS = (ValueError, TypeError, FileNotFoundError, IsADirectoryError, NotADirectoryError)


def _add_data_arguments(parser: argparse.ArgumentParser, recorded: bool = False) -> None:
    group = parser.add_argument_group("data")
    # evaluate: None = what the checkpoint records
    as_recorded = " (default: the data the checkpoint was trained on)" if recorded else ""
    group.add_argument(
        "--dataset", choices=DATASETS, default=None if recorded else "synthetic", help=as_recorded
    )
    group.add_argument("--root", help="the Market-1501 folder (with --dataset market1501)")
    group.add_argument(
        "--data-seed",
        type=int,
        default=None if recorded else 0,
        help="seed of the synthetic data set" + as_recorded,
    )
    group.add_argument(
        "--data-option",
        type=parse_key_value,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="passed to the data set's constructor, e.g. --data-option num_train_ids=200"
        + (" (added to the recorded ones)" if recorded else ""),
    )


def _train_arguments(parser: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    parser.add_argument(
        "--out",
        default=d.out,
        help="checkpoint path, written after every epoch (default %(default)s; with --resume, "
        "the resumed file)",
    )
    parser.add_argument("--log", help="JSON log path (default: the checkpoint's with .json)")
    parser.add_argument(
        "--variant",
        choices=ALL_VARIANTS,
        default=d.variant,
        help="the paper's ablation (global, soft, hard, harmonious) or an attention "
        "experiment of lesson 10b (docs/reid.md lists them)",
    )
    parser.add_argument(
        "--gate",
        choices=GATES,
        default=d.gate,
        help="soft gate range: half = [0.5, 1) as HA-CNN; full = (0, 1), an experiment",
    )
    parser.add_argument("--nchannels", type=int, nargs=3, default=list(d.nchannels))
    parser.add_argument("--feat-dim", type=int, default=d.feat_dim)
    parser.add_argument("--epochs", type=int, default=d.epochs)
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="per process")
    parser.add_argument("--lr", type=float, default=d.lr, help="peak (onecycle) or initial (step)")
    parser.add_argument(
        "--localisation-lr",
        type=float,
        default=d.localisation_lr,
        help="an experiment: the stripe predictors' learning rate is --lr times this",
    )
    parser.add_argument("--momentum", type=float, default=d.momentum)
    parser.add_argument("--weight-decay", type=float, default=d.weight_decay)
    parser.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    parser.add_argument(
        "--milestones",
        type=float,
        nargs="+",
        default=list(d.milestones),
        help="step schedule: fractions of training where lr is multiplied by --gamma",
    )
    parser.add_argument("--gamma", type=float, default=d.gamma)
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    parser.add_argument("--no-flip", action="store_true", help="no horizontal-flip augmentation")
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: CUDA when present)")
    parser.add_argument("--threads", type=int, help="torch CPU threads")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    _add_data_arguments(parser)


def _config(args: argparse.Namespace, **overrides: Any) -> TrainConfig:
    names = {f.name for f in fields(TrainConfig)}
    values = {k: v for k, v in vars(args).items() if k in names}
    values.update(
        nchannels=tuple(args.nchannels),
        milestones=tuple(args.milestones),
        flip=not args.no_flip,
        progress=not args.no_progress,
        data_options=dict(args.data_option),
    )
    values.update(overrides)
    return TrainConfig(**values)


def _resumed_config(args: argparse.Namespace) -> TrainConfig:
    """The saved run's settings; a setting given on the command line must match it, except
    the runtime ones (out, log, device, threads, progress)."""
    defaults = _config(build_parser().parse_args(["train"]))
    given = _config(args)
    explicit = {
        f.name: getattr(given, f.name)
        for f in fields(TrainConfig)
        if getattr(given, f.name) != getattr(defaults, f.name)
    }
    runtime = {k: v for k, v in explicit.items() if k in RUNTIME_SETTINGS}
    config = resume_config(args.resume, **runtime)
    clashes = [
        f"--{k.replace('_', '-')} {v!r} (the run has {getattr(config, k)!r})"
        for k, v in explicit.items()
        if k not in RUNTIME_SETTINGS and v != getattr(config, k)
    ]
    if clashes:
        raise ValueError(
            "--resume continues a run with its own settings; drop "
            + ", ".join(clashes)
            + f" (only {', '.join(RUNTIME_SETTINGS)} may change)"
        )
    return config


def run_train(args: argparse.Namespace) -> None:
    try:
        if args.resume:
            config = _resumed_config(args)
            train(config, resume=args.resume)
        else:
            train(_config(args))
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def run_evaluate(args: argparse.Namespace) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        report = evaluate(
            args.checkpoint,
            dataset=args.dataset,
            root=args.root,
            data_seed=args.data_seed,
            data_options=dict(args.data_option) or None,
            init_seed=args.init_seed,
            attention_images=args.attention_images,
            device=args.device,
            compare_initial=not args.no_initial,
        )
    for warning in caught:
        print(f"warning: {warning.message}", file=sys.stderr)
    print(format_report(report))
    if args.json:
        write_json(args.json, report)
        print(f"wrote {args.json}")


# Arguments the ablation sets per run (or that are not settings): left out of its tables.
_NOT_SETTINGS = ("func", "command", "out", "log", "variant", "seed")


def _spread(values: list[float]) -> dict[str, Any]:
    return {
        "values": values,
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def run_ablation(args: argparse.Namespace) -> None:
    """Train and evaluate every variant with every seed on one data set; write a JSON table."""
    out_dir = Path(args.out_dir)
    check_data_options(args.dataset, dict(args.data_option))
    _config(args).check()  # every setting, before the data are drawn
    t0 = time.perf_counter()
    # Drawn once per set of data options (a variant may add its own) and shared by its runs.
    drawn: dict[str, tuple[CachedSplit, CachedSplit, CachedSplit]] = {}
    data_seconds = 0.0
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in args.variants}
    parameters: dict[str, int] = {}
    # Seeds outside, variants inside: a run cut short still has every variant for some seeds.
    for seed in args.seeds:
        for variant in args.variants:
            stem = out_dir / f"{variant}_seed{seed}"
            config = _config(
                args, variant=variant, seed=seed, out=str(stem.with_suffix(".pt")), log=None
            )
            key = json.dumps(config.dataset_options(), sort_keys=True)
            if key not in drawn:
                started = time.perf_counter()
                opts = {"root": args.root, "seed": args.data_seed}
                drawn[key] = tuple(  # type: ignore[assignment]
                    load_split(args.dataset, split, options=config.dataset_options(), **opts)
                    for split in ("train", "query", "gallery")
                )
                data_seconds += time.perf_counter() - started
            train_split, query, gallery = drawn[key]
            log = train(config, train_set=train_split, data_from_config=True).log
            parameters[variant] = log["parameters"]
            report = evaluate(
                config.out,
                dataset=args.dataset,
                data_seed=args.data_seed,
                attention_images=args.attention_images,
                device=args.device,
                compare_initial=False,
                splits=(query, gallery, None),
            )
            write_json(stem.with_suffix(".eval.json"), report)
            runs[variant].append(
                {
                    "seed": seed,
                    "rank1": report["rank1"],
                    "mAP": report["mAP"],
                    "train_seconds": log["total_seconds"],
                    "images_per_s": log["epochs"][-1]["images_per_s"],
                    "final_train_loss": log["epochs"][-1]["loss"],
                    "final_train_accuracy": log["epochs"][-1]["accuracy"],
                    "attention": report.get("attention", {}).get("trained"),
                }
            )
            print(
                f"{variant} seed {seed}: rank-1 {report['rank1']:.3f} mAP {report['mAP']:.3f}",
                flush=True,
            )
            _write_ablation(args, runs, parameters, data_seconds, t0)


def _write_ablation(
    args: argparse.Namespace,
    runs: dict[str, list[dict[str, Any]]],
    parameters: dict[str, int],
    data_seconds: float,
    t0: float,
) -> None:
    variants = {
        v: {
            "parameters": parameters[v],
            "rank1": _spread([r["rank1"] for r in rs]),
            "mAP": _spread([r["mAP"] for r in rs]),
            "runs": rs,
        }
        for v, rs in runs.items()
        if rs
    }
    payload = {
        "settings": {k: v for k, v in vars(args).items() if k not in _NOT_SETTINGS},
        "data_seconds": data_seconds,
        "total_seconds": time.perf_counter() - t0,
        "variants": variants,
    }
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")


def run_merge(args: argparse.Namespace) -> None:
    """Join ablation tables of the same settings run as separate processes (per seed or variant)."""
    tables = [json.loads(Path(p).read_text()) for p in args.inputs]
    keep = ("seeds", "variants", "out_dir", "json", "inputs")  # what may differ between parts
    first = {
        k: v for k, v in tables[0]["settings"].items() if k not in keep and k not in _NOT_SETTINGS
    }
    for path, table in zip(args.inputs[1:], tables[1:], strict=True):
        other = {
            k: v for k, v in table["settings"].items() if k not in keep and k not in _NOT_SETTINGS
        }
        if other != first:
            changed = sorted(k for k in first.keys() | other.keys() if first.get(k) != other.get(k))
            raise ValueError(f"{path} was run with other settings ({', '.join(changed)})")
    runs: dict[str, list[dict[str, Any]]] = {}
    parameters: dict[str, int] = {}
    for table in tables:
        for variant, entry in table["variants"].items():
            for run in entry["runs"]:
                if any(r["seed"] == run["seed"] for r in runs.get(variant, [])):
                    raise ValueError(f"{variant} with seed {run['seed']} is in more than one table")
                runs.setdefault(variant, []).append(run)
            parameters[variant] = entry["parameters"]
    settings = dict(
        first,
        seeds=sorted({s for t in tables for s in t["settings"]["seeds"]}),
        variants=[v for v in ALL_VARIANTS if v in runs],
    )
    payload = {
        "settings": settings,
        "data_seconds": max(t["data_seconds"] for t in tables),
        "total_seconds": sum(t["total_seconds"] for t in tables),
        "merged_from": [Path(p).name for p in args.inputs],
        "variants": {
            v: {
                "parameters": parameters[v],
                "rank1": _spread([r["rank1"] for r in rs]),
                "mAP": _spread([r["mAP"] for r in rs]),
                "runs": sorted(rs, key=lambda r: r["seed"]),
            }
            for v, rs in runs.items()
        },
    }
    Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {args.json}")


def run_interventions_command(args: argparse.Namespace) -> None:
    from .attend_table import checkpoint_interventions
    from .attention_estimates import to_json
    from .interventions import format_interventions

    _check_boot(args.boot)
    report = checkpoint_interventions(
        args.checkpoint, boot=args.boot, seed=args.seed, device=pick_device(args.device)
    )
    print(format_interventions(report))
    if args.json:
        write_json(args.json, to_json(report))
        print(f"wrote {args.json}")


def run_attend_table(args: argparse.Namespace) -> None:
    from .attend_table import attend_table

    _check_boot(args.boot)
    if args.interventions_of is not None and not Path(args.interventions_of).is_file():
        raise FileNotFoundError(f"--interventions-of {args.interventions_of}: no such file")
    table = attend_table(
        args.runs,
        boot=args.boot,
        seed=args.seed,
        interventions_of=args.interventions_of,
        device=pick_device(args.device),
        progress=not args.no_progress,
        finished_only=args.finished_only,
    )
    write_json(args.json, table)
    print(f"wrote {args.json} ({len(table['runs'])} runs)")


def _check_boot(boot: int) -> None:
    if boot < 1:
        raise ValueError(f"--boot must be >= 1 (bootstrap resamples), got {boot}")


def _add_bootstrap_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--boot", type=int, default=1000, help="bootstrap resamples")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap resamples")
    parser.add_argument("--device")


class OneLineParser(argparse.ArgumentParser):
    """An ArgumentParser whose mistakes are one line (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(ValueError(message))} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m tutorial_utils.reid",
        description="Train and evaluate HA-CNN for person re-identification.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_train = sub.add_parser("train", help="train HA-CNN (under torchrun: DDP)")
    _train_arguments(p_train)
    p_train.add_argument(
        "--resume",
        metavar="PATH",
        help="continue the run saved at PATH after its last finished epoch, with its settings",
    )
    p_train.set_defaults(func=run_train)

    p_eval = sub.add_parser("evaluate", help="rank-k, mAP and the attention measures")
    p_eval.add_argument("--checkpoint", required=True)
    p_eval.add_argument("--json", help="write the full report here")
    p_eval.add_argument("--init-seed", type=int, default=0, help="seed of the initial network")
    p_eval.add_argument("--attention-images", type=int, default=256)
    p_eval.add_argument("--no-initial", action="store_true", help="skip the initial network")
    p_eval.add_argument("--device")
    _add_data_arguments(p_eval, recorded=True)
    p_eval.set_defaults(func=run_evaluate)

    p_abl = sub.add_parser("ablation", help="every variant x seed: train, evaluate, tabulate")
    _train_arguments(p_abl)
    p_abl.add_argument("--out-dir", required=True, help="checkpoints and per-run reports")
    p_abl.add_argument("--json", required=True, help="the ablation table")
    p_abl.add_argument(
        "--variants", nargs="+", choices=ALL_VARIANTS, default=list(ALL_VARIANTS[:4])
    )
    p_abl.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p_abl.add_argument("--attention-images", type=int, default=256)
    p_abl.set_defaults(func=run_ablation)

    p_merge = sub.add_parser("merge-ablation", help="join ablation tables run in parallel")
    p_merge.add_argument("inputs", nargs="+", help="ablation JSON files")
    p_merge.add_argument("--json", required=True, help="the joined table")
    p_merge.set_defaults(func=run_merge)

    p_int = sub.add_parser(
        "interventions", help="rank-1 / mAP with each stage's attention replaced"
    )
    p_int.add_argument("--checkpoint", required=True)
    p_int.add_argument("--json", help="write the report here")
    _add_bootstrap_arguments(p_int)
    p_int.set_defaults(func=run_interventions_command)

    p_att = sub.add_parser("attend-table", help="measure every <variant>_seed<k>.pt in a folder")
    p_att.add_argument("--runs", required=True, help="folder of <variant>_seed<k>.pt (+ .json)")
    p_att.add_argument("--json", required=True, help="the table")
    p_att.add_argument("--interventions-of", metavar="CHECKPOINT", help="add its interventions")
    p_att.add_argument("--finished-only", action="store_true", help="leave out runs still training")
    p_att.add_argument("--no-progress", action="store_true", help="no tqdm bar")
    _add_bootstrap_arguments(p_att)
    p_att.set_defaults(func=run_attend_table)
    return parser


def main(argv: list[str] | None = None) -> None:
    """The command line; exits 2 on a user's mistake, 128 + N when stopped by signal N."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run: Callable[[argparse.Namespace], None] = args.func
    where = f"{parser.prog} {args.command}"
    try:
        run(args)
    except TrainingStopped as stopped:
        print(f"{where}: {stopped}", file=sys.stderr)
        raise SystemExit(128 + stopped.signum) from None
    except TrainingDiverged as diverged:
        print(f"{where}: error: {diverged}", file=sys.stderr)
        raise SystemExit(1) from None
    except USER_ERRORS as error:
        print(f"{where}: error: {_one_line(error)}", file=sys.stderr)
        raise SystemExit(2) from None
    except OSError as error:  # a full disk, a permission: not the user's typing, but theirs to fix
        print(f"{where}: error: {_one_line(error)}", file=sys.stderr)
        raise SystemExit(1) from None


def _one_line(error: BaseException) -> str:
    return " ".join((str(error).strip() or type(error).__name__).split())
