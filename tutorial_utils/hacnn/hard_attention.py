"""Hard (region-level) attention: predict stripe translations, turn them into crops.

A region is an axis-aligned box in normalised coordinates ([-1, 1] on both axes, the
convention of ``F.affine_grid`` with ``align_corners=False``): centre (tx, ty), half-size
(sx, sy). Its affine matrix is [[sx, 0, tx], [0, sy, ty]].
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..common.validation import check_feature_map, check_positive_int


def default_stripe_centres(num_regions: int) -> torch.Tensor:
    """Vertical centres of ``num_regions`` equal horizontal stripes: (T,), e.g. -0.75 ... 0.75."""
    check_positive_int(num_regions, "num_regions")
    return -1 + (2 * torch.arange(num_regions, dtype=torch.float32) + 1) / num_regions


class HardAttention(nn.Module):
    """Global average pool -> Linear(C, 2T) -> tanh: one translation (tx, ty) per region.

    (N, C, H, W) -> (N, T, 2), values in (-1, 1). Weights start at zero and the bias at the
    stripe centres (0, -0.75, 0, -0.25, 0, 0.25, 0, 0.75 for T = 4), as in torchreid.
    """

    def __init__(self, in_channels: int, num_regions: int = 4) -> None:
        super().__init__()
        check_positive_int(in_channels, "in_channels")
        check_positive_int(num_regions, "num_regions")
        self.in_channels = in_channels
        self.num_regions = num_regions
        self.fc = nn.Linear(in_channels, 2 * num_regions)
        self.reset_translation()

    def reset_translation(self) -> None:
        """Zero weights and bias (0, centre) per region: every input starts at the same stripes."""
        bias = torch.zeros(self.num_regions, 2)
        bias[:, 1] = default_stripe_centres(self.num_regions)
        with torch.no_grad():
            self.fc.weight.zero_()
            self.fc.bias.copy_(bias.flatten())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_feature_map(x, self.in_channels, where="HardAttention")
        pooled = x.mean(dim=(2, 3))  # (N, C)
        return torch.tanh(self.fc(pooled)).view(x.shape[0], self.num_regions, 2)


def region_theta(translation: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Affine matrices from translations and a fixed scale.

    translation (N, 2) with (tx, ty), scale (2, 2) diagonal -> theta (N, 2, 3).
    Built on the translation's device and dtype, and differentiable in the translation.
    """
    scale = scale.to(device=translation.device, dtype=translation.dtype)
    return torch.cat([scale.expand(translation.shape[0], 2, 2), translation.unsqueeze(-1)], dim=2)


def crop_region(x: torch.Tensor, theta: torch.Tensor, out_size: tuple[int, int]) -> torch.Tensor:
    """Sample the region ``theta`` from ``x`` and resize it.

    x (N, C, H, W), theta (N, 2, 3) -> (N, C, *out_size). The grid has the input's size and
    is then resized bilinearly, exactly as HA-CNN does.
    """
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    sampled = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return F.interpolate(sampled, size=out_size, mode="bilinear", align_corners=True)


def theta_to_boxes(theta: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel boxes (x1, y1, x2, y2) of regions: theta (..., 2, 3) -> (..., 4).

    With ``align_corners=False`` the normalised edge -1 is pixel 0 and +1 is pixel W, so
    x = (u + 1) * W / 2. Boxes may reach outside the image; the crop pads those parts with 0.
    """
    sx, tx = theta[..., 0, 0], theta[..., 0, 2]
    sy, ty = theta[..., 1, 1], theta[..., 1, 2]
    x1 = (tx - sx + 1) * width / 2
    x2 = (tx + sx + 1) * width / 2
    y1 = (ty - sy + 1) * height / 2
    y2 = (ty + sy + 1) * height / 2
    return torch.stack([x1, y1, x2, y2], dim=-1)
