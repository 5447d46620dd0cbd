"""What the benchmark runs: a module, its input shape and how to count its throughput."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

from ..hacnn.model import HACNN
from ..hacnn.soft_attention import SoftAttention


@dataclass
class Workload:
    """A module, its input and how to count: ``images`` > 0 prints images/s."""

    name: str
    build: Callable[[], nn.Module]
    shape: tuple[int, ...]
    images: int = 0
    tolerance: float = 1e-5


def workloads(quick: bool) -> list[Workload]:
    """The benchmark set; ``quick`` shrinks it to seconds (for tests).

    SoftAttention(16) on (32, 16, 256, 128) (64 MB, the seed's tensor), HACNN(751) at
    batch 1 and 32 on (N, 3, 160, 64).
    """

    def soft() -> nn.Module:
        return SoftAttention(16)

    def hacnn() -> nn.Module:
        if quick:
            return HACNN(10, nchannels=(16, 32, 48), feat_dim=32)
        return HACNN(751)

    if quick:
        return [
            Workload("SoftAttention", soft, (2, 16, 32, 16)),
            Workload("HACNN batch 1", hacnn, (1, 3, 160, 64), images=1, tolerance=1e-4),
            Workload("HACNN batch 2", hacnn, (2, 3, 160, 64), images=2, tolerance=1e-4),
        ]
    return [
        Workload("SoftAttention", soft, (32, 16, 256, 128)),
        Workload("HACNN batch 1", hacnn, (1, 3, 160, 64), images=1, tolerance=1e-4),
        Workload("HACNN batch 32", hacnn, (32, 3, 160, 64), images=32, tolerance=1e-4),
    ]
