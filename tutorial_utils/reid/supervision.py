"""Losses that *teach* attention where the person is, from the synthetic ground truth.

A model trained with them attends because it was told to, not because re-identification
asked for it: lesson 10b labels such runs "taught", never "emergent".

- ``mask_loss``: each stage's channel-mean soft map, rescaled to [0, 1] by its range,
  against the share of each map cell the person covers (binary cross-entropy).
- ``stripe_loss``: each stage's stripe translations against where the stripes of a person
  who fills the box would be: full width centred on the person (tx = dx), and the person's
  height from the top of the head to the bottom of the feet cut into equal parts (ty).

``AttentionCapture`` records, during an ordinary forward pass (also under
DistributedDataParallel), what the losses need: the soft maps and the translations.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
import torch.nn.functional as F
from torch import nn

from ..hacnn.model import HACNN

STAGE_ATTENTION = ("ha1", "ha2", "ha3")


class AttentionCapture:
    """The outputs of every stage's HarmoniousAttention in the last forward pass:
    ``soft`` [(N, C, h, w)] and ``translations`` [(N, T, 2)], one per stage."""

    def __init__(self) -> None:
        self.soft: list[torch.Tensor] = []
        self.translations: list[torch.Tensor] = []

    def clear(self) -> None:
        self.soft.clear()
        self.translations.clear()


@contextmanager
def captured_attention(
    model: HACNN, stripes_taught_only: bool = False
) -> Iterator[AttentionCapture]:
    """Within the block, every forward of ``model`` fills the yielded AttentionCapture.

    ``stripes_taught_only``: the stripes are cropped with their translations detached, so
    the re-identification loss does not move them and only the stripe loss (which sees the
    recorded, attached translations) does. The values, and so the forward, are unchanged.
    """
    capture = AttentionCapture()

    def record(
        _module: nn.Module, _inputs: object, output: tuple[torch.Tensor, ...]
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        soft, translations = output
        capture.soft.append(soft)
        capture.translations.append(translations)
        return (soft, translations.detach()) if stripes_taught_only else None

    hooks = [getattr(model, name).register_forward_hook(record) for name in STAGE_ATTENTION]
    try:
        yield capture
    finally:
        for hook in hooks:
            hook.remove()


def mask_loss(
    soft_maps: list[torch.Tensor], masks: torch.Tensor, value_range: tuple[float, float]
) -> torch.Tensor:
    """Mean over stages of BCE(openness, person share of each cell).

    soft_maps [(N, C, h, w)], masks (N, H, W) bool -> (). Openness is the channel-mean map
    rescaled from ``value_range`` to [0, 1].
    """
    low, high = value_range
    if not (math.isfinite(low) and math.isfinite(high) and high > low):
        # The pooling weights have no top, a missing gate no span: nothing to rescale.
        raise ValueError(
            f"mask_loss needs a finite value range with high > low, got {value_range!r}"
        )
    losses = []
    for soft in soft_maps:
        inside = F.interpolate(masks[:, None].float(), size=soft.shape[-2:], mode="area")
        openness = ((soft.mean(1, keepdim=True) - low) / (high - low)).clamp(1e-4, 1 - 1e-4)
        losses.append(F.binary_cross_entropy(openness, inside))
    return torch.stack(losses).mean()


def stripe_targets(
    parts: torch.Tensor, offsets: torch.Tensor, height: int, num_regions: int
) -> torch.Tensor:
    """Where each stripe should be: parts (N, 3, 4) pixel boxes, offsets (N, 2) -> (N, T, 2).

    tx = the person's horizontal offset; ty = the centres of ``num_regions`` equal parts of
    the span from the head's top to the lower body's bottom, in affine_grid units.
    """
    top = parts[:, 0, 1] / height * 2 - 1  # (N,)
    bottom = parts[:, 2, 3] / height * 2 - 1
    fractions = (2 * torch.arange(num_regions, dtype=parts.dtype) + 1) / (2 * num_regions)
    ty = top[:, None] + fractions[None] * (bottom - top)[:, None]  # (N, T)
    tx = offsets[:, :1].expand(-1, num_regions)
    return torch.stack([tx, ty], dim=2)


def stripe_loss(translations: list[torch.Tensor], targets: torch.Tensor) -> torch.Tensor:
    """Mean over stages of the smooth L1 distance: translations [(N, T, 2)], targets (N, T, 2)."""
    return torch.stack([F.smooth_l1_loss(t, targets) for t in translations]).mean()
