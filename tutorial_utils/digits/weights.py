"""The four trained DigitNets and their learning curves in one file, read back safely."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from .models import DigitNet, build_variant
from .train import RunResult


def save_checkpoint(models: dict[str, nn.Module], results: Sequence[RunResult], path: Path) -> None:
    """Save every model's state_dict and its learning curves as plain tensors.

    Plain tensors only, so ``torch.load(..., weights_only=True)`` reads the file back.
    """
    payload: dict[str, dict[str, torch.Tensor]] = {}
    for r in results:
        state = {k: v.detach().clone() for k, v in models[r.name].state_dict().items()}
        curves = {
            f"history.{k}": torch.tensor(v, dtype=torch.float64) for k, v in r.history.items()
        }
        payload[r.name] = {**state, **curves}
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(payload, path)


def load_trained(path: Path) -> tuple[dict[str, DigitNet], dict[str, dict[str, list[float]]]]:
    """Models and learning curves saved by ``save_checkpoint`` (read with weights_only=True)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    models, histories = {}, {}
    for name, entries in payload.items():
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
