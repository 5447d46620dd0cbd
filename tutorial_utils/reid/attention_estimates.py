"""What a model's attention encodes, per stage, each measure with a 95 % bootstrap interval
over the images of the fixed evaluation subset (``evaluation_subset``).

Soft attention, per stage (None for a stage without soft attention):
- ``mass_ratio``: the channel-mean map's share of its mass on the person over the share of
  the map the person covers (the flat share); 1 for a flat map. HA-CNN's gate lies in
  [0.5, 1), so a perfect binary gate reaches only 2 / (1 + p) for a person covering p.
- ``auroc``: how well the channel-mean map's values tell person cells from background cells,
  over all cells of all images; 0.5 is chance, 1 every person cell above every background
  cell. It ignores the 0.5 floor. A *person cell* is covered at least half by the person
  mask, a *background cell* not at all; cells partly covered (under half) count neither way.
- ``spatial_mass_ratio``, ``spatial_auroc``: the same for the spatial map alone;
  ``product_mass_ratio``, ``product_auroc``: for the spatial x channel product (its channel
  mean) before the 1x1 ConvBlock and the sigmoid. None where the stage has no such map; a
  mass ratio is None when the map is zero everywhere (ReLU-clipped), and images where it is
  zero are left out of it.
- ``gate_in_out``: per channel, the mean gate on the person over the mean gate off it;
  ``{"median", "min", "max"}`` over channels. ``channel_mean``: each channel's mean gate
  value over all cells, ``{"min", "max"}`` over channels (how different the channels are).
- ``logits``: the 1x1 ConvBlock's output, the value before the sigmoid: ``min``, ``median``,
  ``max`` (plain numbers) and ``zero_share``, the share exactly 0 (clipped by the ReLU).
  None where the stage has no such block (attention pooling).

Hard attention, per stage (``hard`` None without the local branch):
- ``ty_corr_dy``: per stripe, the Pearson correlation of its vertical translation with the
  image's true vertical offset dy; ``mean_abs_corr``: the mean of their absolute values.
  NaN (None in JSON) for stripes that do not move (a fixed layout has no spread). Near 0 the
  interval of ``mean_abs_corr`` is biased upwards (the absolute value of resampling noise is
  positive): read a small value against the per-stripe intervals, which straddle 0.
- ``coverage``, ``best_iou``: per part (head, upper body, lower body), the share of the part
  box covered by the union of the stripes and the best stripe's IoU, averaged over images.

The AUROC comes from per-image histograms of person and background values in 512 bins over
the stage's value range, resampled as weights (1 + B, N) @ histograms; values that share a
bin count as ties (half). ``to_json`` turns the result into plain JSON.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..common.images import normalize
from ..hacnn.hard_attention import theta_to_boxes
from ..hacnn.model import HACNN, StageRecord
from .attention_measures import _box_iou, _box_masks
from .bootstrap import (
    BOOT,
    Estimate,
    bootstrap_weights,
    histogram_auroc,
    ratio_of_sums,
    summarize,
    value_histograms,
    weighted_correlation,
    weighted_mean,
)
from .cached import CachedSplit
from .drawing import PART_NAMES
from .evaluation_subset import SUBSET_SIZE, evaluation_subset
from .variants import STAGE_ATTENTION, NoSoftAttention

BINS = 512  # histogram bins per stage for the AUROC
PERSON_COVER = 0.5  # a cell covered at least this much by the mask is a person cell


def _record_stages(model: HACNN, images: torch.Tensor, batch_size: int = 64) -> list[dict]:
    """One dict per stage with the tensors the measures need, concatenated over batches:
    records (soft_map, translations, theta), and where the stage has them ``spatial``
    (N, 1, h, w), ``channel`` (N, C, 1, 1), ``logits`` (N, C, h, w)."""
    device = next(model.parameters()).device
    caught: list[dict[str, list[torch.Tensor]]] = [{} for _ in STAGE_ATTENTION]
    hooks = []
    for stage, name in enumerate(STAGE_ATTENTION):
        soft = getattr(model, name).soft_attn
        for key, child in (("spatial", "spatial_attn"), ("channel", "channel_attn"),
                           ("logits", "conv")):  # fmt: skip
            module = getattr(soft, child, None)
            if isinstance(module, nn.Module):
                hooks.append(
                    module.register_forward_hook(
                        lambda _m, _i, out, s=stage, k=key: (
                            caught[s].setdefault(k, []).append(out.detach().cpu())
                        )
                    )
                )
    records: list[list[StageRecord]] = []
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            for chunk in images.split(batch_size):
                batch: list[StageRecord] = []
                model.forward_features(normalize(chunk.to(device)), records=batch)
                records.append(batch)
    finally:
        for hook in hooks:
            hook.remove()
        model.train(was_training)
    stages = []
    for stage in range(len(STAGE_ATTENTION)):
        out: dict[str, torch.Tensor | None] = {
            key: torch.cat(parts).float() for key, parts in caught[stage].items()
        }
        for field in ("soft_map", "translations", "theta"):
            parts = [getattr(batch[stage], field) for batch in records]
            out[field] = None if parts[0] is None else torch.cat([p.cpu() for p in parts]).float()
        stages.append(out)
    return stages


def map_estimates(
    values: torch.Tensor, inside: torch.Tensor, weights: torch.Tensor
) -> tuple[Estimate | None, Estimate]:
    """(mass_ratio, auroc) of one map. values (N, 1, h, w) >= 0, inside (N, 1, h, w) the
    share of each cell the person covers, weights (1 + B, N). mass_ratio None if the map is
    zero everywhere."""
    values = values.double()
    total = values.sum((1, 2, 3))
    valid = total > 0
    share = torch.where(valid, (values * inside).sum((1, 2, 3)) / total.clamp_min(1e-300), 0.0)
    flat = inside.double().mean((1, 2, 3)) * valid
    mass = summarize(ratio_of_sums(share, flat, weights)) if bool(valid.any()) else None
    cells = values.flatten(1)
    cover = inside.flatten(1)
    low, high = float(cells.min()), float(cells.max())
    edges = torch.linspace(low, max(high, low), BINS + 1, dtype=torch.float64)
    person = value_histograms(cells, cover >= PERSON_COVER, edges)
    background = value_histograms(cells, cover <= 0, edges)
    return mass, summarize(histogram_auroc(person, background, weights))


def _gate_range(soft: torch.Tensor, inside: torch.Tensor, weights: torch.Tensor) -> dict:
    """Per-channel in / out ratios and channel means of the gate (N, C, h, w)."""
    soft, inside = soft.double(), inside.double()
    outside = 1 - inside
    mean_in = (weights @ (soft * inside).sum((2, 3))) / (weights @ inside.sum((1, 2, 3)))[:, None]
    mean_out = (weights @ (soft * outside).sum((2, 3))) / (weights @ outside.sum((1, 2, 3)))[
        :, None
    ]
    ratio = mean_in / mean_out  # (1 + B, C)
    cells = soft.shape[2] * soft.shape[3]
    channel_mean = (weights @ soft.sum((2, 3))) / (weights.sum(1, keepdim=True) * cells)
    return {
        "gate_in_out": {
            "median": summarize(ratio.median(1).values),
            "min": summarize(ratio.amin(1)),
            "max": summarize(ratio.amax(1)),
        },
        "channel_mean": {
            "min": summarize(channel_mean.amin(1)),
            "max": summarize(channel_mean.amax(1)),
        },
    }


def soft_estimates(stage: dict, mask: torch.Tensor, weights: torch.Tensor) -> dict[str, Any]:
    """The soft measures of one stage (see the module docstring); mask (N, H, W) bool."""
    soft = stage["soft_map"]
    inside = F.interpolate(mask[:, None].float(), size=soft.shape[-2:], mode="area")
    mass, auroc = map_estimates(soft.mean(1, keepdim=True), inside, weights)
    out: dict[str, Any] = {"mass_ratio": mass, "auroc": auroc}
    spatial, channel = stage.get("spatial"), stage.get("channel")
    for prefix, values in (
        ("spatial", spatial),
        (
            "product",
            None if spatial is None or channel is None else spatial * channel.mean(1, True),
        ),
    ):
        pair = (None, None) if values is None else map_estimates(values, inside, weights)
        out[f"{prefix}_mass_ratio"], out[f"{prefix}_auroc"] = pair
    out.update(_gate_range(soft, inside, weights))
    logits = stage.get("logits")
    if logits is None:
        out["logits"] = None
    else:
        flat = logits.flatten()
        zero = (logits == 0).double().flatten(1).mean(1)
        out["logits"] = {
            "min": float(flat.min()),
            "median": float(flat.median()),
            "max": float(flat.max()),
            "zero_share": summarize(weighted_mean(zero, weights)),
        }
    return out


def hard_estimates(stage: dict, data: CachedSplit, weights: torch.Tensor) -> dict[str, Any]:
    """The hard measures of one stage: per-stripe ty-dy correlations, parts' coverage."""
    theta = stage["theta"]  # (N, T, 2, 3)
    height, width = data.images.shape[-2:]
    ty = theta[:, :, 1, 2]
    corr = torch.stack(
        [weighted_correlation(ty[:, r], data.offsets[:, 1], weights) for r in range(ty.shape[1])],
        1,
    )  # (1 + B, T)
    boxes = theta_to_boxes(theta, height, width)
    limit = torch.tensor([width, height, width, height], dtype=boxes.dtype)
    boxes = torch.minimum(boxes.clamp_min(0), limit)
    stripes = _box_masks(boxes, height, width).any(1)  # (N, H, W)
    parts = _box_masks(data.parts, height, width)  # (N, 3, H, W)
    covered = (parts & stripes[:, None]).sum((2, 3)).double()
    coverage = covered / parts.sum((2, 3)).clamp_min(1)  # (N, 3)
    best_iou = _box_iou(data.parts, boxes).amax(2).double()  # (N, 3)
    cover_w, iou_w = weighted_mean(coverage, weights), weighted_mean(best_iou, weights)
    return {
        "ty_corr_dy": [summarize(corr[:, r]) for r in range(corr.shape[1])],
        "mean_abs_corr": summarize(corr.abs().mean(1)),
        "coverage": {p: summarize(cover_w[:, k]) for k, p in enumerate(PART_NAMES)},
        "best_iou": {p: summarize(iou_w[:, k]) for k, p in enumerate(PART_NAMES)},
    }


def measure_attention(
    model: HACNN,
    data: CachedSplit | None = None,
    *,
    boot: int = BOOT,
    seed: int = 0,
    size: int = SUBSET_SIZE,
) -> dict[str, Any]:
    """Every measure per stage on the fixed evaluation subset of ``data`` (its first ``size``
    images; None: the medium synthetic query split), with 95 % bootstrap intervals over the
    images (``boot`` resamples drawn from ``seed``).

    Returns {"num_images", "boot", "seed", "soft": [3 stages, each a dict or None],
    "hard": [3 stages] or None}; measures are Estimates (``to_json`` makes plain JSON).
    """
    subset = evaluation_subset(data, size)
    weights = bootstrap_weights(len(subset), boot, seed)
    stages = _record_stages(model, subset.images)
    soft = [
        None
        if isinstance(getattr(model, name).soft_attn, NoSoftAttention)
        else soft_estimates(stage, subset.masks, weights)
        for name, stage in zip(STAGE_ATTENTION, stages, strict=True)
    ]
    has_hard = stages[0]["theta"] is not None
    return {
        "num_images": len(subset),
        "boot": boot,
        "seed": seed,
        "soft": soft,
        "hard": [hard_estimates(stage, subset, weights) for stage in stages] if has_hard else None,
    }


def to_json(value: Any) -> Any:
    """``value`` with every Estimate replaced by its ``as_dict()`` (lists, dicts, tuples)."""
    if isinstance(value, Estimate):
        return value.as_dict()
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    return value
