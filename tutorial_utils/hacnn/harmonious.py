"""Harmonious attention: soft and hard attention computed side by side from one feature map."""

from __future__ import annotations

import torch
from torch import nn

from .hard_attention import HardAttention
from .soft_attention import SoftAttention


class HarmoniousAttention(nn.Module):
    """(N, C, H, W) -> (soft map (N, C, H, W) in [0.5, 1), translations (N, T, 2) in (-1, 1)).

    The translations become affine thetas (N, 2, 3) per region later, in ``region_theta``.
    """

    def __init__(self, in_channels: int, reduction_rate: int = 16, num_regions: int = 4) -> None:
        super().__init__()
        self.soft_attn = SoftAttention(in_channels, reduction_rate)
        self.hard_attn = HardAttention(in_channels, num_regions)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.soft_attn(x), self.hard_attn(x)
