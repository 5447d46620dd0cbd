"""Convolutional building blocks of HA-CNN: ConvBlock and the two Inception units.

Attribute names follow torchreid's ``hacnn.py`` so that its checkpoints load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class ConvBlock(nn.Module):
    """Conv2d (with bias) -> BatchNorm2d -> ReLU.

    (N, in_channels, H, W) -> (N, out_channels, H', W') with
    H' = floor((H + 2 * padding - kernel_size) / stride) + 1, and the same for W'.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] = 0,
    ) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding
        )
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.bn(self.conv(x)))


class InceptionA(nn.Module):
    """Four parallel streams at the same resolution, concatenated.

    (N, in_channels, H, W) -> (N, out_channels, H, W); each stream gives out_channels / 4.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = out_channels // 4
        self.stream1 = nn.Sequential(
            ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, padding=1)
        )
        self.stream2 = nn.Sequential(
            ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, padding=1)
        )
        self.stream3 = nn.Sequential(
            ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, padding=1)
        )
        self.stream4 = nn.Sequential(
            nn.AvgPool2d(3, stride=1, padding=1), ConvBlock(in_channels, mid, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        streams = (self.stream1, self.stream2, self.stream3, self.stream4)
        return torch.cat([stream(x) for stream in streams], dim=1)


class InceptionB(nn.Module):
    """Three parallel streams that halve the resolution, concatenated.

    (N, in_channels, H, W) -> (N, out_channels, ceil(H / 2), ceil(W / 2));
    streams give out_channels / 4, out_channels / 4 and out_channels / 2.
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        mid = out_channels // 4
        self.stream1 = nn.Sequential(
            ConvBlock(in_channels, mid, 1), ConvBlock(mid, mid, 3, stride=2, padding=1)
        )
        self.stream2 = nn.Sequential(
            ConvBlock(in_channels, mid, 1),
            ConvBlock(mid, mid, 3, padding=1),
            ConvBlock(mid, mid, 3, stride=2, padding=1),
        )
        self.stream3 = nn.Sequential(
            nn.MaxPool2d(3, stride=2, padding=1), ConvBlock(in_channels, mid * 2, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.stream1(x), self.stream2(x), self.stream3(x)], dim=1)
