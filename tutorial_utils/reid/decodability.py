"""Can a stripe predictor know where the person stands? Decode the offset from what it sees.

HA-CNN's HardAttention sees a stage's features averaged over every position (N, C); a spatial
transformer's localisation net sees them on a coarse grid (N, C * gh * gw). Whatever a linear
layer can read from its input, a ridge regression fitted on other images can read too: its
R^2 for the true vertical offset dy on held-out images bounds what the predictor *could*
learn, before any training of the stripes.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

from ..hacnn.model import HACNN
from .attention_measures import collect_records
from .bootstrap import bootstrap_weights
from .cached import CachedSplit, cache_split

GRID = (10, 4)  # the last stage's map at 160 x 64: 1 / 16 of the image on each side


def ridge_r2(
    fit_x: torch.Tensor,
    fit_y: torch.Tensor,
    test_x: torch.Tensor,
    test_y: torch.Tensor,
    ridge: float = 10.0,
    boot: int = 1000,
    seed: int = 0,
) -> dict[str, float]:
    """R^2 on the test images of a ridge regression fitted on the fit images.

    fit_x (N, D), fit_y (N,), test_x (M, D), test_y (M,) -> {"r2", "low", "high"}: the value
    and a 95 % bootstrap interval over test images (the fit stays fixed). Features are
    standardised with the fit images' mean and spread. R^2 < 0: worse than predicting the mean.
    """
    if fit_x.ndim != 2 or test_x.ndim != 2 or fit_x.shape[1] != test_x.shape[1]:
        raise ValueError(
            f"expected fit_x (N, D) and test_x (M, D) with the same D, got "
            f"{tuple(fit_x.shape)} and {tuple(test_x.shape)}"
        )
    if len(fit_x) != len(fit_y) or len(test_x) != len(test_y):
        raise ValueError("each x needs one y per row")
    fit_x, test_x = fit_x.double(), test_x.double()
    fit_y, test_y = fit_y.double(), test_y.double()
    mean, std = fit_x.mean(0), fit_x.std(0).clamp_min(1e-6)
    fx = torch.cat([(fit_x - mean) / std, torch.ones(len(fit_x), 1, dtype=torch.float64)], 1)
    tx = torch.cat([(test_x - mean) / std, torch.ones(len(test_x), 1, dtype=torch.float64)], 1)
    penalty = ridge * torch.eye(fx.shape[1], dtype=torch.float64)
    penalty[-1, -1] = 0  # the intercept is not shrunk
    weights = torch.linalg.solve(fx.T @ fx + penalty, fx.T @ fit_y)
    residual = (tx @ weights - test_y) ** 2  # (M,)
    # Resampled test sets as weights (1 + B, M), row 0 the sample itself: R^2 = 1 - SSE / SST,
    # both from weighted sums.
    m = len(test_y)
    counts = bootstrap_weights(m, boot, seed)
    mean_y = (counts @ test_y) / m
    sse = counts @ residual
    sst = counts @ test_y**2 - m * mean_y**2
    r2 = 1 - sse / sst.clamp_min(1e-12)
    low, high = torch.quantile(r2[1:], torch.tensor([0.025, 0.975], dtype=torch.float64))
    return {"r2": float(r2[0]), "low": float(low), "high": float(high)}


def stage_inputs(model: HACNN, data: CachedSplit) -> list[torch.Tensor]:
    """What each stage's stripe predictor sees, the stage's features: [(N, C, h, w)] x 3."""
    records, _ = collect_records(model.eval(), data.images.float())
    return [record.features for record in records]


def offset_decodability(
    model: HACNN,
    fit: CachedSplit | Dataset,
    test: CachedSplit | Dataset,
    grid: tuple[int, int] = GRID,
    ridge: float = 10.0,
) -> list[dict[str, Any]]:
    """Per stage: how well dy can be read from the features pooled as HardAttention pools them
    ("pooled", (N, C)) and on a ``grid`` as a localisation net keeps them ("grid").

    ``fit`` and ``test`` (CachedSplits or data sets such as SyntheticPedestrians) need offsets
    (the synthetic pedestrians'). Returns per stage
    {"pooled": {"r2", "low", "high"}, "grid": {...}} (see ``ridge_r2``).
    """
    fit, test = cache_split(fit), cache_split(test)
    for name, data in (("fit", fit), ("test", test)):
        if data.offsets is None:
            raise ValueError(f"{name} has no offsets: use the synthetic pedestrians")
    out = []
    for fit_features, test_features in zip(
        stage_inputs(model, fit), stage_inputs(model, test), strict=True
    ):
        views = {
            "pooled": lambda f: f.mean((2, 3)),
            "grid": lambda f: F.adaptive_avg_pool2d(f, grid).flatten(1),
        }
        out.append(
            {
                name: ridge_r2(
                    view(fit_features),
                    fit.offsets[:, 1],
                    view(test_features),
                    test.offsets[:, 1],
                    ridge,
                )  # fmt: skip
                for name, view in views.items()
            }
        )
    return out
