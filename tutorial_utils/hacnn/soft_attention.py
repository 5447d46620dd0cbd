"""Soft (pixel-level) attention of HA-CNN: channel attention, spatial attention and their product.

Attribute names follow torchreid's ``hacnn.py`` (SpatialAttn, ChannelAttn, SoftAttn).
Input whose dtype differs from the weights' (float16, bfloat16 or float64 into a float32
module) is refused with a TypeError that names the fix, never converted silently.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..common.validation import check_dtype, check_feature_map, check_positive_int
from .blocks import ConvBlock


class ChannelAttention(nn.Module):
    """Squeeze (global average pool) and excite (C -> C/r -> C as 1x1 ConvBlocks).

    (N, C, H, W) -> (N, C, 1, 1), values >= 0 (each ConvBlock ends in ReLU).
    """

    def __init__(self, in_channels: int, reduction_rate: int = 16) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(reduction_rate, "reduction_rate")
        if in_channels % reduction_rate != 0:
            raise ValueError(
                f"in_channels={in_channels} is not divisible by reduction_rate={reduction_rate}; "
                f"choose a reduction_rate that divides {in_channels}"
            )
        self.in_channels = in_channels
        self.reduction_rate = reduction_rate
        self.conv1 = ConvBlock(in_channels, in_channels // reduction_rate, 1)
        self.conv2 = ConvBlock(in_channels // reduction_rate, in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="ChannelAttention")
        check_dtype(x, self.conv1.conv.weight.dtype, where="ChannelAttention")
        if x.shape[0] == 1 and self.conv1.bn.training:
            # BatchNorm on the (1, C, 1, 1) squeezed map has one value per channel: no spread.
            raise ValueError(
                "ChannelAttention in train mode needs a batch of at least 2 (its BatchNorm "
                "normalises a 1 x 1 map over the batch), got a batch of 1; call .eval() to "
                "use it on one image"
            )
        squeezed = x.mean(dim=(2, 3), keepdim=True)  # (N, C, 1, 1)
        return self.conv2(self.conv1(squeezed))


class SpatialAttention(nn.Module):
    """Channel mean -> 3x3 stride-2 ConvBlock -> bilinear resize back -> 1x1 ConvBlock.

    (N, C, H, W) -> (N, 1, H, W). The resize targets the input's own H x W, so odd sizes
    work; for even sizes this equals the 2x upsample of the original code.
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = ConvBlock(1, 1, 3, stride=2, padding=1)
        self.conv2 = ConvBlock(1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, where="SpatialAttention")
        check_dtype(x, self.conv1.conv.weight.dtype, where="SpatialAttention")
        y = x.mean(dim=1, keepdim=True)  # (N, 1, H, W)
        y = self.conv1(y)  # (N, 1, ceil(H/2), ceil(W/2))
        y = F.interpolate(y, size=x.shape[-2:], mode="bilinear", align_corners=True)
        return self.conv2(y)


class SoftAttention(nn.Module):
    """sigmoid(ConvBlock_1x1(spatial * channel)).

    (N, C, H, W) -> (N, C, H, W). spatial (N, 1, H, W) times channel (N, C, 1, 1) is a
    broadcast product; the ReLU inside ConvBlock makes every value lie in [0.5, 1).
    """

    def __init__(self, in_channels: int, reduction_rate: int = 16) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.spatial_attn = SpatialAttention()
        self.channel_attn = ChannelAttention(in_channels, reduction_rate)
        self.conv = ConvBlock(in_channels, in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="SoftAttention")
        check_dtype(x, self.conv.conv.weight.dtype, where="SoftAttention")
        combined = self.spatial_attn(x) * self.channel_attn(x)  # broadcast to (N, C, H, W)
        return torch.sigmoid(self.conv(combined))
