"""Lesson 03's explorer: HA-CNN's spatial attention map over a photograph, stage by stage.

The weights are random. With fresh BatchNorm statistics (mean 0, variance 1) the eval-mode
maps come out flat; ``seeded_hacnn(calibrate=True)`` measures the statistics on the bundled
photos first (tutorial_utils.calibrate_batchnorm), so the maps follow the photo.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure
from torch import nn

from ..common.batchnorm import calibrate_batchnorm
from ..common.images import hacnn_batch, sample_image_names
from ..common.plotting import overlay_map
from ..hacnn.model import HACNN, StageRecord

STAGES = (1, 2, 3)


def seeded_hacnn(seed: int = 0, num_classes: int = 10, calibrate: bool = False) -> HACNN:
    """A HACNN with random weights drawn after ``torch.manual_seed(seed)``, in eval mode.

    ``calibrate=True``: its BatchNorm running statistics are then measured on all bundled
    photos, hacnn_batch(sample_image_names()) of shape (5, 3, 160, 64), with
    calibrate_batchnorm; the weights stay random.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    if not isinstance(calibrate, bool):
        raise TypeError(f"calibrate must be True or False, got {calibrate!r}")
    torch.manual_seed(seed)
    model = HACNN(num_classes).eval()
    if calibrate:
        _, batch = hacnn_batch(sample_image_names())
        calibrate_batchnorm(model, batch)
    return model


def has_measured_statistics(model: nn.Module) -> bool:
    """True when some BatchNorm's running statistics differ from the fresh mean 0, variance 1."""
    norms = [
        m
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None
    ]
    return any(bool((m.running_mean != 0).any() or (m.running_var != 1).any()) for m in norms)


def spatial_maps_by_stage(model: HACNN, x: torch.Tensor) -> dict[int, dict[str, torch.Tensor]]:
    """Run ``model`` on ``x`` (N, 3, 160, 64) and apply each stage's spatial branch.

    Returns {stage: {"channel_mean": (N, 1, H, W), "spatial": (N, 1, H, W)}} for stages
    1, 2, 3, where (H, W) is that stage's feature size: (40, 16), (20, 8), (10, 4).
    """
    records: list[StageRecord] = []
    with torch.no_grad():
        model.forward_features(x, records)
        maps = {}
        for stage, record in zip(STAGES, records, strict=True):
            branch = getattr(model, f"ha{stage}").soft_attn.spatial_attn
            maps[stage] = {
                "channel_mean": record.features.mean(dim=1, keepdim=True),
                "spatial": branch(record.features),
            }
    return maps


def check_choice(image: str, stage: int, names: list[str]) -> None:
    """Raise a clear error unless ``image`` is a sample name and ``stage`` is 1, 2 or 3."""
    if image not in names:
        raise ValueError(f"image={image!r} is not a sample image; choose one of {names}")
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r} is not an HA-CNN stage; choose 1, 2 or 3")


def draw_spatial_map(
    image: str,
    stage: int,
    model: HACNN,
    alpha: float = 0.6,
    fig: Figure | None = None,
) -> dict[str, object]:
    """Draw stage ``stage``'s channel mean and spatial map over the photograph ``image``.

    Left panel: the channel mean the branch starts from; right panel: the spatial map
    (N, 1, H, W) of ``model.ha{stage}.soft_attn.spatial_attn``. Each panel's colours span
    its own minimum to maximum (printed in the title), so a flat map shows as one colour.
    Returns the drawn data: "image", "stage", "channel_mean" and "spatial" as (H, W) tensors,
    "shape" (H, W), the rounded "min", "max" of the spatial map and "statistics" ("fresh" or
    "measured": whether the model's BatchNorm statistics were calibrated).
    """
    names = sample_image_names()
    check_choice(image, stage, names)
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha={alpha!r} must lie in [0, 1]")
    pictures, batch = hacnn_batch([image])
    maps = spatial_maps_by_stage(model, batch)[stage]
    mean_map = maps["channel_mean"][0, 0]
    spatial = maps["spatial"][0, 0]
    lo, hi = round(spatial.min().item(), 4), round(spatial.max().item(), 4)

    fig = fig or Figure(figsize=(6, 5))
    fig.clear()
    axes = fig.subplots(1, 2)
    overlay_map(
        axes[0],
        pictures[0],
        mean_map,
        alpha=alpha,
        title=f"stage {stage}: channel mean\n{tuple(mean_map.shape)}",
    )
    flat = " (flat)" if hi == lo else ""
    overlay_map(
        axes[1],
        pictures[0],
        spatial,
        alpha=alpha,
        title=f"spatial map{flat}\n{lo:.4f} .. {hi:.4f}",
    )
    statistics = "measured" if has_measured_statistics(model) else "fresh"
    fig.suptitle(
        f"{image}, HA-CNN stage {stage}, random weights, {statistics} BatchNorm statistics",
        fontsize=10,
    )
    return {
        "image": image,
        "stage": stage,
        "channel_mean": mean_map,
        "spatial": spatial,
        "shape": tuple(spatial.shape),
        "min": lo,
        "max": hi,
        "statistics": statistics,
    }
