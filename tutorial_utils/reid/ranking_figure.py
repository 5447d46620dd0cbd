"""What a re-identification model returns for a query: its ranked gallery, drawn.

The ranking follows the standard protocol of :mod:`.metrics`: gallery images of the query's own
identity taken by the query's own camera, and junk (identity -1), are left out before ranking.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from ..common.plotting import show_image
from .metrics import JUNK_PID


class ReidSplit(Protocol):
    """A query or gallery split: items are dicts with ``img`` (3, H, W); ``pids``, ``camids``
    list every item's identity and camera (SyntheticPedestrians and Market1501 have them)."""

    pids: Sequence[int]
    camids: Sequence[int]

    def __len__(self) -> int: ...

    def __getitem__(self, index: int) -> dict: ...


def ranked_gallery(
    distances: torch.Tensor,
    q_pids: Sequence[int] | torch.Tensor,
    g_pids: Sequence[int] | torch.Tensor,
    q_camids: Sequence[int] | torch.Tensor,
    g_camids: Sequence[int] | torch.Tensor,
    index: int,
    top: int | None = None,
) -> list[int]:
    """Gallery indices for query ``index``, nearest first, after the protocol's cut.

    distances (Q, G). Ties keep gallery order (a stable sort, as ``evaluate_ranking`` does);
    ``top`` keeps the first ``top`` (all by default).
    """
    distances = torch.as_tensor(distances)
    if distances.ndim != 2:
        raise ValueError(f"distances must be (Q, G), got shape {tuple(distances.shape)}")
    num_q, num_g = distances.shape
    if len(q_pids) != num_q or len(q_camids) != num_q:
        raise ValueError(
            f"expected {num_q} query pids and camids (one per row of distances), got "
            f"{len(q_pids)} and {len(q_camids)}"
        )
    if len(g_pids) != num_g or len(g_camids) != num_g:
        raise ValueError(
            f"expected {num_g} gallery pids and camids (one per column of distances), got "
            f"{len(g_pids)} and {len(g_camids)}"
        )
    if not -num_q <= index < num_q:
        raise IndexError(f"query index {index} out of range for {num_q} queries")
    if top is not None and top < 1:
        raise ValueError(f"top must be a positive number of gallery images, got {top}")
    pid, camid = int(q_pids[index]), int(q_camids[index])
    ranked = [
        g
        for g in torch.argsort(distances[index], stable=True).tolist()
        if int(g_pids[g]) != JUNK_PID and not (int(g_pids[g]) == pid and int(g_camids[g]) == camid)
    ]
    return ranked if top is None else ranked[:top]


def show_ranking(
    query: ReidSplit,
    gallery: ReidSplit,
    distances: torch.Tensor,
    indices: Sequence[int],
    top: int = 8,
) -> Figure:
    """One row per query in ``indices``: the query image, then its ``top`` nearest gallery images
    after the protocol's cut, each titled with its rank and camera; a thick outline and the
    title's colour mark it green (the query's identity) or red (another), legible when
    projected. distances (Q, G) between ``query`` and ``gallery``.
    Returns the matplotlib Figure.
    """
    indices = list(indices)
    if not indices:
        raise ValueError("no queries to show: indices is empty")
    if top < 1:
        raise ValueError(f"top must be a positive number of gallery images, got {top}")
    fig, axes = plt.subplots(
        len(indices), top + 1, figsize=(1.05 * (top + 1), 2.25 * len(indices)), squeeze=False
    )
    for row, q in enumerate(indices):
        ranked = ranked_gallery(
            distances, query.pids, gallery.pids, query.camids, gallery.camids, q, top
        )
        show_image(
            axes[row, 0], query[q]["img"], f"query id {query.pids[q]}\ncam {query.camids[q]}"
        )
        for ax in axes[row, 1:]:
            ax.set_axis_off()
        for k, g in enumerate(ranked, start=1):
            image = gallery[g]["img"]
            show_image(axes[row, k], image, f"{k}: cam {gallery.camids[g]}")
            colour = "tab:green" if gallery.pids[g] == query.pids[q] else "tab:red"
            height, width = image.shape[-2:]
            # Pixel centres are at integers: the outline runs along the outer pixel edges.
            axes[row, k].add_patch(
                Rectangle((-0.5, -0.5), width, height, fill=False, lw=5, ec=colour)
            )
            axes[row, k].title.set_color(colour)
    fig.tight_layout()
    return fig
