"""Each stage's attention of a trained (or initial) HA-CNN as plain maps, ready to draw.

For every stage HA-CNN makes a soft map (N, C, h, w) that multiplies the features, a spatial
map (N, 1, h, w) inside it, and four stripe boxes. A reader compares the *channel-mean* soft
map (what the stage does on average at each place) and the stripes with the person.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..hacnn.hard_attention import theta_to_boxes
from ..hacnn.model import HACNN
from .attention_measures import collect_records


@dataclass
class StageMaps:
    """One stage over a batch: soft (N, h, w) channel-mean gate, spatial (N, h, w) map before
    the gate (None without soft attention), features (N, h, w) mean absolute feature, and
    boxes (N, T, 4) stripe boxes in input pixels (None without the local branch)."""

    soft: torch.Tensor
    spatial: torch.Tensor | None
    features: torch.Tensor
    boxes: torch.Tensor | None


def stage_maps(model: HACNN, images: torch.Tensor) -> list[StageMaps]:
    """(N, 3, 160, 64) images in [0, 1] -> three StageMaps (the model normalises nothing, so
    the ImageNet standardisation of training is applied here)."""
    if not (isinstance(images, torch.Tensor) and images.ndim == 4 and images.shape[1] == 3):
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images).__name__
        raise ValueError(f"images must be a (N, 3, H, W) tensor in [0, 1], got {shape}")
    records, spatial = collect_records(model.eval(), images)
    height, width = images.shape[-2:]
    maps = []
    for record, spatial_map in zip(records, spatial, strict=True):
        boxes = None
        if record.theta is not None:
            boxes = theta_to_boxes(record.theta, height, width)
        maps.append(
            StageMaps(
                soft=record.soft_map.mean(1),
                spatial=None if spatial_map is None else spatial_map[:, 0],
                features=record.features.abs().mean(1),
                boxes=boxes,
            )
        )
    return maps
