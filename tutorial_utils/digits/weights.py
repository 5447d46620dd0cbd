"""The trained DigitNets of every seed and their learning curves in one file, read back safely.

The file is ``{"seed0": {variant: {state_dict entries, "history.<curve>": tensor}}, ...}``:
plain tensors in plain dicts, so ``torch.load(..., weights_only=True)`` reads it. Variants
saved under their old names ("baseline", "narrow_baseline", as in the shipped file) are read
under today's ("global", "narrow_global"). ``load_model`` reads one seed, as ``reid.load_model``
reads the re-identification model; ``load_trained`` is its old name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from torch import nn

from ..common.deprecation import warn_moved
from .models import RENAMED_VARIANTS, DigitNet, build_variant
from .train import RunResult


def save_checkpoint(
    runs: Mapping[int, tuple[dict[str, nn.Module], Sequence[RunResult]]], path: Path
) -> None:
    """Save, per seed, every model's state_dict and its learning curves as plain tensors.

    ``runs`` maps a seed to the (models, results) that ``run_experiment`` returned for it.
    """
    payload: dict[str, dict[str, dict[str, torch.Tensor]]] = {}
    for seed, (models, results) in runs.items():
        entry = payload.setdefault(f"seed{seed}", {})
        for r in results:
            state = {k: v.detach().clone() for k, v in models[r.name].state_dict().items()}
            curves = {
                f"history.{k}": torch.tensor(v, dtype=torch.float64) for k, v in r.history.items()
            }
            entry[r.name] = {**state, **curves}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def trained_seeds(path: Path) -> list[int]:
    """The seeds a checkpoint written by ``save_checkpoint`` holds, in increasing order."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    return sorted(int(key.removeprefix("seed")) for key in payload)


def load_model(
    path: Path, seed: int = 0
) -> tuple[dict[str, DigitNet], dict[str, dict[str, list[float]]]]:
    """One seed's models (eval mode) and learning curves saved by ``save_checkpoint``, keyed
    by variant name in today's vocabulary."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    key = f"seed{seed}"
    if key not in payload:
        held = ", ".join(sorted(payload))
        raise KeyError(f"{path} holds no run with seed {seed!r}; it holds {held}")
    models, histories = {}, {}
    for saved_name, entries in payload[key].items():
        name = RENAMED_VARIANTS.get(saved_name, saved_name)  # the file's own word: no warning
        model = build_variant(name)
        state = {k: v for k, v in entries.items() if not k.startswith("history.")}
        model.load_state_dict(state, strict=True)
        models[name] = model.eval()
        histories[name] = {
            k.removeprefix("history."): v.tolist()
            for k, v in entries.items()
            if k.startswith("history.")
        }
    return models, histories


def __getattr__(name: str) -> object:
    """``load_trained`` is ``load_model``'s old name, kept for one release with a warning."""
    if name != "load_trained":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warn_moved(f"{__name__}.load_trained", f"{__name__}.load_model")
    return load_model
