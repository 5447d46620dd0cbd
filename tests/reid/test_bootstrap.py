"""Bootstrap estimates: weights, percentile intervals, AUROC from histograms, correlations."""

from __future__ import annotations

import math

import pytest
import torch

from tutorial_utils.reid.bootstrap import (
    Estimate,
    bootstrap_weights,
    histogram_auroc,
    ratio_of_sums,
    summarize,
    value_histograms,
    weighted_correlation,
    weighted_mean,
)


def exact_auroc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """Mann-Whitney: every (positive, negative) pair, ties count half."""
    diff = pos.double()[:, None] - neg.double()[None]
    return float((diff > 0).double().mean() + 0.5 * (diff == 0).double().mean())


def test_estimate_formats_and_writes_none_for_nan():
    e = Estimate(1.0234, 0.981, 1.049)
    assert str(e) == "1.02 [0.98, 1.05]"
    assert f"{e:.3f}" == "1.023 [0.981, 1.049]"
    assert Estimate(0.5, math.nan, 1.0).as_dict() == {"value": 0.5, "low": None, "high": 1.0}


def test_weights_are_resamples_with_replacement_and_reproducible():
    w = bootstrap_weights(7, boot=50, seed=3)
    assert w.shape == (51, 7)
    assert torch.equal(w[0], torch.ones(7, dtype=torch.float64))
    assert torch.equal(w[1:].sum(1), torch.full((50,), 7.0, dtype=torch.float64))
    assert torch.equal(w, bootstrap_weights(7, boot=50, seed=3))
    assert not torch.equal(w, bootstrap_weights(7, boot=50, seed=4))


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_weights_refuse_a_bad_count(bad):
    with pytest.raises(ValueError, match="n \\(the number of images\\)"):
        bootstrap_weights(bad)


def test_mean_interval_matches_a_loop_of_resamples():
    x = torch.randn(40, generator=torch.Generator().manual_seed(0)).double()
    w = bootstrap_weights(40, boot=200, seed=1)
    est = summarize(weighted_mean(x, w))
    assert est.value == pytest.approx(float(x.mean()))
    # The same resamples drawn as index lists and averaged one by one.
    draws = torch.randint(0, 40, (200, 40), generator=torch.Generator().manual_seed(1))
    means = torch.stack([x[d].mean() for d in draws])
    low, high = torch.quantile(means, torch.tensor([0.025, 0.975], dtype=torch.float64))
    assert est.low == pytest.approx(float(low)) and est.high == pytest.approx(float(high))
    assert est.low < est.value < est.high


def test_ratio_of_sums_is_nan_where_the_denominator_vanishes():
    w = torch.tensor([[1.0, 1.0], [2.0, 0.0]], dtype=torch.float64)
    r = ratio_of_sums(torch.tensor([1.0, 3.0]), torch.tensor([0.0, 2.0]), w)
    assert r[0] == pytest.approx(2.0) and torch.isnan(r[1])


def test_weighted_correlation_matches_pearson_on_resamples():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(30, generator=g)
    y = 0.6 * x + torch.randn(30, generator=g)
    w = bootstrap_weights(30, boot=20, seed=0)
    r = weighted_correlation(x, y, w)
    assert float(r[0]) == pytest.approx(float(torch.corrcoef(torch.stack([x, y]))[0, 1]), abs=1e-6)
    draws = torch.randint(0, 30, (20, 30), generator=torch.Generator().manual_seed(0))
    for b in range(3):
        d = draws[b]
        expected = torch.corrcoef(torch.stack([x[d], y[d]]).double())[0, 1]
        assert float(r[1 + b]) == pytest.approx(float(expected), abs=1e-9)
    assert torch.isnan(weighted_correlation(x, torch.ones(30), w)[0])


def test_histogram_auroc_equals_the_exact_auroc_on_values_the_bins_resolve():
    g = torch.Generator().manual_seed(0)
    # Values on a grid of 64 levels, one bin per level: the histogram loses nothing, ties
    # included.
    values = torch.randint(0, 64, (12, 50), generator=g).double()
    person = torch.rand(12, 50, generator=g) < 0.4
    values = values + 20 * person  # the person's values are higher, with overlap
    edges = torch.arange(0, 85, dtype=torch.float64) - 0.5
    pos = value_histograms(values, person, edges)
    neg = value_histograms(values, ~person, edges)
    w = bootstrap_weights(12, boot=30, seed=0)
    auc = histogram_auroc(pos, neg, w)
    assert float(auc[0]) == pytest.approx(exact_auroc(values[person], values[~person]), abs=1e-12)
    draws = torch.randint(0, 12, (30, 12), generator=torch.Generator().manual_seed(0))
    v, p = values[draws[0]], person[draws[0]]
    assert float(auc[1]) == pytest.approx(exact_auroc(v[p], v[~p]), abs=1e-12)


def test_histogram_auroc_of_continuous_values_is_close_to_the_exact_one():
    g = torch.Generator().manual_seed(1)
    values = torch.rand(8, 200, generator=g).double()
    person = torch.rand(8, 200, generator=g) < 0.3
    values = values + 0.3 * person
    edges = torch.linspace(float(values.min()), float(values.max()), 513, dtype=torch.float64)
    w = bootstrap_weights(8, boot=5)
    auc = histogram_auroc(
        value_histograms(values, person, edges), value_histograms(values, ~person, edges), w
    )
    assert float(auc[0]) == pytest.approx(exact_auroc(values[person], values[~person]), abs=2e-3)
