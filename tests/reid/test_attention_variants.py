"""The attention experiments: each variant builds, trains, saves and reloads, and changes
what its name says and nothing more. Tiny widths, a tiny stand-in data set."""

from __future__ import annotations

import math

import pytest
import torch

from tests.reid.tiny_data import TinyPedestrians
from tutorial_utils import HACNN
from tutorial_utils.common import normalize
from tutorial_utils.hacnn.hard_attention import HardAttention, default_stripe_centres
from tutorial_utils.hacnn.soft_attention import SoftAttention
from tutorial_utils.reid import evaluate, load_model, stage_maps
from tutorial_utils.reid.attention_variants import (
    ConvLocalisation,
    ResidualGate,
    SoftmaxPoolingMap,
    SpatialOnlyGate,
)
from tutorial_utils.reid.cached import CachedSplit, cache_split
from tutorial_utils.reid.training import TrainConfig, train
from tutorial_utils.reid.variants import (
    ALL_VARIANTS,
    EXPERIMENTS,
    VARIANTS,
    build_model,
    gate_range,
    matched_widths,
    parameter_count,
    variant_spec,
)

TINY = {"nchannels": (16, 16, 16), "feat_dim": 16}
STAGES = ("ha1", "ha2", "ha3")


@pytest.fixture(scope="module")
def tiny_splits():
    return tuple(
        cache_split(TinyPedestrians(split, num_ids=4, per_id=4))
        for split in ("train", "query", "gallery")
    )


def _records(model: HACNN, x: torch.Tensor) -> list:
    records: list = []
    model.forward_features(x, records=records)
    return records


def test_the_experiments_are_named_and_described() -> None:
    assert set(VARIANTS) & set(EXPERIMENTS) == set()
    assert ALL_VARIANTS == VARIANTS + EXPERIMENTS
    for name in ALL_VARIANTS:
        assert variant_spec(name).summary
    with pytest.raises(ValueError, match="'bogus'.*harmonious"):
        variant_spec("bogus")


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_variant_trains_evaluates_saves_and_reloads(
    variant: str, tiny_splits, tmp_path
) -> None:
    train_split, query, gallery = tiny_splits
    out = tmp_path / f"{variant}.pt"
    config = TrainConfig(
        out=str(out), **TINY, variant=variant, epochs=1, batch_size=8, progress=False, threads=1
    )
    torch.manual_seed(0)
    before = {k: v.clone() for k, v in build_model(4, **TINY, variant=variant).state_dict().items()}
    result = train(config, train_set=train_split)
    assert math.isfinite(result.log["epochs"][-1]["loss"])
    after = result.model.state_dict()
    assert before.keys() == after.keys()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # it learned something

    loaded = load_model(out)  # strict: every key of the trained model, none more
    assert type(loaded.ha3.soft_attn) is type(result.model.ha3.soft_attn)
    x = normalize(train_split.images[:4].float())
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), result.model.eval()(x), rtol=0, atol=0)

    maps = stage_maps(loaded, train_split.images[:3].float())
    assert len(maps) == 3
    for stage in maps:
        assert stage.soft.shape[0] == 3 and torch.isfinite(stage.soft).all()
        assert (stage.boxes is None) == (variant_spec(variant).local == "none")

    report = evaluate(out, splits=(query, gallery, None), attention_images=4, compare_initial=False)
    assert 0.0 <= report["rank1"] <= 1.0 and 0.0 <= report["mAP"] <= 1.0


@pytest.mark.parametrize("variant", ALL_VARIANTS)
def test_every_parameter_is_used_and_counted(variant: str) -> None:
    """The swapped-out parts leave the model: every parameter gets a gradient and every
    parameter is in the state_dict, so parameter_count counts what the variant trains."""
    torch.manual_seed(0)
    model = build_model(5, **TINY, variant=variant).train()
    global_logits, *local_logits = (lambda out: out if isinstance(out, tuple) else (out,))(
        model(torch.rand(4, 3, 160, 64))
    )
    loss = global_logits.sum() + sum(logits.sum() for logits in local_logits)
    loss.backward()
    unused = [name for name, p in model.named_parameters() if p.grad is None]
    assert unused == []
    keys = model.state_dict().keys()
    assert all(name in keys for name, _ in model.named_parameters())
    counted = sum(
        p.numel() for name, p in model.named_parameters() if not name.startswith("classifier_")
    )
    assert parameter_count(model) == counted


def test_residual_gate_lies_between_one_and_two() -> None:
    torch.manual_seed(0)
    model = build_model(5, **TINY, variant="residual_gate").train()
    for record in _records(model, torch.rand(4, 3, 160, 64)):
        assert isinstance(model.ha1.soft_attn, ResidualGate)
        assert record.soft_map.min() > 1 and record.soft_map.max() < 2
        # Not HA-CNN's gate shifted by 1, which would stay at 1.5 and above.
        assert record.soft_map.min() < 1.5
    assert gate_range("residual_gate") == (1.0, 2.0)


def test_full_gate_reaches_below_one_half_where_hacnns_cannot() -> None:
    torch.manual_seed(0)
    x = torch.rand(4, 3, 160, 64)
    full = _records(build_model(5, **TINY, variant="full_gate").train(), x)
    half = _records(build_model(5, **TINY, variant="harmonious").train(), x)
    assert all(r.soft_map.min() < 0.5 for r in full)
    assert all(r.soft_map.min() >= 0.5 for r in half)
    assert gate_range("full_gate") == (0.0, 1.0) and gate_range("harmonious") == (0.5, 1.0)


def test_spatial_only_gate_ignores_which_channel_holds_what() -> None:
    """Without channel attention the gate sees only the channel mean: permuting the input's
    channels leaves it unchanged, which HA-CNN's gate (channel attention inside) does not."""
    torch.manual_seed(0)
    soft = SoftAttention(16, reduction_rate=4)
    for module in soft.modules():  # non-trivial BatchNorm statistics and affine parameters
        if isinstance(module, torch.nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.weight.data.uniform_(0.5, 1.5)
    soft.eval()
    x = torch.rand(2, 16, 12, 8)
    permuted = x[:, torch.randperm(16)]
    gate = SpatialOnlyGate(soft).eval()
    torch.testing.assert_close(gate(x), gate(permuted))
    assert not torch.allclose(soft(x), soft(permuted))

    model = build_model(5, **TINY, variant="spatial_only")
    assert not any("channel_attn" in k for k in model.state_dict())
    assert gate_range("spatial_only") == (0.5, 1.0)


def test_attention_pooling_is_the_softmax_weighted_sum_of_stage_three() -> None:
    torch.manual_seed(0)
    model = build_model(5, **TINY, variant="attention_pooling").eval()
    assert isinstance(model.ha3.soft_attn, SoftmaxPoolingMap)
    with torch.no_grad():
        model.ha3.soft_attn.score.weight.normal_(0.0, 20.0)  # a map far from flat
        x = torch.rand(3, 3, 160, 64)
        records = _records(model, x)
        global_feature, _ = model.forward_features(x)
        for record in records[:2]:  # stages 1 and 2 have no gate
            assert torch.equal(record.soft_map, torch.ones_like(record.features))
        weights = records[2].soft_map
        assert weights.shape[1] == 1
        torch.testing.assert_close(weights.mean(dim=(1, 2, 3)), torch.ones(3))
        assert weights.amax() > 1.5  # not flat: the test below could fail
        # By hand: scores u . x_i + b, softmax over the positions, weighted sum of features.
        features = records[2].features  # (N, C, h, w)
        score = model.ha3.soft_attn.score
        scores = torch.einsum("nchw,c->nhw", features, score.weight[0, :, 0, 0]) + score.bias
        alpha = torch.softmax(scores.flatten(1), dim=1)  # (N, h * w)
        pooled = torch.einsum("ncp,np->nc", features.flatten(2), alpha)
        torch.testing.assert_close(global_feature, model.fc_global(pooled))


def test_conv_localisation_starts_at_hacnns_stripes_and_can_see_where() -> None:
    torch.manual_seed(0)
    conv = ConvLocalisation(8, grid=(10, 4)).eval()
    hard = HardAttention(8).eval()
    x = torch.rand(2, 8, 20, 8)
    shifted = torch.roll(x, shifts=5, dims=2)  # the same content, lower down (circularly)
    start = torch.tanh(default_stripe_centres(4))
    for module in (conv, hard):
        out = module(x)
        torch.testing.assert_close(out[..., 1], start.expand(2, -1))
        torch.testing.assert_close(out[..., 0], torch.zeros(2, 4))
    with torch.no_grad():
        conv.fc.weight.normal_()
        hard.fc.weight.normal_()
    assert (conv(x) - conv(shifted)).abs().max() > 1e-3
    # HardAttention pools over the positions first: a shifted map looks the same to it.
    torch.testing.assert_close(hard(x), hard(shifted))

    model = build_model(5, **TINY, variant="conv_stripes")
    assert all(isinstance(getattr(model, s).hard_attn, ConvLocalisation) for s in STAGES)


def test_fixed_stripes_never_move(tiny_splits, tmp_path) -> None:
    config = TrainConfig(
        out=str(tmp_path / "fixed.pt"), **TINY, variant="fixed_stripes", epochs=1, batch_size=8,
        lr=0.5, progress=False, threads=1,
    )  # fmt: skip
    model = train(config, train_set=tiny_splits[0]).model.eval()
    assert not any(".hard_attn." in k for k in model.state_dict())
    images = tiny_splits[0].images[:4].float()
    reference = stage_maps(build_model(5, **TINY, variant="fixed_stripes"), images)
    for trained, initial in zip(stage_maps(model, images), reference, strict=True):
        assert torch.equal(trained.boxes, initial.boxes)
        assert torch.equal(trained.boxes[0], trained.boxes[3])  # the same for every image
    # They stay where HA-CNN's stripe predictor starts: tanh of the equal stripes' centres.
    translations = model.ha1.hard_attn(torch.rand(2, 16, 40, 16))
    torch.testing.assert_close(translations[0, :, 1], torch.tanh(default_stripe_centres(4)))


def test_global_matched_has_harmonious_parameters_within_one_percent() -> None:
    settings = {"nchannels": (16, 32, 48), "feat_dim": 64}
    matched = parameter_count(build_model(100, **settings, variant="global_matched"))
    full = parameter_count(build_model(100, **settings, variant="harmonious"))
    plain = parameter_count(build_model(100, **settings, variant="global"))
    assert plain < 0.9 * full  # the control has something to make up
    assert abs(matched - full) <= 0.01 * full
    widths, _ = matched_widths(100, (16, 32, 48), 64)
    assert all(w % 16 == 0 for w in widths)
    # Widths as a list (as a config may hold them) build the same network.
    listed = build_model(100, [16, 32, 48], 64, variant="global_matched")
    assert parameter_count(listed) == matched


@pytest.mark.parametrize("variant", ["taught_gate", "taught_stripes"])
def test_taught_variants_refuse_data_without_ground_truth(variant: str, tiny_splits) -> None:
    train_split = tiny_splits[0]
    bare = CachedSplit(train_split.images, train_split.pids, train_split.camids)
    config = TrainConfig(**TINY, variant=variant, epochs=1, batch_size=8, progress=False)
    with pytest.raises(ValueError, match=f"{variant}.*taught from the person masks"):
        train(config, train_set=bare)
