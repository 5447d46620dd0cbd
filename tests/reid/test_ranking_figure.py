"""The ranked gallery of one query, and its figure, follow the protocol of evaluate_ranking."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from tutorial_utils.reid import evaluate_ranking, ranked_gallery, show_ranking

from .test_metrics import DISTMAT, G_CAMS, G_PIDS, Q_CAMS, Q_PIDS


class Split:
    """A stand-in data set: grey images whose brightness is the item's index."""

    def __init__(self, pids: list[int], camids: list[int]) -> None:
        self.pids, self.camids = pids, camids

    def __len__(self) -> int:
        return len(self.pids)

    def __getitem__(self, index: int) -> dict:
        img = torch.full((3, 16, 8), index / max(1, len(self)))
        return {"img": img, "pid": self.pids[index], "camid": self.camids[index]}


def test_ranked_gallery_drops_same_camera_matches_and_junk() -> None:
    # Query A (pid 1, camera 0): g4 is junk and g0 is pid 1 seen by camera 0; both go.
    assert ranked_gallery(DISTMAT, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, 0) == [1, 3, 6, 2, 7, 5]
    # Query B (pid 2, camera 1): g6 is pid 2 seen by camera 1.
    assert ranked_gallery(DISTMAT, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, 1, top=3) == [2, 1, 7]


def test_ranked_gallery_agrees_with_evaluate_ranking() -> None:
    distances = torch.rand(5, 12, generator=torch.Generator().manual_seed(0))
    q_pids, q_cams = [1, 2, 3, 1, 2], [0, 1, 2, 3, 0]
    g_pids = [1, 2, 3, 1, 2, 3, 1, 2, 3, 4, 4, -1]
    g_cams = [0, 0, 1, 1, 2, 2, 3, 3, 0, 1, 2, 3]
    first_hits = []
    for q in range(5):
        ranked = ranked_gallery(distances, q_pids, g_pids, q_cams, g_cams, q)
        first_hits.append(next(k for k, g in enumerate(ranked) if g_pids[g] == q_pids[q]))
    result = evaluate_ranking(distances, q_pids, g_pids, q_cams, g_cams, max_rank=12)
    assert result.rank(1) == pytest.approx(sum(h == 0 for h in first_hits) / 5)
    assert result.rank(3) == pytest.approx(sum(h < 3 for h in first_hits) / 5)


def test_ranked_gallery_names_bad_input() -> None:
    with pytest.raises(ValueError, match="expected 3 query pids"):
        ranked_gallery(DISTMAT, Q_PIDS[:2], G_PIDS, Q_CAMS, G_CAMS, 0)
    with pytest.raises(ValueError, match="expected 8 gallery pids"):
        ranked_gallery(DISTMAT, Q_PIDS, G_PIDS[:5], Q_CAMS, G_CAMS, 0)
    with pytest.raises(IndexError, match="query index 3"):
        ranked_gallery(DISTMAT, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, 3)
    with pytest.raises(ValueError, match="top must be"):
        ranked_gallery(DISTMAT, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, 0, top=0)


def test_show_ranking_outlines_correct_matches_green_and_wrong_red() -> None:
    query, gallery = Split(Q_PIDS, Q_CAMS), Split(G_PIDS, G_CAMS)
    fig = show_ranking(query, gallery, DISTMAT, indices=[0, 1], top=4)
    axes = fig.axes
    assert len(axes) == 2 * 5
    green, red = to_rgba("tab:green"), to_rgba("tab:red")
    # Query A's first four after the cut: g1 x, g3 x, g6 x, g2 OK.
    colours = [
        next(p for p in ax.patches if isinstance(p, Rectangle)).get_edgecolor() for ax in axes[1:5]
    ]
    assert colours == [red, red, red, green]
    assert [to_rgba(ax.title.get_color()) for ax in axes[1:5]] == [red, red, red, green]
    assert [ax.get_title() for ax in axes[1:5]] == ["1: cam 0", "2: cam 1", "3: cam 1", "4: cam 1"]
    # Query B's first: g2 x, then g1 OK.
    assert next(iter(axes[7].patches)).get_edgecolor() == green
    plt.close(fig)
    with pytest.raises(ValueError, match="indices is empty"):
        show_ranking(query, gallery, DISTMAT, indices=[])
