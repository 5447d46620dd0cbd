"""Matplotlib helpers: images and attention maps over images, region boxes."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # matplotlib loads on the first drawing, not with the package
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


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
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    colors = colors or plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (x1, y1, x2, y2) in enumerate(boxes.detach().cpu().tolist()):
        color = colors[i % len(colors)]
        ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, lw=2, ec=color))
        if labels:
            ax.text(x1 + 1, y1 + 1, str(i), color=color, fontsize=8, va="top", fontweight="bold")


def plot_map_grid(
    images: torch.Tensor,
    rows: dict[str, torch.Tensor],
    *,
    cmap: str = "magma",
    vmin: float | None = None,
    vmax: float | None = None,
    alpha: float = 0.6,
    label: str = "attention",
    titles: list[str] | None = None,
    fig: Figure | None = None,
) -> Figure:
    """Images (N, 3, H, W) on the top row, then one row of maps (N, h, w) per entry of ``rows``,
    each map resized over its image.

    Every map of the figure shares one colour scale (``vmin``/``vmax``, by default the range
    of all maps together) and one colour bar, so a small range cannot fill the whole scale.
    """
    if not rows:
        raise ValueError("rows is empty; expected at least one {name: (N, h, w) maps} entry")
    n = images.shape[0]
    for name, maps in rows.items():
        if maps.ndim != 3 or maps.shape[0] != n:
            raise ValueError(
                f"rows[{name!r}] has shape {tuple(maps.shape)}; expected ({n}, h, w), "
                "one map per image"
            )
    every = torch.cat([m.detach().float().cpu().flatten() for m in rows.values()])
    low = float(every.min()) if vmin is None else vmin
    high = float(every.max()) if vmax is None else vmax
    if fig is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(1.3 * n + 1.2, 2.3 * (len(rows) + 1)))
    axes = fig.subplots(len(rows) + 1, n, squeeze=False)
    artist = None
    for j in range(n):
        show_image(axes[0, j], images[j], None if titles is None else titles[j])
        for i, (name, maps) in enumerate(rows.items(), start=1):
            artist = overlay_map(
                axes[i, j], images[j], maps[j], alpha=alpha, cmap=cmap, vmin=low, vmax=high
            )
            if j == 0:
                axes[i, 0].set_axis_on()
                axes[i, 0].set_xticks([])
                axes[i, 0].set_yticks([])
                axes[i, 0].set_ylabel(name, fontsize=9)
    bar = fig.colorbar(artist, ax=axes.ravel().tolist(), fraction=0.04, pad=0.02)
    bar.set_label(label)
    return fig
