"""measure_attention: the measures per stage, their intervals, and which stages have which."""

from __future__ import annotations

import json
import math

import pytest
import torch
import torch.nn.functional as F

from tests.reid.test_bootstrap import exact_auroc
from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.reid.attention_estimates import map_estimates, measure_attention, to_json
from tutorial_utils.reid.attention_measures import attention_measures
from tutorial_utils.reid.bootstrap import Estimate, bootstrap_weights
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.variants import build_model

WIDTHS = dict(nchannels=(16, 32, 48), feat_dim=32)


@pytest.fixture(scope="module")
def data():
    return cache_split(TinyPedestrians("gallery"))  # 24 images with ground truth


def small(variant: str, seed: int = 0):
    torch.manual_seed(seed)
    model = build_model(6, variant=variant, **WIDTHS)
    # Random BatchNorm statistics, so that the eval-mode maps are not flat.
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2)
    # Stripe predictors start at zero weights (fixed stripes): let them move.
    for name in ("ha1", "ha2", "ha3"):
        for m in getattr(model, name).hard_attn.modules():
            if isinstance(m, torch.nn.Linear):
                torch.nn.init.normal_(m.weight, std=0.5)
    return model.eval()


def test_map_estimates_of_flat_and_perfect_maps():
    mask = torch.zeros(4, 1, 8, 4)
    mask[:, :, 2:6, 1:3] = 1
    w = bootstrap_weights(4, boot=20)
    mass, auroc = map_estimates(torch.ones(4, 1, 8, 4), mask, w)
    assert mass.value == pytest.approx(1.0) and auroc.value == pytest.approx(0.5)
    mass, auroc = map_estimates(0.5 + 0.5 * mask, mask, w)
    # Mass share 8 / (8 + 0.5 * 24) = 0.4 over a flat share of 8 / 32.
    assert mass.value == pytest.approx(0.4 / 0.25) and auroc.value == pytest.approx(1.0)
    assert auroc.low == pytest.approx(1.0)
    mass, _ = map_estimates(torch.zeros(4, 1, 8, 4), mask, w)
    assert mass is None


def test_point_values_agree_with_attention_measures(data):
    model = small("harmonious")
    new = measure_attention(model, data, boot=30)
    old = attention_measures(model, data)
    assert new["num_images"] == len(data) == old["num_images"]
    for a, b in zip(new["soft"], old["soft"], strict=True):
        assert a["mass_ratio"].value == pytest.approx(b["mass_ratio"], rel=1e-5)
        assert a["gate_in_out"]["median"].value == pytest.approx(b["gate_in_out_median"], rel=1e-5)
        assert a["gate_in_out"]["min"].low <= a["gate_in_out"]["min"].high
    for a, b in zip(new["hard"], old["hard"], strict=True):
        for est, r in zip(a["ty_corr_dy"], b["ty_corr_dy"], strict=True):
            assert est.value == pytest.approx(r, abs=1e-6)
        for part, value in b["coverage"].items():
            assert a["coverage"][part].value == pytest.approx(value, abs=1e-6)


def test_auroc_agrees_with_an_exact_rank_auroc_on_a_model_map(data):
    model = small("harmonious", seed=1)
    result = measure_attention(model, data, boot=10)
    soft = []
    model.ha1.register_forward_hook(lambda _m, _i, out: soft.append(out[0].detach()))
    with torch.no_grad():
        from tutorial_utils.common.images import normalize

        model(normalize(data.images.float()))
    values = soft[0].mean(1, keepdim=True)
    inside = F.interpolate(data.masks[:, None].float(), size=values.shape[-2:], mode="area")
    exact = exact_auroc(values[inside >= 0.5], values[inside <= 0])
    assert result["soft"][0]["auroc"].value == pytest.approx(exact, abs=5e-3)


def test_stages_without_soft_attention_or_local_branch_are_none(data):
    glob = measure_attention(small("global"), data, boot=10)
    assert glob["soft"] == [None, None, None] and glob["hard"] is None
    pooling = measure_attention(small("attention_pooling"), data, boot=10)
    assert pooling["soft"][:2] == [None, None]
    last = pooling["soft"][2]
    assert isinstance(last["mass_ratio"], Estimate)
    assert last["logits"] is None and last["spatial_auroc"] is None
    spatial = measure_attention(small("spatial_only"), data, boot=10)["soft"][0]
    assert isinstance(spatial["spatial_auroc"], Estimate) and spatial["product_auroc"] is None


def test_fixed_stripes_have_no_correlation_and_json_has_none_for_it(data):
    result = measure_attention(small("fixed_stripes"), data, boot=10)
    corr = result["hard"][0]["ty_corr_dy"][0]
    assert math.isnan(corr.value)
    text = json.dumps(to_json(result))
    assert json.loads(text)["hard"][0]["ty_corr_dy"][0]["value"] is None


def test_intervals_are_reproducible_and_depend_on_the_seed(data):
    model = small("harmonious")
    a = measure_attention(model, data, boot=40, seed=0)["soft"][1]["auroc"]
    b = measure_attention(model, data, boot=40, seed=0)["soft"][1]["auroc"]
    c = measure_attention(model, data, boot=40, seed=1)["soft"][1]["auroc"]
    assert a == b and a.value == c.value and (a.low, a.high) != (c.low, c.high)
    assert a.low <= a.value <= a.high
