"""Lesson 03's explorer: HA-CNN's spatial attention map over a photograph, stage by stage.

The weights are random. With fresh BatchNorm statistics (mean 0, variance 1) the eval-mode
maps come out flat; ``seeded_hacnn(calibrate=True)`` measures the statistics on the bundled
photos first (tutorial_utils.calibrate_batchnorm), so the maps follow the photo.
"""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..common.batchnorm import calibrate_batchnorm, has_measured_statistics
from ..common.images import hacnn_batch, sample_image_names
from ..common.plotting import overlay_map
from ..common.validation import check_bool, check_int
from ..hacnn.model import HACNN, StageRecord
from .base import STAGES, check_alpha, check_sample_name, check_stage, prepare_figure


def seeded_hacnn(seed: int = 0, num_classes: int = 10, calibrate: bool = False) -> HACNN:
    """A HACNN with random weights drawn after ``torch.manual_seed(seed)``, in eval mode.

    ``calibrate=True``: its BatchNorm running statistics are then measured on all bundled
    photos, hacnn_batch(sample_image_names()) of shape (5, 3, 160, 64), with
    calibrate_batchnorm; the weights stay random.
    """
    check_int(seed, "seed")
    check_bool(calibrate, "calibrate")
    torch.manual_seed(seed)
    model = HACNN(num_classes).eval()
    if calibrate:
        _, batch = hacnn_batch(sample_image_names())
        calibrate_batchnorm(model, batch)
    return model


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


def explore_spatial_map(
    image_name: str,
    stage: int,
    model: HACNN,
    alpha: float = 0.6,
    fig: Figure | None = None,
) -> dict[str, object]:
    """Draw stage ``stage``'s channel mean and spatial map over the photograph ``image_name``.

    Left panel: the channel mean the branch starts from; right panel: the spatial map
    (N, 1, H, W) of ``model.ha{stage}.soft_attn.spatial_attn``. Each panel's colours span
    its own minimum to maximum (printed in the title), so a flat map shows as one colour.
    Returns the drawn data: "image", "stage", "channel_mean" and "spatial" as (H, W) tensors,
    "shape" (H, W), the rounded "min", "max" of the spatial map and "statistics" ("fresh" or
    "measured": whether the model's BatchNorm statistics were calibrated) and "figure".
    """
    check_sample_name(image_name)
    check_stage(stage)
    check_alpha(alpha)
    pictures, batch = hacnn_batch([image_name])
    maps = spatial_maps_by_stage(model, batch)[stage]
    mean_map = maps["channel_mean"][0, 0]
    spatial = maps["spatial"][0, 0]
    lo, hi = round(spatial.min().item(), 4), round(spatial.max().item(), 4)

    fig = prepare_figure(fig, (6, 5))
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
        f"{image_name}, HA-CNN stage {stage}, random weights, {statistics} BatchNorm statistics",
        fontsize=10,
    )
    return {
        "image": image_name,
        "stage": stage,
        "channel_mean": mean_map,
        "spatial": spatial,
        "shape": tuple(spatial.shape),
        "min": lo,
        "max": hi,
        "statistics": statistics,
        "figure": fig,
    }
