"""The HA-CNN shipped with the package, trained on synthetic pedestrians, and the data it knows.

Lessons 02b-06b and 09b read attention off this network *beside the same network at
initialisation*: a map means something only against that baseline. The weights are
``data/hacnn_synthetic.pt`` and the run's log ``data/hacnn_synthetic.json``; the log holds the
data-set seed and options, so :func:`shipped_pedestrians` draws from the same distribution
(its test identities were never seen in training).
"""

from __future__ import annotations

import json
from typing import Any

import torch

from ..common.images import data_file
from ..hacnn.model import HACNN
from .checkpoints import initial_model, load_model
from .synthetic import SyntheticPedestrians

SHIPPED_WEIGHTS = "hacnn_synthetic.pt"
SHIPPED_LOG = "hacnn_synthetic.json"


def shipped_settings() -> dict[str, Any]:
    """What the shipped run was: ``data_seed``, ``data_options``, ``seed``, ``epochs``,
    ``nchannels``, ``feat_dim``, ``variant`` and the rest of its training arguments."""
    log = json.loads(data_file(SHIPPED_LOG).read_text())
    return dict(log["args"])


def shipped_model(trained: bool = True, device: str | torch.device = "cpu") -> HACNN:
    """The shipped HA-CNN in eval mode: trained, or (``trained=False``) the same architecture
    initialised from the training run's own seed, i.e. the weights training started from."""
    path = data_file(SHIPPED_WEIGHTS)
    if not isinstance(trained, bool):
        raise TypeError(f"trained must be True or False, got {trained!r}")
    if trained:
        return load_model(path, device=device)
    return initial_model(path, seed=int(shipped_settings()["seed"]), device=device)


def shipped_pedestrians(split: str, **overrides: Any) -> SyntheticPedestrians:
    """``SyntheticPedestrians(split)`` with the shipped run's seed and options (for example
    ``difficulty``); ``overrides`` replace any of them (``num_test_ids=20`` for a small set)."""
    settings = shipped_settings()
    options = {**settings.get("data_options", {}), **overrides}
    seed = options.pop("seed", settings.get("data_seed", 0))
    return SyntheticPedestrians(split, seed=seed, **options)
