"""Shared fixtures: deterministic seeds and a small random HA-CNN with random BatchNorm statistics."""

from __future__ import annotations

import pytest
import torch
from torch import nn


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(0)


def randomize_batchnorm(module: nn.Module, generator: torch.Generator | None = None) -> nn.Module:
    """Give every BatchNorm random affine parameters and running statistics (eval is then non-trivial)."""
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.uniform_(0.5, 1.5, generator=generator)
                m.bias.uniform_(-0.2, 0.2, generator=generator)
                m.running_mean.uniform_(-0.5, 0.5, generator=generator)
                m.running_var.uniform_(0.5, 2.0, generator=generator)
    return module
