"""Estimates with a 95 % percentile bootstrap confidence interval over images (or queries).

A measure over N images is written as a function of per-image sums, so that resampling the
images is a matrix product: ``weights`` (1 + B, N) holds in row 0 ones (the sample itself)
and in rows 1..B how often each image was drawn in one resample with replacement
(multinomial counts). ``weights @ sums`` (1 + B, K) then gives every resample's sums at
once, never a Python loop of B recomputations. The generator is seeded, so the intervals
are the same on every CPU.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

BOOT = 1000  # resamples
LEVEL = 0.95  # confidence level of the percentile interval


@dataclass(frozen=True)
class Estimate:
    """A measured value and its 95 % bootstrap interval [low, high]; ``str``: ``1.02 [0.98, 1.05]``.

    Any of the three may be NaN where the measure is undefined (e.g. a ratio of nothing to
    nothing); ``as_dict`` writes those as None for JSON.
    """

    value: float
    low: float
    high: float

    def __format__(self, spec: str) -> str:
        spec = spec or ".2f"
        return f"{self.value:{spec}} [{self.low:{spec}}, {self.high:{spec}}]"

    def __str__(self) -> str:
        return format(self, "")

    def as_dict(self) -> dict[str, float | None]:
        """{"value", "low", "high"}, NaN as None."""
        return {k: (None if math.isnan(v) else v) for k, v in vars(self).items()}


def bootstrap_weights(n: int, boot: int = BOOT, seed: int = 0) -> torch.Tensor:
    """(1 + boot, n) float64 resampling weights: row 0 ones, rows 1.. multinomial counts."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the number of images) must be an int >= 1, got {n!r}")
    if isinstance(boot, bool) or not isinstance(boot, int) or boot < 1:
        raise ValueError(f"boot (the number of resamples) must be an int >= 1, got {boot!r}")
    generator = torch.Generator().manual_seed(seed)
    draws = torch.randint(0, n, (boot, n), generator=generator)  # (B, n) image indices
    counts = torch.zeros(boot, n, dtype=torch.float64)
    counts.scatter_add_(1, draws, torch.ones(boot, n, dtype=torch.float64))
    return torch.cat([torch.ones(1, n, dtype=torch.float64), counts])


def summarize(values: torch.Tensor, level: float = LEVEL) -> Estimate:
    """(1 + B,) statistic per weights row -> Estimate: row 0's value and the percentile
    interval of rows 1.. (resamples where the statistic is undefined, NaN, are left out)."""
    point = float(values[0])
    resampled = values[1:].double()
    resampled = resampled[torch.isfinite(resampled)]
    if resampled.numel() == 0:
        return Estimate(point, math.nan, math.nan)
    tail = (1 - level) / 2
    low, high = torch.quantile(resampled, torch.tensor([tail, 1 - tail], dtype=torch.float64))
    return Estimate(point, float(low), float(high))


def weighted_mean(values: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """values (N,) or (N, K), weights (1 + B, N) -> (1 + B,) or (1 + B, K) weighted means."""
    values = values.double()
    return (weights @ values) / weights.sum(1).reshape(-1, *([1] * (values.ndim - 1)))


def ratio_of_sums(num: torch.Tensor, den: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """sum_i w_i num_i / sum_i w_i den_i for every weights row: (N,) (N,) (1 + B, N) -> (1 + B,).

    NaN where the denominator is 0."""
    top, bottom = weights @ num.double(), weights @ den.double()
    return torch.where(bottom != 0, top / torch.where(bottom != 0, bottom, 1.0), torch.nan)


def weighted_correlation(x: torch.Tensor, y: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of x and y (N,) under each weights row -> (1 + B,), from weighted
    sums of x, y, x^2, y^2, xy. NaN where either is constant."""
    x, y = x.double(), y.double()
    # Centre on the sample means first: the sums of squares then lose no digits.
    x, y = x - x.mean(), y - y.mean()
    sums = weights @ torch.stack([torch.ones_like(x), x, y, x * x, y * y, x * y], 1)
    n, sx, sy, sxx, syy, sxy = sums.unbind(1)
    cov = sxy - sx * sy / n
    var_x, var_y = sxx - sx * sx / n, syy - sy * sy / n
    denom = (var_x * var_y).clamp_min(0).sqrt()
    ok = denom > 1e-12 * n * n
    return torch.where(ok, cov / torch.where(ok, denom, 1.0), torch.nan)


def histogram_auroc(
    positive: torch.Tensor, negative: torch.Tensor, weights: torch.Tensor
) -> torch.Tensor:
    """AUROC = P(a positive value > a negative value) + P(equal) / 2 from per-image histograms.

    positive, negative (N, K) counts per image in K ordered bins (the same bins for both);
    weights (1 + B, N) -> (1 + B,). Values in one bin count as ties (half). NaN where a row
    has no positive or no negative value.
    """
    pos = weights @ positive.double()  # (1 + B, K)
    neg = weights @ negative.double()
    below = torch.cumsum(neg, 1) - neg  # negatives in lower bins
    wins = (pos * (below + neg / 2)).sum(1)
    total = pos.sum(1) * neg.sum(1)
    return torch.where(total > 0, wins / torch.where(total > 0, total, 1.0), torch.nan)


def value_histograms(
    values: torch.Tensor, select: torch.Tensor, edges: torch.Tensor
) -> torch.Tensor:
    """Per-image histograms of the selected values: values (N, M), select (N, M) bool, edges
    (K + 1,) increasing -> (N, K) counts. Values outside the edges go to the end bins."""
    k = edges.numel() - 1
    index = (torch.bucketize(values.double().contiguous(), edges.double(), right=True) - 1).clamp(
        0, k - 1
    )
    hist = torch.zeros(values.shape[0], k, dtype=torch.float64)
    hist.scatter_add_(1, index, select.double())
    return hist
