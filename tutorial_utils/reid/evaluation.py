"""Evaluate a trained HA-CNN: rank-k and mAP on query/gallery, and what its attention learned."""

from __future__ import annotations

import json
import time
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..common.batchnorm import calibrate_batchnorm
from ..common.device import pick_device
from ..common.images import normalize
from .attention_measures import attention_measures
from .cached import CachedSplit, load_split
from .checkpoints import initial_model, load_model, read_architecture, recorded_data
from .data_options import check_data_options
from .metrics import RankingResult, evaluate_ranking, pairwise_distance


def extract_features(model: nn.Module, images: torch.Tensor, batch_size: int = 128) -> torch.Tensor:
    """(N, 3, 160, 64) images in [0, 1] -> (N, D) eval-mode features, on the CPU.

    The batches go to the device of ``model``'s parameters; a module with none (a compiled
    package, ``PackagedHACNN``) runs on the CPU.
    """
    first = next(model.parameters(), None)
    device = first.device if first is not None else torch.device("cpu")
    model.eval()
    with torch.no_grad():
        return torch.cat(
            [model(normalize(chunk.to(device))).cpu() for chunk in images.split(batch_size)]
        )


def rank_model(model: nn.Module, query: CachedSplit, gallery: CachedSplit) -> RankingResult:
    """CMC and mAP of ``model`` with the standard protocol (see ``metrics``)."""
    if len(gallery) == 0:
        raise ValueError("the gallery is empty: nothing to rank the queries against")
    distmat = pairwise_distance(
        extract_features(model, query.images), extract_features(model, gallery.images)
    )
    return evaluate_ranking(distmat, query.pids, gallery.pids, query.camids, gallery.camids)


def evaluate(
    checkpoint: str | Path,
    *,
    dataset: str | None = None,
    root: str | None = None,
    data_seed: int | None = None,
    data_options: dict[str, Any] | None = None,
    init_seed: int = 0,
    attention_images: int = 256,
    device: str | None = None,
    compare_initial: bool = True,
    splits: tuple[CachedSplit, CachedSplit, CachedSplit | None] | None = None,
) -> dict[str, Any]:
    """Everything ``python -m tutorial_utils.reid evaluate`` reports, as a JSON-ready dict.

    Top-level ``rank1``, ``rank5``, ``rank10``, ``mAP`` and ``cmc`` are the trained model's;
    ``initial`` holds the same for the network at initialisation (seed ``init_seed``), and
    ``attention`` the measures of both (synthetic data only). ``splits`` (query, gallery,
    train) overrides the data set (tests pass small ones); train images, when given, set the
    BatchNorm statistics of a second initial model, ``initial_bn_calibrated``.

    The data: by default the test splits of the data the model was trained on, as the
    checkpoint (or the training log beside it) records them. ``dataset``, ``root`` and
    ``data_seed`` replace the recorded ones; ``data_options`` are added to the recorded ones
    (all replaced if ``dataset`` differs). Data other than the recorded, or no record at all,
    gives a UserWarning that says what is evaluated; the report's ``data_as_recorded`` too.
    """
    t0 = time.perf_counter()
    dev = pick_device(device)
    arch = read_architecture(checkpoint)
    if splits is None:
        data = choose_data(checkpoint, dataset, root, data_seed, data_options)
        dataset, data_seed, data_options = data["dataset"], data["data_seed"], data["data_options"]
        check_data_options(dataset, data_options)
        opts = {"root": data["root"], "seed": data_seed, "options": data_options}
        query = load_split(dataset, "query", **opts)
        gallery = load_split(dataset, "gallery", **opts)
        train_split = load_split(dataset, "train", **opts) if compare_initial else None
    else:
        query, gallery, train_split = splits
    models: dict[str, nn.Module] = {"trained": load_model(checkpoint, dev)}
    if compare_initial:
        models["initial"] = initial_model(checkpoint, init_seed, dev)
        if train_split is not None:
            # Random weights, but BatchNorm statistics measured on 64 training images: the
            # state lessons 02-06 showed before a trained model existed.
            calibrated = initial_model(checkpoint, init_seed, dev)
            generator = torch.Generator().manual_seed(init_seed)
            pick = torch.randperm(len(train_split), generator=generator)[:64]
            calibrate_batchnorm(calibrated, normalize(train_split.images[pick].to(dev)))
            models["initial_bn_calibrated"] = calibrated.eval()

    report: dict[str, Any] = {
        "checkpoint": str(checkpoint),
        "architecture": arch,
        "data_as_recorded": None if splits is not None else data["as_recorded"],
        "dataset": dataset,
        "data_seed": data_seed,
        "data_options": dict(data_options or {}),
        "num_query": len(query),
        "num_gallery": len(gallery),
    }
    for name, model in models.items():
        result = rank_model(model, query, gallery).as_dict()
        if name == "trained":
            report.update(result)
        else:
            report[name] = result
    if query.has_ground_truth:
        # Both splits are unseen identities; the gallery's images are as good as the queries'.
        probe = gallery if len(gallery) >= len(query) else query
        report["attention"] = {
            name: attention_measures(model, probe, attention_images)
            for name, model in models.items()
        }
    report["seconds"] = time.perf_counter() - t0
    return report


def choose_data(
    checkpoint: str | Path,
    dataset: str | None = None,
    root: str | None = None,
    data_seed: int | None = None,
    data_options: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The data ``evaluate`` uses: the recorded training data, changed by what is given; warns
    when the result differs from the record, or when there is no record."""
    recorded = recorded_data(checkpoint)
    given = {"dataset": dataset, "root": root, "data_seed": data_seed}
    if recorded is None:
        chosen = {
            "dataset": dataset or "synthetic",
            "root": root,
            "data_seed": 0 if data_seed is None else data_seed,
            "data_options": dict(data_options or {}),
        }
        warnings.warn(
            f"{checkpoint} records no training data (neither in the file nor in a log beside "
            f"it); evaluating on {_describe(chosen)}, which may not be what the model was "
            "trained on",
            UserWarning,
            stacklevel=3,
        )
        return {**chosen, "as_recorded": False}
    same_dataset = dataset in (None, recorded["dataset"])
    chosen = {k: recorded[k] if v is None and same_dataset else v for k, v in given.items()}
    chosen["dataset"] = chosen["dataset"] or recorded["dataset"]
    if chosen["data_seed"] is None:
        chosen["data_seed"] = 0
    base = dict(recorded["data_options"]) if same_dataset else {}
    chosen["data_options"] = {**base, **(data_options or {})}
    as_recorded = all(chosen[k] == recorded.get(k) for k in chosen)
    if not as_recorded:
        warnings.warn(
            f"evaluating {checkpoint} on {_describe(chosen)}, not on the data it was trained on "
            f"({_describe(recorded)}); leave out --dataset, --data-seed and --data-option to "
            "use the recorded data",
            UserWarning,
            stacklevel=3,
        )
    return {**chosen, "as_recorded": as_recorded}


def _describe(data: dict[str, Any]) -> str:
    options = ", ".join(f"{k}={v!r}" for k, v in sorted(data["data_options"].items()))
    where = f" at {data['root']}" if data.get("root") else ""
    return f"{data['dataset']}{where} (data seed {data['data_seed']}, options: {options or 'none'})"


def format_report(report: dict[str, Any]) -> str:
    """A short human-readable summary of ``evaluate``'s output."""
    options = ", ".join(f"{k}={v!r}" for k, v in sorted(report["data_options"].items()))
    lines = [
        f"{report['num_query']} queries, {report['num_gallery']} gallery images "
        f"({report['dataset']}{', ' + options if options else ''})",
        f"{'model':24s} {'rank-1':>7s} {'rank-5':>7s} {'rank-10':>7s} {'mAP':>7s}",
    ]
    rows = [("trained", report)] + [
        (k, report[k]) for k in ("initial", "initial_bn_calibrated") if k in report
    ]
    for name, r in rows:
        lines.append(
            f"{name:24s} {100 * r['rank1']:7.1f} {100 * r['rank5']:7.1f} "
            f"{100 * r['rank10']:7.1f} {100 * r['mAP']:7.1f}"
        )
    for name, m in report.get("attention", {}).items():
        if m["soft"] is not None:
            ratios = ", ".join(f"{s['mass_ratio']:.3f}" for s in m["soft"])
            gates = ", ".join(f"{s['gate_in_out_median']:.3f}" for s in m["soft"])
            lines.append(f"{name}: soft mass inside / uniform share per stage: {ratios}")
            lines.append(f"{name}: median per-channel gate inside / outside: {gates}")
        if m["hard"] is not None:
            corr = "; ".join(", ".join(f"{c:+.2f}" for c in h["ty_corr_dy"]) for h in m["hard"])
            lines.append(f"{name}: corr(ty, true dy) per stage (4 stripes each): {corr}")
            cover = "; ".join(
                ", ".join(f"{k} {v:.2f}" for k, v in h["coverage"].items()) for h in m["hard"]
            )
            lines.append(f"{name}: part coverage by the stripes per stage: {cover}")
    return "\n".join(lines)


def write_json(path: str | Path, report: dict[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2) + "\n")
    return path
