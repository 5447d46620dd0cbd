"""The parts that the attention experiments swap into HA-CNN, one change each.

Each module takes the place of one of HA-CNN's own (a stage's ``soft_attn`` or ``hard_attn``)
and keeps the child names of the part it replaces where it keeps the part, so a checkpoint's
keys say what was trained. ``variants.build_model`` puts them in; lesson 10b reads what they
learned.

| module              | replaces     | what changes                                             |
|---------------------|--------------|----------------------------------------------------------|
| ResidualGate        | soft_attn    | x * (1 + M), M = sigmoid(logit) in (0, 1)                 |
| SpatialOnlyGate     | soft_attn    | the gate sees the spatial map alone, no channel product  |
| SoftmaxPoolingMap   | soft_attn    | stage 3: a softmax over positions, so the global average |
|                     |              | pool becomes attention-weighted pooling                  |
| ConvLocalisation    | hard_attn    | stripes predicted from the feature map's layout          |
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..hacnn.blocks import ConvBlock
from ..hacnn.hard_attention import HardAttention, default_stripe_centres
from ..hacnn.soft_attention import SoftAttention


class LinearConvBlock(nn.Module):
    """A ConvBlock without its ReLU: (N, C, H, W) -> (N, C', H', W'), conv then BatchNorm.

    Keeps the block's ``conv`` and ``bn`` children, so the state_dict keys do not change.
    Before a sigmoid it lets the gate reach (0, 1): HA-CNN's ReLU clips the logit at 0, so its
    gate never falls below 0.5 and can at most halve what it suppresses.
    """

    def __init__(self, block: nn.Module) -> None:
        super().__init__()
        self.conv = block.conv
        self.bn = block.bn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class ResidualGate(nn.Module):
    """(N, C, H, W) -> (N, C, H, W) multiplier 1 + sigmoid(BN(conv(spatial * channel))), in (1, 2).

    The Residual Attention Network's (Wang et al., CVPR 2017) and the Attention Branch
    Network's (Fukui et al., CVPR 2019) form: the stage output is x * (1 + M), so a mask near 0
    passes the features unchanged instead of erasing them, and attention can only add emphasis.
    Built from a SoftAttention, whose children it keeps.
    """

    def __init__(self, soft: SoftAttention) -> None:
        super().__init__()
        self.spatial_attn = soft.spatial_attn
        self.channel_attn = soft.channel_attn
        self.conv = LinearConvBlock(soft.conv)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        combined = self.spatial_attn(x) * self.channel_attn(x)  # (N, C, H, W)
        return 1 + torch.sigmoid(self.conv(combined))


class SpatialOnlyGate(nn.Module):
    """(N, C, H, W) -> (N, C, H, W) gate sigmoid(ConvBlock_1x1(spatial map, repeated over C)).

    HA-CNN's gate with the channel attention taken out: every channel sees the same spatial
    map, scaled and shifted per channel by the 1x1 convolution. Same range as HA-CNN's gate,
    [0.5, 1). Keeps the SoftAttention's ``spatial_attn`` and ``conv``.
    """

    def __init__(self, soft: SoftAttention) -> None:
        super().__init__()
        self.in_channels = soft.in_channels
        self.spatial_attn = soft.spatial_attn
        self.conv = soft.conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        spatial = self.spatial_attn(x)  # (N, 1, H, W)
        return torch.sigmoid(self.conv(spatial.expand(-1, self.in_channels, -1, -1)))


class SoftmaxPoolingMap(nn.Module):
    """(N, C, H, W) -> (N, 1, H, W) weights softmax_over_positions(u . x + b) * (H * W).

    Attention-weighted pooling (Jetley et al., "Learn to Pay Attention", ICLR 2018), put where
    it works without touching HA-CNN's forward: as the last stage's soft map. That stage's
    output only feeds the global average pool, and the average of x * a * (H * W) over the
    positions is sum_i a_i x_i, the attention-pooled vector, which alone feeds the global
    classifier. The paper's compatibility <u, x_i + g> adds <u, g>, the same for every position
    of an image, which a softmax over positions ignores: a 1x1 convolution is all that is left.
    The weights average 1, so a flat map is 1 everywhere, as an open gate would be.
    """

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.score = nn.Conv2d(in_channels, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, height, width = x.shape
        scores = self.score(x).flatten(1)  # (N, H * W)
        weights = torch.softmax(scores, dim=1) * (height * width)
        return weights.view(n, 1, height, width)


class ConvLocalisation(nn.Module):
    """(N, C, h, w) -> (N, T, 2) translations in (-1, 1), read from the map's layout.

    HA-CNN's HardAttention averages the feature map over its positions before its linear
    layer, so what it sees hardly depends on *where* the person stands; a spatial
    transformer's localisation net (Jaderberg et al., NeurIPS 2015) keeps the layout: a 1x1
    ConvBlock down to ``hidden`` channels, an average pool to a fixed ``grid`` (the same for
    every stage), then a linear layer over every cell. Starts, as HardAttention does, at the
    equal stripes for every input (zero weights, centre biases).
    """

    def __init__(
        self,
        in_channels: int,
        grid: tuple[int, int] = (10, 4),
        num_regions: int = 4,
        hidden: int = 4,
    ) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.num_regions = num_regions
        self.grid = (int(grid[0]), int(grid[1]))
        self.reduce = ConvBlock(in_channels, hidden, 1)
        self.fc = nn.Linear(hidden * self.grid[0] * self.grid[1], 2 * num_regions)
        bias = torch.zeros(num_regions, 2)
        bias[:, 1] = default_stripe_centres(num_regions)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.copy_(bias.flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cells = F.adaptive_avg_pool2d(self.reduce(x), self.grid)  # (N, hidden, *grid)
        return torch.tanh(self.fc(cells.flatten(1))).view(x.shape[0], self.num_regions, 2)


def conv_localisation_like(hard: HardAttention, grid: tuple[int, int]) -> ConvLocalisation:
    """A ConvLocalisation in the place of ``hard``, pooling to ``grid`` cells."""
    return ConvLocalisation(hard.in_channels, grid, hard.num_regions)
