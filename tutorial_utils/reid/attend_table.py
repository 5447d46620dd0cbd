"""The attention experiments' table: every ``<variant>_seed<k>.pt`` in a folder, measured.

For each run: its variant (what it changes, whether a loss taught the attention), its data
options, parameters and training time (from the training log ``<variant>_seed<k>.json``
beside it), rank-1 and mAP on the test split of the data it was trained on, and
``measure_attention`` on the fixed evaluation subset of that data (its query split's first
256 images: a run trained on other data, such as confusing backgrounds, is measured on its
own). Every number carries a 95 % bootstrap interval. Optionally the interventions of one
checkpoint (the shipped model) go in too. ``python -m tutorial_utils.reid attend-table``.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from .attention_estimates import BINS, PERSON_COVER, measure_attention, to_json
from .bootstrap import BOOT, LEVEL
from .cached import CachedSplit, load_split
from .checkpoints import load_model, recorded_data
from .evaluation_subset import SUBSET_SIZE, evaluation_subset
from .interventions import run_interventions
from .ranking_estimates import ranking_estimates
from .variants import ALL_VARIANTS, parameter_count, variant_spec

RUN_NAME = re.compile(r"^(?P<variant>[a-z_]+)_seed(?P<seed>\d+)\.pt$")
SplitLoader = Callable[[dict[str, Any], str], CachedSplit]


def find_runs(runs_dir: str | Path) -> list[tuple[str, int, Path]]:
    """(variant, seed, checkpoint) for every ``<variant>_seed<k>.pt`` in ``runs_dir``, in
    ALL_VARIANTS order then by seed; files of unknown variants are skipped with a warning."""
    folder = Path(runs_dir)
    if not folder.is_dir():
        raise NotADirectoryError(f"--runs {folder} is not a folder of <variant>_seed<k>.pt files")
    runs = []
    for path in sorted(folder.glob("*.pt")):
        match = RUN_NAME.match(path.name)
        if match is None:
            continue
        if match["variant"] not in ALL_VARIANTS:
            warnings.warn(
                f"skipping {path.name}: unknown variant {match['variant']!r}", stacklevel=2
            )
            continue
        runs.append((match["variant"], int(match["seed"]), path))
    if not runs:
        raise FileNotFoundError(f"no <variant>_seed<k>.pt checkpoints in {folder}")
    return sorted(runs, key=lambda r: (ALL_VARIANTS.index(r[0]), r[1]))


def _recorded(path: Path) -> dict[str, Any]:
    data = recorded_data(path)
    if data is None:
        raise ValueError(
            f"{path} records no training data (neither in the file nor in a log beside it); "
            "the table measures each run on the data it was trained on"
        )
    if data["dataset"] != "synthetic":
        raise ValueError(
            f"{path} was trained on {data['dataset']!r}; the attention measures need the "
            "synthetic pedestrians' masks and boxes"
        )
    return data


def _default_loader(data: dict[str, Any], split: str) -> CachedSplit:
    return load_split(
        data["dataset"], split, root=data.get("root"), seed=data["data_seed"],
        options=data["data_options"],
    )  # fmt: skip


def _training_log(path: Path) -> dict[str, Any]:
    try:
        log = json.loads(path.with_suffix(".json").read_text())
    except (OSError, ValueError):
        return {}
    return log if isinstance(log, dict) else {}


def _finished(path: Path) -> bool:
    """Whether the training log beside ``path`` has every planned epoch (no log: unknown, kept)."""
    log = _training_log(path)
    epochs, planned = log.get("epochs"), (log.get("args") or {}).get("epochs")
    return not (isinstance(epochs, list) and isinstance(planned, int) and len(epochs) < planned)


def measure_run(
    variant: str,
    seed: int,
    path: Path,
    query: CachedSplit,
    gallery: CachedSplit,
    data: dict[str, Any],
    *,
    boot: int = BOOT,
    boot_seed: int = 0,
    device: str | torch.device = "cpu",
) -> dict[str, Any]:
    """One row of the table (Estimates as objects)."""
    spec = variant_spec(variant)
    model = load_model(path, device)
    log = _training_log(path)
    epochs = log.get("epochs") if isinstance(log.get("epochs"), list) else None
    planned = (log.get("args") or {}).get("epochs")
    return {
        "variant": variant,
        "seed": seed,
        "checkpoint": path.name,
        "summary": spec.summary,
        "taught": spec.mask_loss > 0 or spec.stripe_loss > 0,
        "data_options": data["data_options"],
        "parameters": parameter_count(model),
        "train_seconds": log.get("train_seconds"),
        "epochs_done": None if epochs is None else len(epochs),
        "epochs_planned": planned,
        "num_query": len(query),
        "num_gallery": len(gallery),
        **ranking_estimates(model, query, gallery, boot, boot_seed),
        "attention": measure_attention(model, query, boot=boot, seed=boot_seed),
    }


def checkpoint_interventions(
    checkpoint: str | Path,
    *,
    boot: int = BOOT,
    seed: int = 0,
    device: str | torch.device = "cpu",
    load: SplitLoader = _default_loader,
) -> dict[str, Any]:
    """``run_interventions`` on a checkpoint, on the test split of its recorded data."""
    path = Path(checkpoint)
    data = _recorded(path)
    query, gallery = load(data, "query"), load(data, "gallery")
    model = load_model(path, device)
    report = run_interventions(
        model, query, gallery, evaluation_subset(query), boot=boot, seed=seed
    )
    return {"checkpoint": str(path), "data": data, **report}


def _spread(values: list[float | None]) -> dict[str, float | int] | None:
    """Mean, min and max over seeds of the values that are defined; None if none is."""
    defined = [v for v in values if v is not None]
    if not defined:
        return None
    return {"mean": sum(defined) / len(defined), "min": min(defined), "max": max(defined),
            "n": len(defined)}  # fmt: skip


def _value(entry: Any, *keys: Any) -> float | None:
    """The "value" at ``entry[k0][k1]...`` of a JSON row, None where any step is missing."""
    for key in keys:
        if entry is None:
            return None
        entry = entry[key]
    return None if entry is None else entry["value"]


def seed_spread(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per variant, over its seeds: the spread (mean, min, max) of rank-1, mAP and, per stage,
    the soft map's mass ratio and AUROC and the stripes' mean |corr(ty, dy)|. Read against
    the bootstrap intervals: those say what other images would give, this what another seed."""
    out: dict[str, dict[str, Any]] = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        runs = [r for r in rows if r["variant"] == variant]
        entry: dict[str, Any] = {
            "seeds": [r["seed"] for r in runs],
            "rank1": _spread([_value(r, "rank1") for r in runs]),
            "mAP": _spread([_value(r, "mAP") for r in runs]),
        }
        for name, part, keys in (
            ("mass_ratio", "soft", ("mass_ratio",)),
            ("auroc", "soft", ("auroc",)),
            ("mean_abs_corr", "hard", ("mean_abs_corr",)),
        ):
            entry[name] = [
                _spread(
                    [
                        None
                        if r["attention"][part] is None
                        else _value(r["attention"][part][stage], *keys)
                        for r in runs
                    ]
                )
                for stage in range(3)
            ]
        out[variant] = entry
    return out


def attend_table(
    runs_dir: str | Path,
    *,
    boot: int = BOOT,
    seed: int = 0,
    interventions_of: str | Path | None = None,
    device: str | torch.device = "cpu",
    progress: bool = True,
    finished_only: bool = False,
    load: SplitLoader = _default_loader,
) -> dict[str, Any]:
    """{"settings", "runs": [one per checkpoint], "seed_spread": {per variant},
    "interventions": {...} or None}, as JSON
    (Estimates as {"value", "low", "high"}). ``finished_only``: leave out runs whose training
    log has epochs to go (a run still training writes a checkpoint after every epoch).
    ``load(data, split)`` reads a split (tests pass a small one)."""
    runs = find_runs(runs_dir)
    if finished_only:
        runs = [run for run in runs if _finished(run[2])]
        if not runs:
            raise FileNotFoundError(f"no finished run in {runs_dir} (every log has epochs to go)")
    cache: dict[str, tuple[CachedSplit, CachedSplit]] = {}
    rows = []
    for variant, run_seed, path in tqdm(runs, desc="runs", unit="run", disable=not progress):
        data = _recorded(path)
        key = json.dumps(data, sort_keys=True)
        if key not in cache:
            cache[key] = (load(data, "query"), load(data, "gallery"))
        query, gallery = cache[key]
        rows.append(
            to_json(
                measure_run(
                    variant,
                    run_seed,
                    path,
                    query,
                    gallery,
                    data,
                    boot=boot,
                    boot_seed=seed,
                    device=device,
                )  # fmt: skip
            )
        )
    intervened = None
    if interventions_of is not None:
        intervened = to_json(
            checkpoint_interventions(
                interventions_of, boot=boot, seed=seed, device=device, load=load
            )  # fmt: skip
        )
    settings = {
        "runs_dir": str(runs_dir),
        "finished_only": finished_only,
        "boot": boot,
        "seed": seed,
        "level": LEVEL,
        "interval": "percentile bootstrap over images (attention) and queries (ranking)",
        "subset": f"the first {SUBSET_SIZE} query images of each run's own data",
        "auroc_bins": BINS,
        "person_cell": f"covered >= {PERSON_COVER} by the person mask",
        "background_cell": "not covered by the person mask",
        "rank": "fractions (1.0 = 100 %), the test split of each run's data",
    }
    return {
        "settings": settings,
        "runs": rows,
        "seed_spread": seed_spread(rows),
        "interventions": intervened,
    }
