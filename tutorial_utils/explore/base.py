"""What every explorer shares: HA-CNN's stage numbers, checks of widget values, the figure.

An explorer is a plain function ``explore_<what>(<widget values>, ..., fig=None)`` that draws
on ``fig`` (a new pyplot figure when None, so ``plt.show()`` displays it) and returns a dict
of what it drew, the figure under "figure": a test can set values and check the result
without a browser.
"""

from __future__ import annotations

import hashlib
import itertools
import weakref
from collections.abc import Callable
from typing import TypeVar

import matplotlib.pyplot as plt
import torch
from matplotlib.figure import Figure
from torch import nn

from ..common.images import check_sample_name  # the image check every explorer shares
from ..common.plotting import FIGURE_DPI
from ..common.validation import is_int

STAGES = (1, 2, 3)  # HA-CNN's stages, numbered as the lessons number them

__all__ = [
    "STAGES",
    "check_sample_name",
    "check_stage",
    "prepare_figure",
    "projector_figure",
    "remembered",
]


def check_stage(stage: object) -> None:
    """Raise a ValueError naming ``stage`` unless it is 1, 2 or 3."""
    if not is_int(stage) or stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES} (an HA-CNN stage), got {stage!r}")


def prepare_figure(fig: Figure | None, figsize: tuple[float, float]) -> Figure:
    """``fig`` cleared for a redraw, or a new pyplot figure of ``figsize`` inches when None.

    Redrawing into one figure keeps a widget from stacking a new figure on every move.
    """
    if fig is None:
        fig = plt.figure(figsize=figsize)
    fig.clear()
    return fig


def projector_figure(fig: Figure, figsize: tuple[float, float]) -> Figure:
    """``fig`` at ``figsize`` inches and at least ``FIGURE_DPI`` (150) dots per inch.

    An explorer's picture is projected in class: at 150 dpi a figure 4.7 inches wide or more is
    about 700 px or more, whatever dpi the caller's figure had.
    """
    fig.set_size_inches(*figsize)
    fig.set_dpi(max(fig.get_dpi(), FIGURE_DPI))
    return fig


T = TypeVar("T")
# model -> {(what, weights' versions, inputs' digest): result}; an entry goes with its model.
_RESULTS: weakref.WeakKeyDictionary[nn.Module, dict[tuple, object]] = weakref.WeakKeyDictionary()


def remembered(
    compute: Callable[[nn.Module, torch.Tensor], T], model: nn.Module, x: torch.Tensor
) -> T:
    """``compute(model, x)``, computed once per model, weights and input.

    An explorer redraws on every move of a control, but a network's maps depend only on the
    network and the inputs: running it again on each move made a redraw take seconds. The
    key holds every parameter's and buffer's version counter, which any in-place change (an
    optimiser step, a BatchNorm update, ``load_state_dict``) bumps, so a changed network is run
    again; the input is keyed by a digest of its values.
    """
    versions = tuple(t._version for t in itertools.chain(model.parameters(), model.buffers()))
    data = x.detach().cpu().contiguous()
    digest = hashlib.blake2b(data.numpy().tobytes(), digest_size=16).hexdigest()
    key = (
        compute.__qualname__,
        model.training,
        versions,
        tuple(data.shape),
        str(data.dtype),
        digest,
    )
    results = _RESULTS.setdefault(model, {})
    if key not in results:
        if len(results) >= 8:  # a few inputs per model are plenty for an explorer
            results.clear()
        results[key] = compute(model, x)
    return results[key]  # type: ignore[return-value]
