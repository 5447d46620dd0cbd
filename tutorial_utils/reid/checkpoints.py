"""Save and load trained HA-CNNs in torchreid's checkpoint layout, with the widths beside them.

A file is ``{"state_dict": ..., "epoch": int, "hacnn": {...}}``, as torchreid saves
(``state_dict`` keys are torchreid's ``hacnn.py`` names), plus an ``hacnn`` entry holding
what is needed to rebuild the network: ``num_classes``, ``nchannels``, ``feat_dim``, the
ablation ``variant`` and the soft ``gate`` range. Only tensors and plain containers are
stored, so it loads with ``torch.load(..., weights_only=True)``;
``tutorial_utils.load_checkpoint(HACNN(...), path)`` reads the full model's files with
``strict=True`` as it reads torchreid's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..hacnn.checkpoint import load_checkpoint
from ..hacnn.model import HACNN
from .variants import build_model, check_variant

_ARCH_KEYS = ("num_classes", "nchannels", "feat_dim", "variant")


def unwrap(model: nn.Module) -> nn.Module:
    """The model inside a DistributedDataParallel (or DataParallel) wrapper, else the model."""
    return model.module if hasattr(model, "module") else model


def save_checkpoint(
    path: str | Path,
    model: nn.Module,
    *,
    num_classes: int,
    nchannels: tuple[int, int, int],
    feat_dim: int,
    variant: str,
    epoch: int,
    gate: str = "half",
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write the model's state_dict with its architecture; returns the path."""
    check_variant(variant)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.detach().cpu().contiguous().clone() for k, v in unwrap(model).state_dict().items()
    }
    arch = {
        "num_classes": int(num_classes),
        "nchannels": [int(c) for c in nchannels],
        "feat_dim": int(feat_dim),
        "variant": variant,
        "gate": gate,
    }
    torch.save({"state_dict": state, "epoch": int(epoch), "hacnn": arch, **(extra or {})}, path)
    return path


def read_architecture(path: str | Path) -> dict[str, Any]:
    """The ``hacnn`` entry of a checkpoint: num_classes, nchannels, feat_dim, variant."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint file at {path}")
    blob = torch.load(path, map_location="cpu", weights_only=True)
    arch = blob.get("hacnn") if isinstance(blob, dict) else None
    if not isinstance(arch, dict) or any(k not in arch for k in _ARCH_KEYS):
        raise ValueError(
            f"{path} has no architecture entry 'hacnn' with keys {', '.join(_ARCH_KEYS)}; "
            "it was not written by `python -m tutorial_utils.reid train`. Build the HACNN "
            "yourself and load it with tutorial_utils.load_checkpoint(model, path)"
        )
    return arch


def load_model(path: str | Path, device: str | torch.device = "cpu") -> HACNN:
    """The trained HACNN of a checkpoint, rebuilt at its own widths, in eval mode on ``device``."""
    arch = read_architecture(path)
    model = _build(arch)
    load_checkpoint(model, path, strict=True)
    return model.to(device).eval()


def initial_model(path: str | Path, seed: int = 0, device: str | torch.device = "cpu") -> HACNN:
    """The checkpoint's architecture at ``path``, freshly initialised from ``seed``, in eval.

    The global random generator is left as it was: the weights are drawn under a forked one.
    """
    arch = read_architecture(path)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = _build(arch)
    return model.to(device).eval()


def _build(arch: dict[str, Any]) -> HACNN:
    return build_model(
        arch["num_classes"],
        tuple(arch["nchannels"]),
        arch["feat_dim"],
        arch["variant"],
        gate=arch.get("gate", "half"),
    )
