"""Synthetic pedestrians drawn for a lesson: images with their masks, part boxes and offsets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .synthetic import SyntheticPedestrians

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PART_COLOURS = ("tab:red", "tab:green", "tab:blue")


def show_pedestrians(
    dataset: SyntheticPedestrians, indices: list[int] | None = None, columns: int = 8
) -> Figure:
    """A grid of examples for a lesson: each image with its mask's outline (white), its part
    boxes (head red, upper body green, lower body blue) and its box centre (the true offset,
    a white cross); titled with pid and camera. Returns the matplotlib Figure.

    ``indices`` defaults to the first ``columns`` items.
    """
    import matplotlib.pyplot as plt  # pyplot loads when a figure is drawn
    from matplotlib.patches import Rectangle

    if columns <= 0:
        raise ValueError(f"columns must be positive, got {columns}")
    indices = list(range(min(columns, len(dataset)))) if indices is None else list(indices)
    if not indices:
        raise ValueError("no examples to show: indices is empty")
    rows = (len(indices) + columns - 1) // columns
    cols = min(columns, len(indices))
    height, width = dataset.size
    fig, axes = plt.subplots(
        rows, cols, figsize=(1.3 * cols, 1.3 * rows * height / width), squeeze=False
    )
    for ax in axes.flat:
        ax.set_axis_off()
    for ax, index in zip(axes.flat, indices, strict=False):
        item = dataset[index]
        ax.imshow(item["img"].permute(1, 2, 0).numpy())
        ax.contour(item["mask"].numpy().astype(float), levels=[0.5], colors="white", linewidths=0.8)
        for colour, (x0, y0, x1, y1) in zip(PART_COLOURS, item["parts"].tolist(), strict=True):
            # Boxes are in pixel edges; imshow puts pixel centres at integers.
            ax.add_patch(
                Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec=colour, lw=1.2)
            )
        dx, dy = item["offset"].tolist()
        ax.plot((dx + 1) * width / 2 - 0.5, (dy + 1) * height / 2 - 0.5, "w+", ms=8, mew=1.5)
        ax.set_title(f"id {item['pid']} cam {item['camid']}", fontsize=8)
    fig.tight_layout()
    return fig
