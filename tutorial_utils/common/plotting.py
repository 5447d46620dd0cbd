"""Matplotlib helpers: images and attention maps over images, region boxes.

Figures are drawn for a projector as well as a laptop screen: ``projector_style`` sets the
resolution, maps can be drawn beside their image (``plot_map_grid(..., over_image=False)``) so the
map's colours never mix with the photo's, and the stripes of hard attention have one
colour-blind-safe palette (``STRIPE_COLOURS``, from Okabe and Ito) with a legend
(``stripe_legend``) in every lesson.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F

if TYPE_CHECKING:  # matplotlib loads on the first drawing, not with the package
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


# Okabe-Ito colours, distinguishable with the common colour-vision deficiencies; stripe 0 is the top
# stripe at initialisation. Thick outlines (STRIPE_LINEWIDTH) keep them visible on a projector.
STRIPE_COLOURS = ("#E69F00", "#56B4E9", "#009E73", "#CC79A7")
STRIPE_LINEWIDTH = 3.0
FIGURE_DPI = 150  # tall grids of 160 x 64 crops are 5 inches wide: still 750 px


def projector_style() -> None:
    """Set matplotlib's defaults so inline figures are legible when projected: 150 dpi."""
    import matplotlib.pyplot as plt

    plt.rcParams["figure.dpi"] = FIGURE_DPI
    plt.rcParams["savefig.dpi"] = FIGURE_DPI


def stripe_legend(target, num_stripes: int = len(STRIPE_COLOURS), **kwargs):
    """Add a legend naming each stripe's colour to an Axes or a Figure; returns the legend."""
    from matplotlib.lines import Line2D

    if not 1 <= num_stripes <= len(STRIPE_COLOURS):
        raise ValueError(
            f"num_stripes={num_stripes}; expected 1 to {len(STRIPE_COLOURS)}, "
            "one colour per stripe of STRIPE_COLOURS"
        )
    handles = [
        Line2D([], [], color=STRIPE_COLOURS[i], lw=STRIPE_LINEWIDTH, label=f"stripe {i}")
        for i in range(num_stripes)
    ]
    kwargs.setdefault("fontsize", 9)
    return target.legend(handles=handles, **kwargs)


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


def show_map(
    ax: Axes,
    attention_map: torch.Tensor,
    size: tuple[int, int] | torch.Size,
    cmap: str = "magma",
    vmin: float | None = None,
    vmax: float | None = None,
):
    """Draw an (h, w) map alone, stretched over an image's (H, W) pixel coordinates, each cell a
    flat block (no interpolation invents detail). Returns the AxesImage (for a colour bar)."""
    height, width = int(size[0]), int(size[1])
    m = attention_map.detach().float().cpu().numpy()
    artist = ax.imshow(
        m,
        cmap=cmap,
        vmin=vmin,
        vmax=vmax,
        interpolation="nearest",
        extent=(-0.5, width - 0.5, height - 0.5, -0.5),
    )
    ax.set_axis_off()
    return artist


def draw_boxes(
    ax: Axes,
    boxes: torch.Tensor,
    colors: list[str] | tuple[str, ...] | None = None,
    labels: bool = True,
    linewidth: float = STRIPE_LINEWIDTH,
) -> None:
    """Outline pixel boxes (T, 4) as (x1, y1, x2, y2) on ``ax``; box i in ``colors[i]``
    (by default the stripe palette, ``STRIPE_COLOURS``)."""
    from matplotlib.patches import Rectangle

    colors = colors or STRIPE_COLOURS
    for i, (x1, y1, x2, y2) in enumerate(boxes.detach().cpu().tolist()):
        color = colors[i % len(colors)]
        ax.add_patch(
            Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False, lw=linewidth, ec=color)
        )
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
    over_image: bool = True,
    extend: str = "neither",
) -> Figure:
    """Images (N, 3, H, W) on the top row, then one row of maps (N, h, w) per entry of ``rows``,
    each map resized over its image, or, with ``over_image=False``, drawn alone under its image
    (cells as squares in the image's pixel coordinates, so boxes and contours line up), so the
    map's colours never mix with the photo's.

    Every map of the figure shares one colour scale (``vmin``/``vmax``, by default the range
    of all maps together) and one colour bar, so a small range cannot fill the whole scale.
    ``extend="max"`` marks a colour bar whose top was clipped (a ``vmax`` below an outlier).
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
            if over_image:
                artist = overlay_map(
                    axes[i, j], images[j], maps[j], alpha=alpha, cmap=cmap, vmin=low, vmax=high
                )
            else:
                artist = show_map(axes[i, j], maps[j], images.shape[-2:], cmap, low, high)
            if j == 0:
                axes[i, 0].set_axis_on()
                axes[i, 0].set_xticks([])
                axes[i, 0].set_yticks([])
                axes[i, 0].set_ylabel(name, fontsize=9)
    bar = fig.colorbar(artist, ax=axes.ravel().tolist(), fraction=0.04, pad=0.02, extend=extend)
    bar.set_label(label)
    return fig
