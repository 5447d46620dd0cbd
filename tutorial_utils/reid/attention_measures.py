"""What HA-CNN's attention learned, measured against the synthetic pedestrians' ground truth.

Soft attention, per stage (the map multiplies the stage's features, so what matters is where
it is larger):
- ``mass_inside``: the share of the channel-mean map's mass inside the person mask, against
  ``uniform_inside``, the share a flat map gives (the mask's area fraction); their ratio
  ``mass_ratio`` is 1 for a map that ignores the person, up to 1 / area for a perfect one.
- ``gate_in_out``: per channel, the mean gate inside the mask over the mean gate outside
  (median, min, max over channels). The gate lies in [0.5, 1), so the most it can do is
  halve what lies outside: the ratio cannot exceed 2.
- ``spatial_in_out``: the same for the spatial map before the gate, and ``features_in_out``
  for the mean absolute features, to see whether the person is already stronger there.

Hard attention, per stage (only for models with the local branch):
- ``ty_corr_dy``: the correlation of each stripe's vertical translation ty with the image's
  true vertical misalignment dy (both in affine_grid's normalised units). Stripes that track
  the person have a positive correlation near 1; HA-CNN's motivation is exactly this.
- ``ty_mean``, ``ty_std``, ``saturated`` (share with |ty| > 0.99, tanh at its limit).
- ``coverage``: the share of the head, upper and lower body boxes covered by the union of
  the four stripes, and ``best_iou``: per part, the best-matching stripe's IoU.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import Dataset

from ..common.images import normalize
from ..hacnn.hard_attention import theta_to_boxes
from ..hacnn.model import HACNN, StageRecord
from .cached import CachedSplit, cache_split
from .drawing import PART_NAMES


def collect_records(
    model: HACNN, images: torch.Tensor, batch_size: int = 64
) -> tuple[list[StageRecord], list[torch.Tensor]]:
    """Run the model on ``images`` (N, 3, 160, 64) in [0, 1]; one StageRecord per stage with
    tensors concatenated over the batches, and each stage's spatial map (N, 1, h, w)."""
    device = next(model.parameters()).device
    spatial: dict[int, list[torch.Tensor]] = {0: [], 1: [], 2: []}
    hooks = []
    for i, name in enumerate(("ha1", "ha2", "ha3")):
        module = getattr(getattr(model, name).soft_attn, "spatial_attn", None)
        if isinstance(module, nn.Module):
            hooks.append(
                module.register_forward_hook(
                    lambda _m, _inp, out, i=i: spatial[i].append(out.detach().cpu())
                )
            )
    per_batch: list[list[StageRecord]] = []
    try:
        with torch.no_grad():
            for chunk in images.split(batch_size):
                records: list[StageRecord] = []
                model.forward_features(normalize(chunk.to(device)), records=records)
                per_batch.append(records)
    finally:
        for hook in hooks:
            hook.remove()
    stages = []
    for s in range(3):
        parts = [batch[s] for batch in per_batch]
        stages.append(
            StageRecord(
                *(
                    None
                    if getattr(parts[0], f) is None
                    else torch.cat([getattr(p, f).detach().cpu() for p in parts])
                    for f in ("stage_input", "features", "soft_map", "translations", "theta")
                )
            )
        )
    return stages, [torch.cat(spatial[s]) if spatial[s] else None for s in range(3)]


def _in_out(values: torch.Tensor, inside: torch.Tensor) -> torch.Tensor:
    """Per-channel mean inside over mean outside: values (N, C, h, w), inside (N, 1, h, w) -> (C,).

    NaN for a channel that is zero everywhere (a ratio of nothing to nothing).
    """
    outside = 1 - inside
    mean_in = (values * inside).sum((0, 2, 3)) / inside.sum().clamp_min(1e-8)
    mean_out = (values * outside).sum((0, 2, 3)) / outside.sum().clamp_min(1e-8)
    ratio = mean_in / mean_out.clamp_min(1e-12)
    return torch.where((mean_in.abs() + mean_out.abs()) > 1e-12, ratio, torch.nan)


def _finite_or_none(value: torch.Tensor) -> float | None:
    """A float for JSON, or None where the measure is undefined (NaN)."""
    return float(value) if torch.isfinite(value) else None


def soft_measures(
    soft_map: torch.Tensor,
    mask: torch.Tensor,
    spatial: torch.Tensor | None = None,
    features: torch.Tensor | None = None,
) -> dict[str, float | None]:
    """Soft-attention measures of one stage.

    soft_map (N, C, h, w), mask (N, H, W) bool, spatial (N, 1, h, w), features (N, C, h, w).
    """
    # The share of each map cell covered by the person: the mask averaged onto the map's grid.
    inside = F.interpolate(mask[:, None].float(), size=soft_map.shape[-2:], mode="area")
    mean_map = soft_map.mean(1, keepdim=True)  # (N, 1, h, w)
    mass_inside = ((mean_map * inside).sum((1, 2, 3)) / mean_map.sum((1, 2, 3))).mean()
    uniform_inside = inside.mean((1, 2, 3)).mean()
    gate = _in_out(soft_map, inside)  # the gate is >= 0.5, so never NaN
    out = {
        "mass_inside": float(mass_inside),
        "uniform_inside": float(uniform_inside),
        "mass_ratio": float(mass_inside / uniform_inside),
        "gate_in_out_median": float(gate.median()),
        "gate_in_out_min": float(gate.min()),
        "gate_in_out_max": float(gate.max()),
        "gate_min": float(soft_map.min()),
        "gate_max": float(soft_map.max()),
    }
    if spatial is not None:
        # None when the spatial map is zero everywhere (ReLU-clipped, as at initialisation).
        out["spatial_in_out"] = _finite_or_none(_in_out(spatial, inside)[0])
    if features is not None:
        out["features_in_out"] = _finite_or_none(
            _in_out(features.abs().mean(1, keepdim=True), inside)[0]
        )
    return out


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two (N,) tensors; 0 when either is constant."""
    a, b = a.double() - a.double().mean(), b.double() - b.double().mean()
    denom = (a.norm() * b.norm()).item()
    return float((a * b).sum() / denom) if denom > 1e-12 else 0.0


def _box_masks(boxes: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel boxes (N, K, 4) (x0, y0, x1, y1) -> (N, K, H, W) bool, pixel centres inside."""
    ys = torch.arange(height, dtype=torch.float32) + 0.5
    xs = torch.arange(width, dtype=torch.float32) + 0.5
    x0, y0, x1, y1 = (boxes[..., i, None, None] for i in range(4))
    return (ys[:, None] >= y0) & (ys[:, None] < y1) & (xs[None] >= x0) & (xs[None] < x1)


def _box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """IoU of boxes a (N, A, 4) against b (N, B, 4), both clipped before -> (N, A, B)."""
    a, b = a[:, :, None], b[:, None]
    w = (torch.minimum(a[..., 2], b[..., 2]) - torch.maximum(a[..., 0], b[..., 0])).clamp_min(0)
    h = (torch.minimum(a[..., 3], b[..., 3]) - torch.maximum(a[..., 1], b[..., 1])).clamp_min(0)
    inter = w * h
    area = lambda t: (t[..., 2] - t[..., 0]).clamp_min(0) * (t[..., 3] - t[..., 1]).clamp_min(0)  # noqa: E731
    return inter / (area(a) + area(b) - inter).clamp_min(1e-8)


def hard_measures(
    translations: torch.Tensor,
    theta: torch.Tensor,
    offsets: torch.Tensor,
    parts: torch.Tensor,
    image_size: tuple[int, int],
) -> dict[str, Any]:
    """Hard-attention measures of one stage.

    translations (N, T, 2), theta (N, T, 2, 3), offsets (N, 2) true (dx, dy), parts (N, 3, 4)
    pixel boxes; image_size (H, W).
    """
    height, width = image_size
    ty = theta[:, :, 1, 2]  # (N, T)
    tx = theta[:, :, 0, 2]
    boxes = theta_to_boxes(theta, height, width)  # (N, T, 4), may reach outside the image
    limit = torch.tensor([width, height, width, height], dtype=boxes.dtype)
    boxes = torch.minimum(boxes.clamp_min(0), limit)
    stripes = _box_masks(boxes, height, width).any(1)  # (N, H, W), union of the stripes
    part_masks = _box_masks(parts, height, width)  # (N, 3, H, W)
    covered = (part_masks & stripes[:, None]).sum((2, 3)).float()
    coverage = (covered / part_masks.sum((2, 3)).clamp_min(1)).mean(0)  # (3,)
    best_iou = _box_iou(parts, boxes).amax(2).mean(0)  # (3,)
    return {
        "ty_corr_dy": [_correlation(ty[:, r], offsets[:, 1]) for r in range(ty.shape[1])],
        "tx_corr_dx": [_correlation(tx[:, r], offsets[:, 0]) for r in range(tx.shape[1])],
        "ty_mean": ty.mean(0).tolist(),
        "ty_std": ty.std(0).tolist(),
        "saturated": float((translations.abs() > 0.99).float().mean()),
        "coverage": dict(zip(PART_NAMES, coverage.tolist(), strict=True)),
        "best_iou": dict(zip(PART_NAMES, best_iou.tolist(), strict=True)),
    }


def attention_measures(
    model: HACNN, data: CachedSplit | Dataset, max_images: int = 256
) -> dict[str, Any]:
    """All measures, per stage, on the first ``max_images`` items of ``data`` (a CachedSplit or
    a data set such as SyntheticPedestrians; it must have masks, parts and offsets).
    Returns {"num_images": int, "soft": [per stage] or None, "hard": [...] or None}."""
    if not isinstance(data, CachedSplit):
        data = cache_split(data)
    if not data.has_ground_truth:
        raise ValueError(
            "attention measures need ground truth (mask, parts, offset); this data set has "
            "none (Market-1501 does not): use the synthetic pedestrians"
        )
    if max_images < 2:
        raise ValueError(
            f"max_images must be >= 2 (a correlation needs a spread), got {max_images}"
        )
    data = data.subset(torch.arange(min(max_images, len(data))))
    was_training = model.training
    model.eval()
    try:
        stages, spatial = collect_records(model, data.images)
    finally:
        model.train(was_training)
    has_soft = spatial[0] is not None  # variants without soft attention have no spatial map
    has_hard = stages[0].theta is not None
    size = tuple(data.images.shape[-2:])
    return {
        "num_images": len(data),
        "soft": [
            soft_measures(st.soft_map, data.masks, sp, st.features)
            for st, sp in zip(stages, spatial, strict=True)
        ]
        if has_soft
        else None,
        "hard": [
            hard_measures(st.translations, st.theta, data.offsets, data.parts, size)
            for st in stages
        ]
        if has_hard
        else None,
    }
