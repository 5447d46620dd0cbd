"""Interventions: what each hook puts in place of the attention, that the hooks always go,
and the report's rows."""

from __future__ import annotations

import copy

import pytest
import torch

from tests.reid.test_attention_estimates import small
from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils.common.images import normalize
from tutorial_utils.hacnn.hard_attention import default_stripe_centres
from tutorial_utils.reid.cached import cache_split
from tutorial_utils.reid.evaluation import extract_features
from tutorial_utils.reid.interventions import (
    INTERVENTIONS,
    format_interventions,
    gate_constants,
    intervention,
    run_interventions,
)
from tutorial_utils.reid.variants import NoSoftAttention, build_model


@pytest.fixture(scope="module")
def splits():
    return tuple(cache_split(TinyPedestrians(s)) for s in ("query", "gallery"))


def stage_outputs(model, images):
    """Each stage's (soft map, translations) as the forward pass used them."""
    seen = []
    hooks = [
        getattr(model, n).register_forward_hook(lambda _m, _i, out: seen.append(out))
        for n in ("ha1", "ha2", "ha3")
    ]
    try:
        with torch.no_grad():
            model(normalize(images.float()))
    finally:
        for h in hooks:
            h.remove()
    return seen


def test_ones_is_the_network_without_soft_attention(splits):
    model = small("harmonious")
    images = splits[1].images
    without = copy.deepcopy(model)
    for n in ("ha1", "ha2", "ha3"):
        getattr(without, n).soft_attn = NoSoftAttention()
    with intervention(model, "ones"):
        hooked = extract_features(model, images)
    torch.testing.assert_close(hooked, extract_features(without, images))
    assert not torch.allclose(extract_features(model, images), hooked)


def test_spatial_mean_and_constant_replace_the_map(splits):
    model = small("harmonious")
    images = splits[1].images[:8]
    original = stage_outputs(model, images)
    with intervention(model, "spatial_mean", stages=(1,)):
        changed = stage_outputs(model, images)
    torch.testing.assert_close(changed[0][0], original[0][0])  # stage 1 untouched
    soft = changed[1][0]
    assert float(soft.std((2, 3)).max()) < 1e-6
    # The per-channel means of stage 2's own input: recompute its map on the same input.
    torch.testing.assert_close(soft[:, :, 0, 0], original[1][0].mean((2, 3)))
    constants = gate_constants(model, splits[1])
    assert constants[0] == pytest.approx(
        float(torch.cat([o[0][0] for o in [stage_outputs(model, splits[1].images)]]).mean()),
        rel=1e-5,
    )
    with intervention(model, "constant", constants=constants):
        const = stage_outputs(model, images)
    for s in range(3):
        torch.testing.assert_close(const[s][0], torch.full_like(const[s][0], constants[s]))


def test_fixed_stripes_put_every_image_at_the_initial_layout(splits):
    model = small("harmonious")
    images = splits[1].images[:6]
    assert float(stage_outputs(model, images)[0][1].std(0).max()) > 1e-3  # they move
    with intervention(model, "fixed_stripes"):
        fixed = stage_outputs(model, images)
    # The layout of an untrained network: its stripe predictors' output.
    untrained = build_model(6, nchannels=(16, 32, 48), feat_dim=32).eval()
    initial = stage_outputs(untrained, images)
    for (_, translations), (_, start) in zip(fixed, initial, strict=True):
        torch.testing.assert_close(translations, start)
        assert not torch.allclose(translations[:, :, 1], default_stripe_centres(4).expand(6, 4))


def test_hooks_go_even_when_the_block_fails(splits):
    model = small("harmonious")
    images = splits[1].images[:4]
    before = extract_features(model, images)
    with pytest.raises(RuntimeError, match="boom"), intervention(model, "ones"):
        raise RuntimeError("boom")
    for n in ("ha1", "ha2", "ha3"):
        assert not getattr(model, n).soft_attn._forward_hooks
        assert not getattr(model, n).hard_attn._forward_hooks
    torch.testing.assert_close(extract_features(model, images), before)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "zeros"}, "unknown intervention 'zeros'"),
        ({"name": "constant"}, "needs constants"),
        ({"name": "ones", "stages": (3,)}, "stages must be among 0, 1, 2"),
    ],
)
def test_bad_interventions_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message), intervention(small("harmonious"), **kwargs):
        pass


def test_report_rows_and_deltas(splits):
    query, gallery = splits
    report = run_interventions(small("harmonious"), query, gallery, gallery, boot=50)
    rows = report["results"]
    assert [r["intervention"] for r in rows[:4]] == list(INTERVENTIONS)
    assert len(rows) == 4 + 9 and rows[4]["stages"] == [1]
    base = report["unmodified"]
    for r in rows:
        assert r["delta_mAP"].value == pytest.approx(r["mAP"].value - base["mAP"].value)
    assert "unmodified" in format_interventions(report)
    glob = run_interventions(small("global"), query, gallery, gallery, boot=10)
    assert all(r["rank1"] is None for r in glob["results"])
    assert glob["gate_constants"] == [None, None, None]
