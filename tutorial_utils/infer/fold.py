"""Fold BatchNorm into the layer before it, so eval needs one op where it needed two.

In eval, BatchNorm is the per-channel affine map y = (z - mean) / sqrt(var + eps) * gamma + beta.
After a conv or Linear z = W x + b it can be absorbed: W' = W * k, b' = (b - mean) * k + beta,
with k = gamma / sqrt(var + eps). The result is exact up to float rounding.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..hacnn.blocks import ConvBlock


def bn_scale_shift(bn: nn.BatchNorm1d | nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(k, beta - mean * k) of an eval-mode BatchNorm, each (C,)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(
            f"{type(bn).__name__} has no running statistics (track_running_stats=False); "
            "only BatchNorm with running statistics can be folded"
        )
    gamma = bn.weight if bn.weight is not None else torch.ones_like(bn.running_var)
    beta = bn.bias if bn.bias is not None else torch.zeros_like(bn.running_mean)
    k = gamma / torch.sqrt(bn.running_var + bn.eps)
    return k, beta - bn.running_mean * k


@torch.no_grad()
def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight (C_out, C_in/groups, kh, kw) and bias (C_out,) of conv followed by bn, in eval."""
    if conv.out_channels != bn.num_features:
        raise ValueError(
            f"conv has {conv.out_channels} output channels but BatchNorm has {bn.num_features}"
        )
    k, shift = bn_scale_shift(bn)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(k)
    return conv.weight * k.view(-1, 1, 1, 1), bias * k + shift


@torch.no_grad()
def fold_linear_bn(linear: nn.Linear, bn: nn.BatchNorm1d) -> tuple[torch.Tensor, torch.Tensor]:
    """Weight (out, in) and bias (out,) of linear followed by bn, in eval."""
    if linear.out_features != bn.num_features:
        raise ValueError(
            f"Linear has {linear.out_features} outputs but BatchNorm has {bn.num_features}"
        )
    k, shift = bn_scale_shift(bn)
    bias = linear.bias if linear.bias is not None else torch.zeros_like(k)
    return linear.weight * k.view(-1, 1), bias * k + shift


class FoldedConvReLU(nn.Module):
    """Conv2d with BatchNorm folded in, then ReLU: (N, C_in, H, W) -> (N, C_out, H', W')."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, conv: nn.Conv2d) -> None:
        super().__init__()
        self.conv = nn.Conv2d(
            weight.shape[1] * conv.groups,
            weight.shape[0],
            conv.kernel_size,
            stride=conv.stride,
            padding=conv.padding,
            dilation=conv.dilation,
            groups=conv.groups,
        )
        with torch.no_grad():
            self.conv.weight.copy_(weight)
            self.conv.bias.copy_(bias)
        self.conv.requires_grad_(False)

    @classmethod
    def from_block(cls, block: ConvBlock) -> FoldedConvReLU:
        weight, bias = fold_conv_bn(block.conv, block.bn)
        return cls(weight, bias, block.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv(x), inplace=True)


def concat_folded(blocks: list[ConvBlock]) -> FoldedConvReLU:
    """Several ConvBlocks that read the same input, as one conv with stacked outputs.

    (N, C_in, H, W) -> (N, sum of C_out, H', W'), the blocks' outputs in order.
    """
    folded = [fold_conv_bn(b.conv, b.bn) for b in blocks]
    weight = torch.cat([w for w, _ in folded])
    bias = torch.cat([b for _, b in folded])
    return FoldedConvReLU(weight, bias, blocks[0].conv)


def grouped_folded(blocks: list[ConvBlock]) -> FoldedConvReLU:
    """Several same-shaped ConvBlocks, each on its own slice of the channels, as one grouped conv.

    (N, G * C_in, H, W) -> (N, G * C_out, H', W'): group g reads channels g*C_in ... and writes
    block g's output.
    """
    folded = [fold_conv_bn(b.conv, b.bn) for b in blocks]
    weight = torch.cat([w for w, _ in folded])
    bias = torch.cat([b for _, b in folded])
    conv = blocks[0].conv
    grouped = nn.Conv2d(
        conv.in_channels * len(blocks),
        conv.out_channels * len(blocks),
        conv.kernel_size,
        stride=conv.stride,
        padding=conv.padding,
        groups=len(blocks),
    )
    return FoldedConvReLU(weight, bias, grouped)


def fold_linear(linear: nn.Linear, bn: nn.BatchNorm1d) -> nn.Linear:
    """A Linear with the BatchNorm1d after it folded in: (N, in) -> (N, out)."""
    weight, bias = fold_linear_bn(linear, bn)
    folded = nn.Linear(linear.in_features, linear.out_features)
    with torch.no_grad():
        folded.weight.copy_(weight)
        folded.bias.copy_(bias)
    return folded.requires_grad_(False)
