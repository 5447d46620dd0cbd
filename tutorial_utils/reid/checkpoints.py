"""Save and load trained HA-CNNs in torchreid's checkpoint layout, with the widths beside them.

A file is ``{"state_dict": ..., "epoch": int, "hacnn": {...}}``, as torchreid saves
(``state_dict`` keys are torchreid's ``hacnn.py`` names), plus an ``hacnn`` entry holding
what is needed to rebuild the network: ``num_classes``, ``nchannels``, ``feat_dim``, the
ablation ``variant`` and the soft ``gate`` range. Only tensors and plain containers are
stored, so it loads with ``torch.load(..., weights_only=True)``;
``tutorial_utils.load_checkpoint(HACNN(...), path)`` reads the full model's files with
``strict=True`` as it reads torchreid's. Files written by training also hold a ``training``
entry (optimizer, scheduler and random states, the run's settings and log) that
``--resume`` continues from.

Every file is written atomically: to a temporary file in the same folder, then renamed over
the target, so an interrupted write leaves the previous file whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..common.images import IMAGENET_MEAN, IMAGENET_STD
from ..common.seeding import seeded
from ..hacnn.checkpoint import load_checkpoint, read_checkpoint_file
from ..hacnn.model import HACNN
from .variants import build_model, check_variant

# What load_model's networks expect, attached to them as ``input_note``.
INPUT_NOTE = (
    "expects float32 images (N, 3, 160, 64) standardised with ImageNet's mean "
    f"{IMAGENET_MEAN} and std {IMAGENET_STD}, not raw [0, 1] pixels: pass "
    "tutorial_utils.common.normalize(images), or build the data set with normalize=True"
)

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
    """Write the model's state_dict with its architecture, atomically; returns the path."""
    check_variant(variant)
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
    payload = {"state_dict": state, "epoch": int(epoch), "hacnn": arch, **(extra or {})}
    return atomic_write(path, lambda handle: torch.save(payload, handle))


def atomic_write(path: str | Path, write: Any) -> Path:
    """Call ``write(binary file)`` on a temporary file beside ``path``, then rename it over
    ``path``; returns the path. A failure (a full disk, a kill) leaves the old file whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(
        dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"
    )
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        if isinstance(error, OSError):
            raise OSError(
                error.errno,
                f"could not write {path} ({error.strerror or error}); the previous file there, "
                "if any, is unchanged",
            ) from error
        raise
    return path


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """The whole checkpoint dict of ``path`` (weights_only; clear errors for bad files)."""
    blob = read_checkpoint_file(path)
    if not isinstance(blob, dict):
        raise ValueError(
            f"{path} holds a {type(blob).__name__}, not a checkpoint dict with 'state_dict'"
        )
    return blob


def read_architecture(path: str | Path) -> dict[str, Any]:
    """The ``hacnn`` entry of a checkpoint: num_classes, nchannels, feat_dim, variant."""
    blob = read_checkpoint_file(path)
    arch = blob.get("hacnn") if isinstance(blob, dict) else None
    if not isinstance(arch, dict) or any(k not in arch for k in _ARCH_KEYS):
        raise ValueError(
            f"{path} has no architecture entry 'hacnn' with keys {', '.join(_ARCH_KEYS)}; "
            "it was not written by `python -m tutorial_utils.reid train`. Build the HACNN "
            "yourself and load it with tutorial_utils.load_checkpoint(model, path)"
        )
    return arch


def recorded_data(path: str | Path) -> dict[str, Any] | None:
    """The data a checkpoint's model was trained on: ``dataset``, ``root``, ``data_seed``,
    ``data_options``; from the checkpoint, or else from the training log beside it (the
    checkpoint's name with .json, as ``train`` writes it); None if neither records it."""
    path = Path(path)
    blob = read_checkpoint_file(path)
    if isinstance(blob, dict) and isinstance(blob.get("data"), dict):
        return dict(blob["data"])
    log_path = path.with_suffix(".json")
    try:
        log = json.loads(log_path.read_text())
    except (OSError, ValueError):
        return None
    args = log.get("args") if isinstance(log, dict) else None
    named = Path(str(log.get("checkpoint", path.name))).name if isinstance(log, dict) else ""
    if not isinstance(args, dict) or named != path.name or "dataset" not in args:
        return None
    return {
        "dataset": args["dataset"],
        "root": args.get("root"),
        "data_seed": args.get("data_seed", 0),
        "data_options": dict(args.get("data_options") or {}),
    }


def load_model(path: str | Path, device: str | torch.device = "cpu") -> HACNN:
    """The trained HACNN of a checkpoint, rebuilt at its own widths, in eval mode on ``device``.

    The network expects ImageNet-standardised input, not the data sets' [0, 1] images (its
    ``input_note`` says so): ``model(normalize(images))``. Raw [0, 1] images give features
    that rank far worse, without any error.
    """
    arch = read_architecture(path)
    model = _build(arch)
    load_checkpoint(model, path, strict=True)
    model.input_note = INPUT_NOTE
    return model.to(device).eval()


def initial_model(path: str | Path, seed: int = 0, device: str | torch.device = "cpu") -> HACNN:
    """The checkpoint's architecture at ``path``, freshly initialised from ``seed``, in eval.

    The global random generator is left as it was: the weights are drawn under a forked one.
    """
    arch = read_architecture(path)
    with seeded(seed):  # torch.manual_seed(seed)'s draws, on a forked CPU generator
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
