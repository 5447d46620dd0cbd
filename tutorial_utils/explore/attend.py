"""Lesson 10b's explorer: several networks' attention on the same pedestrian, on one scale.

Networks' soft maps live on different ranges (HA-CNN's gate [0.5, 1), a residual multiplier
(1, 2), attention-pooling weights that average 1), so each map is drawn relative to its own
mean over the image: 1 means "as much as a flat map", 2 "twice the average". That is the
quantity the mass ratio sums, and it puts every network on one colour scale.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

import numpy as np
import torch
from matplotlib.figure import Figure

from ..common.plotting import draw_boxes, resize_map, show_image
from ..common.validation import check_int
from .base import STAGES, check_stage, prepare_figure

RELATIVE_RANGE = (0.0, 3.0)  # the colour scale: x the map's mean over the image


class StageMapsLike(Protocol):
    """What ``tutorial_utils.reid.stage_maps`` gives per stage: soft (N, h, w), boxes (N, T, 4)
    in picture pixels or None."""

    soft: torch.Tensor
    boxes: torch.Tensor | None


def relative_map(soft: torch.Tensor) -> torch.Tensor:
    """(h, w) map -> (h, w) the map over its mean: 1 everywhere for a flat map."""
    soft = soft.detach().float().cpu()
    return soft / soft.mean().clamp_min(1e-12)


def mass_share(soft: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """(share of the map's mass on the person, the person's share of the image) for one image.

    soft (h, w), mask (H, W) bool; the mask is averaged onto the map's grid, as the measures do.
    """
    cells = torch.nn.functional.interpolate(
        mask[None, None].float(), size=soft.shape[-2:], mode="area"
    )[0, 0]
    soft = soft.detach().float().cpu()
    return float((soft * cells).sum() / soft.sum()), float(cells.mean())


def explore_attention(
    maps: Mapping[str, Sequence[StageMapsLike]],
    pictures: torch.Tensor,
    masks: torch.Tensor,
    network: str,
    stage: int = 1,
    image_index: int = 0,
    fig: Figure | None = None,
) -> dict[str, object]:
    """Draw ``network``'s stage ``stage`` (1, 2 or 3) on picture ``image_index``.

    maps: {network name: stage_maps(model, pictures)}; pictures (N, 3, H, W) in [0, 1];
    masks (N, H, W) bool, the person. Panels: the picture with the person's outline and the
    network's stripes (none without a local branch); the soft map relative to its mean
    (fixed scale 0-3, colour bar), with the outline. A network without soft attention at that
    stage is said to have none. Returns the relative map (or None), the mass share, the
    person's share, the boxes (or None), and the figure.
    """
    if network not in maps:
        raise ValueError(f"network must be one of {list(maps)}, got {network!r}")
    check_stage(stage)
    if pictures.ndim != 4 or pictures.shape[1] != 3:
        raise ValueError(f"pictures must be (N, 3, H, W), got {tuple(pictures.shape)}")
    check_int(image_index, "image_index", low=0, high=pictures.shape[0] - 1)
    stage_maps = maps[network]
    if len(stage_maps) != len(STAGES):
        raise ValueError(f"expected {len(STAGES)} StageMaps per network, got {len(stage_maps)}")
    record = stage_maps[stage - 1]
    picture = pictures[image_index].detach().float().cpu()
    mask = masks[image_index].cpu()
    height, width = picture.shape[-2:]

    fig = prepare_figure(fig, (7.2, 4.6))
    ax_picture, ax_map = fig.subplots(1, 2)
    show_image(ax_picture, picture, f"{network}, stage {stage}\nstripes and the person")
    ax_picture.contour(mask.numpy().astype(float), levels=[0.5], colors="white", linewidths=1.5)
    boxes = None if record.boxes is None else record.boxes[image_index].detach().cpu()
    if boxes is not None:
        draw_boxes(ax_picture, boxes)
    ax_picture.set_ylim(height - 0.5, -0.5)
    ax_picture.set_xlim(-0.5, width - 0.5)

    soft = record.soft[image_index]
    flat = bool(torch.allclose(soft, soft.flatten()[0].expand_as(soft)))
    relative, share, area = None, None, None
    if flat and soft.flatten()[0].item() == 1.0:
        # ones everywhere: the stage has no soft attention (a gate of 1 changes nothing)
        ax_map.text(0.5, 0.5, "no soft attention\nat this stage", ha="center", va="center")
        ax_map.set_axis_off()
    else:
        relative = relative_map(soft)
        share, area = mass_share(soft, mask)
        heat = resize_map(relative, (height, width)).numpy()
        artist = ax_map.imshow(heat, cmap="viridis", vmin=RELATIVE_RANGE[0], vmax=RELATIVE_RANGE[1])
        ax_map.contour(mask.numpy().astype(float), levels=[0.5], colors="white", linewidths=1.5)
        ax_map.set_axis_off()
        ratio = share / max(area, 1e-12)
        ax_map.set_title(
            f"soft map / its mean{' (flat)' if flat else ''}\n"
            f"mass on person {share:.0%} (area {area:.0%}, {ratio:.2f}x)",
            fontsize=10,
        )
        bar = fig.colorbar(artist, ax=ax_map, fraction=0.08, pad=0.04)
        bar.set_label("x the map's mean (flat = 1)")
    fig.tight_layout()
    return {
        "relative_map": relative,
        "mass_share": share,
        "person_share": area,
        "boxes": boxes,
        "figure": fig,
    }


def relative_maps_grid(
    maps: Mapping[str, Sequence[StageMapsLike]],
    pictures: torch.Tensor,
    masks: torch.Tensor,
    stage: int,
    fig: Figure | None = None,
) -> Figure:
    """One row per network, one column per picture: stage ``stage``'s map over its mean, on
    the explorer's fixed scale, with the person's outline; one colour bar for the figure."""
    check_stage(stage)
    names = list(maps)
    n = pictures.shape[0]
    fig = prepare_figure(fig, (max(7.0, 1.15 * (n + 1)), 2.3 * len(names)))
    axes = np.atleast_2d(fig.subplots(len(names), n + 1, squeeze=False))
    height, width = pictures.shape[-2:]
    artist = None
    for row, name in enumerate(names):
        axes[row, 0].text(0.95, 0.5, name, ha="right", va="center", fontsize=10)
        axes[row, 0].set_axis_off()
        for col in range(n):
            ax = axes[row, col + 1]
            soft = maps[name][stage - 1].soft[col]
            heat = resize_map(relative_map(soft), (height, width)).numpy()
            artist = ax.imshow(heat, cmap="viridis", vmin=RELATIVE_RANGE[0], vmax=RELATIVE_RANGE[1])
            ax.contour(masks[col].numpy().astype(float), levels=[0.5], colors="white", linewidths=1)
            ax.set_axis_off()
    if artist is not None:
        bar = fig.colorbar(artist, ax=axes[:, 1:].ravel().tolist(), fraction=0.03, pad=0.02)
        bar.set_label("x the map's mean (flat = 1)")
    return fig
