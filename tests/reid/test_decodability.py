"""The offset decoder: ridge R^2 with a bootstrap interval, and its per-stage use on HA-CNN."""

from __future__ import annotations

import pytest
import torch

from tutorial_utils.reid import SyntheticPedestrians
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.decodability import offset_decodability, ridge_r2
from tutorial_utils.reid.variants import build_model


def test_ridge_r2_reads_a_linear_signal_and_not_noise() -> None:
    generator = torch.Generator().manual_seed(0)
    x = torch.randn(400, 5, generator=generator)
    y = x @ torch.tensor([1.0, -2.0, 0.5, 0.0, 0.0]) + 0.1 * torch.randn(400, generator=generator)
    signal = ridge_r2(x[:200], y[:200], x[200:], y[200:], ridge=1.0)
    assert signal["r2"] > 0.95
    assert signal["low"] <= signal["r2"] <= signal["high"]
    noise_y = torch.randn(400, generator=generator)
    noise = ridge_r2(x[:200], noise_y[:200], x[200:], noise_y[200:], ridge=1.0)
    assert noise["r2"] < 0.1
    assert noise["low"] < 0 < noise["high"] or noise["high"] < 0.1


def test_ridge_r2_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="same D"):
        ridge_r2(torch.zeros(4, 3), torch.zeros(4), torch.zeros(4, 2), torch.zeros(4))


def test_offset_decodability_per_stage_on_a_small_model() -> None:
    data = cache_split(
        SyntheticPedestrians("query", num_train_ids=4, num_test_ids=6, images_per_id=4)
    )
    half = len(data) // 2
    fit, test = data.subset(torch.arange(half)), data.subset(torch.arange(half, len(data)))
    torch.manual_seed(0)
    model = build_model(10, (16, 32, 48), 32).eval()
    stages = offset_decodability(model, fit, test, ridge=100.0)
    assert len(stages) == 3
    for stage in stages:
        assert set(stage) == {"pooled", "grid"}
        for entry in stage.values():
            assert entry["low"] <= entry["high"]
