"""What every explorer shares: HA-CNN's stage numbers, checks of widget values, the figure.

An explorer is a plain function ``explore_<what>(<widget values>, ..., fig=None)`` that draws
on ``fig`` (a new pyplot figure when None, so ``plt.show()`` displays it) and returns a dict
of what it drew, the figure under "figure": a test can set values and check the result
without a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure

from ..common.images import check_sample_name  # the image check every explorer shares
from ..common.validation import is_int

STAGES = (1, 2, 3)  # HA-CNN's stages, numbered as the lessons number them

__all__ = [
    "STAGES",
    "check_alpha",
    "check_sample_name",
    "check_stage",
    "prepare_figure",
    "seeded",
]


def check_stage(stage: object) -> None:
    """Raise a ValueError naming ``stage`` unless it is 1, 2 or 3."""
    if not is_int(stage) or stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES} (an HA-CNN stage), got {stage!r}")


def check_alpha(alpha: object) -> None:
    """Raise a ValueError naming ``alpha`` unless it is an opacity in [0, 1]."""
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be an opacity in [0, 1], got {alpha!r}")


def prepare_figure(fig: Figure | None, figsize: tuple[float, float]) -> Figure:
    """``fig`` cleared for a redraw, or a new pyplot figure of ``figsize`` inches when None.

    Redrawing into one figure keeps a widget from stacking a new figure on every move.
    """
    if fig is None:
        fig = plt.figure(figsize=figsize)
    fig.clear()
    return fig


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Draw with ``torch.manual_seed(seed)`` inside, and leave the global CPU RNG as it was.

    Modules draw their initial weights from the global generator, so an explorer that builds
    one seeds it; forking keeps a lesson's own random numbers the same whether or not an
    explorer ran in between.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
