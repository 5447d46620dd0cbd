"""HA-CNN (Li, Zhu, Gong, CVPR 2018) as torchreid's ``hacnn.py`` builds it, on one page.

Submodule names are torchreid's, so its checkpoints load with ``strict=True`` and give the
same outputs. Differences: no deprecated calls, explicit ``align_corners``, theta built on
the input's device, and clear errors for bad input.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..common.validation import check_feature_map, check_positive_int
from .blocks import ConvBlock, InceptionA, InceptionB
from .hard_attention import crop_region, region_theta
from .harmonious import HarmoniousAttention

INPUT_SIZE = (160, 64)  # (H, W) the local branch's stripe sizes are fixed for
NUM_REGIONS = 4
STRIPE_SIZES = ((24, 28), (12, 14), (6, 7))  # stripe size fed to each stage's local convs


def check_hacnn_input(x: torch.Tensor, where: str = "HACNN") -> None:
    """Raise a clear error unless ``x`` is a float (N, 3, 160, 64) batch, naming what it got."""
    check_feature_map(x, 3, where=where)
    if tuple(x.shape[-2:]) != INPUT_SIZE:
        raise ValueError(
            f"{where} expects images of height x width = {INPUT_SIZE[0]} x {INPUT_SIZE[1]}, "
            f"got {x.shape[-2]} x {x.shape[-1]}; resize first, "
            "e.g. F.interpolate(x, size=(160, 64))"
        )


@dataclass
class StageRecord:
    """What one stage computed: its input, its features, the soft map and the region theta."""

    stage_input: torch.Tensor  # (N, C_in, H_in, W_in), the map the stripes are cropped from
    features: torch.Tensor  # (N, C, H, W), Inception output before attention
    soft_map: torch.Tensor  # (N, C, H, W), in [0.5, 1)
    translations: torch.Tensor  # (N, T, 2), (tx, ty) per region
    theta: torch.Tensor  # (N, T, 2, 3), full affine matrices


class HACNN(nn.Module):
    """Harmonious Attention CNN for person re-identification.

    (N, 3, 160, 64) -> eval: (N, 2 * feat_dim) features, each half L2-normalised
    (only feat_dim without the local branch); train: (global logits, local logits), each
    (N, num_classes) (only global logits without the local branch).
    """

    def __init__(
        self,
        num_classes: int,
        nchannels: tuple[int, int, int] = (128, 256, 384),
        feat_dim: int = 512,
        learn_region: bool = True,
    ) -> None:
        super().__init__()
        check_positive_int(num_classes, "num_classes")
        check_positive_int(feat_dim, "feat_dim")
        if len(nchannels) != 3:
            raise ValueError(f"nchannels must have 3 entries (one per stage), got {nchannels!r}")
        c1, c2, c3 = nchannels
        self.learn_region = learn_region
        self.conv = ConvBlock(3, 32, 3, stride=2, padding=1)

        self.inception1 = nn.Sequential(InceptionA(32, c1), InceptionB(c1, c1))
        self.ha1 = HarmoniousAttention(c1, num_regions=NUM_REGIONS)
        self.inception2 = nn.Sequential(InceptionA(c1, c2), InceptionB(c2, c2))
        self.ha2 = HarmoniousAttention(c2, num_regions=NUM_REGIONS)
        self.inception3 = nn.Sequential(InceptionA(c2, c3), InceptionB(c3, c3))
        self.ha3 = HarmoniousAttention(c3, num_regions=NUM_REGIONS)

        self.fc_global = nn.Sequential(nn.Linear(c3, feat_dim), nn.BatchNorm1d(feat_dim), nn.ReLU())
        self.classifier_global = nn.Linear(feat_dim, num_classes)

        if learn_region:
            # Fixed stripe scale: full width, 1/T of the height. Not a parameter, not saved.
            scale = torch.tensor([[1.0, 0.0], [0.0, 1.0 / NUM_REGIONS]])
            self.register_buffer("region_scale", scale, persistent=False)
            self.local_conv1 = InceptionB(32, c1)
            self.local_conv2 = InceptionB(c1, c2)
            self.local_conv3 = InceptionB(c2, c3)
            self.fc_local = nn.Sequential(
                nn.Linear(c3 * NUM_REGIONS, feat_dim), nn.BatchNorm1d(feat_dim), nn.ReLU()
            )
            self.classifier_local = nn.Linear(feat_dim, num_classes)
        self.feat_dim = feat_dim * 2 if learn_region else feat_dim

    def _stages(
        self,
    ) -> list[tuple[nn.Module, HarmoniousAttention, nn.Module | None, tuple[int, int]]]:
        local = (
            (self.local_conv1, self.local_conv2, self.local_conv3)
            if self.learn_region
            else (None,) * 3
        )
        return list(
            zip(
                (self.inception1, self.inception2, self.inception3),
                (self.ha1, self.ha2, self.ha3),
                local,
                STRIPE_SIZES,
                strict=True,
            )
        )

    def check_input(self, x: torch.Tensor) -> None:
        """Raise a clear error unless ``x`` is a float (N, 3, 160, 64) batch."""
        check_hacnn_input(x)

    def forward_features(
        self, x: torch.Tensor, records: list[StageRecord] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(N, 3, 160, 64) -> global (N, feat_dim), local (N, feat_dim) or None.

        Pass a list as ``records`` to receive one StageRecord per stage.
        """
        self.check_input(x)
        stage_input = self.conv(x)  # (N, 32, 80, 32)
        local: list[torch.Tensor | None] = [None] * NUM_REGIONS
        for inception, attention, local_conv, stripe_size in self._stages():
            features = inception(stage_input)
            soft_map, translations = attention(features)
            out = features * soft_map
            theta = None
            if local_conv is not None:
                thetas = []
                for r in range(NUM_REGIONS):
                    theta_r = region_theta(translations[:, r], self.region_scale)
                    stripe = crop_region(stage_input, theta_r, stripe_size)
                    if local[r] is not None:
                        stripe = stripe + local[r]  # the previous stage's local features
                    local[r] = local_conv(stripe)
                    thetas.append(theta_r)
                theta = torch.stack(thetas, dim=1)
            if records is not None:
                records.append(StageRecord(stage_input, features, soft_map, translations, theta))
            stage_input = out

        x_global = self.fc_global(stage_input.mean(dim=(2, 3)))
        if not self.learn_region:
            return x_global, None
        x_local = self.fc_local(torch.cat([r.mean(dim=(2, 3)) for r in local], dim=1))
        return x_global, x_local

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x_global, x_local = self.forward_features(x)
        if not self.training:
            if x_local is None:
                return x_global
            return torch.cat([F.normalize(x_global, dim=1), F.normalize(x_local, dim=1)], dim=1)
        logits_global = self.classifier_global(x_global)
        if x_local is None:
            return logits_global
        return logits_global, self.classifier_local(x_local)
