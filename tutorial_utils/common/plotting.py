"""Matplotlib helpers: images and attention maps over images, region boxes."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.axes import Axes
from matplotlib.patches import Rectangle


def to_numpy_image(image: torch.Tensor) -> np.ndarray:
    """(3, H, W) or (1, H, W) or (H, W) float tensor in [0, 1] -> (H, W, 3) or (H, W) array."""
    image = image.detach().float().cpu().clamp(0, 1)
    if image.ndim == 3:
        image = image.permute(1, 2, 0)
        if image.shape[-1] == 1:
            image = image[..., 0]
    return image.numpy()


def resize_map(attention_map: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(h, w) map -> (H, W) by bilinear interpolation, for drawing over an image of that size."""
    m = attention_map.detach().float().cpu()[None, None]
    return F.interpolate(m, size=size, mode="bilinear", align_corners=False)[0, 0]


def show_image(ax: Axes, image: torch.Tensor, title: str | None = None) -> None:
    """Draw a (3, H, W) image without ticks."""
    ax.imshow(to_numpy_image(image), cmap="gray")
    ax.set_axis_off()
    if title:
        ax.set_title(title, fontsize=10)


def overlay_map(
    ax: Axes,
    image: torch.Tensor,
    attention_map: torch.Tensor,
    alpha: float = 0.5,
    cmap: str = "jet",
    title: str | None = None,
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw ``image`` (3, H, W) with ``attention_map`` (h, w) resized on top.

    Returns the map's AxesImage (for a colour bar).
    """
    show_image(ax, image, title)
    h, w = image.shape[-2:]
    heat = resize_map(attention_map, (h, w)).numpy()
    return ax.imshow(heat, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax)


def draw_boxes(
    ax: Axes, boxes: torch.Tensor, colors: list[str] | None = None, labels: bool = True
) -> None:
    """Outline pixel boxes (T, 4) as (x1, y1, x2, y2) on ``ax``."""
    colors = colors or plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (x1, y1, x2, y2) in enumerate(boxes.detach().cpu().tolist()):
        color = colors[i % len(colors)]
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, lw=2, ec=color))
        if labels:
            ax.text(x1 + 1, y1 + 1, str(i), color=color, fontsize=8, va="top", fontweight="bold")
