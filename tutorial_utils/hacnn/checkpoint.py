"""Load a state_dict (for example a torchreid HA-CNN checkpoint) with errors a person can act on."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

_WRAPPER_KEYS = ("state_dict", "model")  # torchreid saves {"state_dict": ..., "epoch": ...}


def read_state_dict(source: str | Path | Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A plain state_dict from a path or mapping: unwraps ``state_dict`` and strips ``module.``.

    Files are read with ``torch.load(..., weights_only=True)``: tensors and plain containers
    only, never arbitrary pickled code.
    """
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"no checkpoint file at {path}")
        source = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(source, Mapping):
        raise TypeError(
            f"expected a state_dict (a mapping of names to tensors), got {type(source).__name__}"
        )
    for key in _WRAPPER_KEYS:
        if key in source and isinstance(source[key], Mapping):
            source = source[key]
            break
    # Models saved from nn.DataParallel carry a "module." prefix on every key.
    return {k.removeprefix("module."): v for k, v in source.items()}


def check_state_dict(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], strict: bool = True
) -> None:
    """Raise one ValueError that lists missing, unexpected and mis-shaped keys."""
    expected = model.state_dict()
    problems = []
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    if strict and missing:
        problems.append(f"missing keys ({len(missing)}): {_preview(missing)}")
    if strict and unexpected:
        problems.append(f"unexpected keys ({len(unexpected)}): {_preview(unexpected)}")
    mismatched = [
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(expected) & set(state_dict))
        if tuple(state_dict[k].shape) != tuple(expected[k].shape)
    ]
    if mismatched:
        problems.append(f"shape mismatches ({len(mismatched)}): {_preview(mismatched)}")
    if problems:
        raise ValueError(
            f"checkpoint does not fit {type(model).__name__}: "
            + "; ".join(problems)
            + ". If only the classifiers differ (another number of identities), drop the "
            "'classifier_' keys and load with strict=False."
        )


def load_checkpoint(
    model: nn.Module, source: str | Path | Mapping[str, torch.Tensor], strict: bool = True
) -> nn.Module:
    """Check, then load ``source`` into ``model`` in place; returns the model."""
    state_dict = read_state_dict(source)
    check_state_dict(model, state_dict, strict=strict)
    model.load_state_dict(state_dict, strict=strict)
    return model


def _preview(items: list[str], limit: int = 5) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... (+{len(items) - limit} more)" if len(items) > limit else "")
