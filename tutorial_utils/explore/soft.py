"""Lesson 04's explorer: one channel of a soft attention map over a photograph."""

from __future__ import annotations

import torch
from matplotlib.figure import Figure

from ..common.images import hacnn_batch
from ..common.plotting import overlay_map
from ..common.validation import check_int
from ..hacnn.blocks import ConvBlock
from ..hacnn.soft_attention import SoftAttention
from .base import check_alpha, prepare_figure

STEM_CHANNELS = 32  # HA-CNN's first ConvBlock gives 32 channels


def soft_maps_for_photos(
    names: list[str], size: tuple[int, int] = (128, 128), seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Photos through a seeded random stem and SoftAttention(32), in eval mode.

    The stem is HA-CNN's first layer, ConvBlock(3, 32, 3, stride=2, padding=1).
    Returns (pictures (N, 3, *size) in [0, 1], soft maps (N, 32, size[0] / 2, size[1] / 2)).
    """
    if not names:
        raise ValueError("names is empty; pass sample image names, e.g. ['astronaut']")
    torch.manual_seed(seed)
    stem = ConvBlock(3, STEM_CHANNELS, 3, stride=2, padding=1).eval()
    soft = SoftAttention(STEM_CHANNELS).eval()
    pictures, batch = hacnn_batch(names, size)
    with torch.no_grad():
        maps = soft(stem(batch))
    return pictures, maps


def explore_soft_channel(
    picture: torch.Tensor,
    soft_map: torch.Tensor,
    channel: int,
    alpha: float = 0.5,
    fig: Figure | None = None,
) -> dict[str, object]:
    """Draw channel ``channel`` of ``soft_map`` (C, h, w) over ``picture`` (3, H, W).

    The colour scale is fixed to the soft map's possible range [0.5, 1], so channels can be
    compared by eye; ``alpha`` is the overlay's opacity (0: photo only, 1: map only).
    Returns "channel", "alpha", "map" (h, w), the rounded "min", "max", "mean" and "figure".
    """
    if soft_map.ndim != 3:
        raise ValueError(
            f"soft_map must be (C, h, w), got shape {tuple(soft_map.shape)}; index the batch first"
        )
    check_int(channel, "channel", low=0, high=soft_map.shape[0] - 1)
    check_alpha(alpha)
    chosen = soft_map[channel].detach().float().cpu()
    stats = {
        k: round(v, 4)
        for k, v in (
            ("min", chosen.min().item()),
            ("max", chosen.max().item()),
            ("mean", chosen.mean().item()),
        )
    }

    fig = prepare_figure(fig, (5, 5))
    ax = fig.subplots()
    heat = overlay_map(
        ax,
        picture,
        chosen,
        alpha=alpha,
        vmin=0.5,
        vmax=1.0,
        title=f"channel {channel}: {stats['min']:.4f} .. {stats['max']:.4f}",
    )
    fig.colorbar(heat, ax=ax, fraction=0.046, pad=0.04, label="soft attention value")
    return {"channel": channel, "alpha": alpha, "map": chosen, **stats, "figure": fig}
