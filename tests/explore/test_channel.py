"""Headless tests of lesson 02's explorer logic (tutorial_utils/explore/channel.py)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils import (
    HACNN,
    ChannelAttention,
    calibrate_batchnorm,
    hacnn_batch,
    sample_image_names,
)
from tutorial_utils.explore import (
    REDUCTION_RATES,
    channel_attention_parameters,
    channel_weights,
    explore_channel_weights,
    network_channel_weights,
    stage_features,
)


@pytest.mark.parametrize("channels", [128, 256, 384])
@pytest.mark.parametrize("r", REDUCTION_RATES)
def test_parameter_formula_matches_module(channels, r):
    module = ChannelAttention(channels, r)
    assert channel_attention_parameters(channels, r) == sum(p.numel() for p in module.parameters())


def test_parameter_formula_rejects_indivisible():
    with pytest.raises(ValueError, match="100"):
        channel_attention_parameters(100, 16)


def test_stage_features_shapes():
    features = stage_features(("astronaut", "camera"))
    shapes = [tuple(f.shape) for f in features]
    assert shapes == [(2, 128, 40, 16), (2, 256, 20, 8), (2, 384, 10, 4)]


def test_explore_channel_weights_returns_what_it_drew():
    fig = plt.figure()
    result = explore_channel_weights("astronaut", stage=2, reduction_rate=8, fig=fig)
    assert result["channels"] == 256
    assert result["feature_shape"] == (1, 256, 20, 8)
    assert result["parameters"] == 2 * 256 * 32 + 3 * 32 + 3 * 256
    weights = result["weights"]
    assert weights.shape == (256,)
    assert (weights >= 0).all()  # ReLU, no sigmoid
    assert result["top_channels"][0] == int(weights.argmax())
    assert 0.0 <= result["zero_fraction"] <= 1.0
    # Independent recomputation with the same seeds: the attention's BatchNorm statistics are
    # measured on all five photos, then each photo is weighted on its own in eval mode.
    index = sample_image_names().index("astronaut")
    all_features = stage_features(tuple(sample_image_names()))[1]
    torch.manual_seed(0)
    attention = calibrate_batchnorm(ChannelAttention(256, 8), all_features)
    with torch.no_grad():
        expected = attention(all_features[index : index + 1]).flatten(1)[0]
        all_weights = attention(all_features).flatten(1)
    torch.testing.assert_close(weights, expected)
    torch.testing.assert_close(result["deviation"], all_weights[index] - all_weights.mean(0))
    assert len(fig.axes) == 3
    bars = fig.axes[1].patches
    assert len(bars) == 256
    assert bars[5].get_height() == pytest.approx(float(weights[5]))
    plt.close(fig)


def test_explore_channel_weights_changes_with_controls():
    a = explore_channel_weights("astronaut", 1, 16)
    b = explore_channel_weights("coffee", 1, 16)
    c = explore_channel_weights("astronaut", 1, 4)
    d = explore_channel_weights("astronaut", 3, 16)
    assert not torch.equal(a["weights"], b["weights"])
    assert not torch.equal(a["weights"], c["weights"])
    assert d["channels"] == 384
    assert c["parameters"] > a["parameters"]
    plt.close("all")


def test_channel_weights_shape():
    x = torch.randn(3, 64, 5, 5)
    assert channel_weights(x, 16).shape == (3, 64)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"image_name": "nope", "stage": 1, "reduction_rate": 16}, "nope"),
        ({"image_name": "camera", "stage": 4, "reduction_rate": 16}, "stage"),
        ({"image_name": "camera", "stage": 3, "reduction_rate": 5}, "reduction_rate=5"),
    ],
)
def test_explore_channel_weights_rejects_bad_input(kwargs, word):
    with pytest.raises(ValueError, match=word):
        explore_channel_weights(**kwargs)


def test_explore_channel_weights_accepts_precomputed_features():
    features = stage_features(tuple(sample_image_names()))
    a = explore_channel_weights("chelsea", 3, 32)
    b = explore_channel_weights("chelsea", 3, 32, features=features)
    torch.testing.assert_close(a["weights"], b["weights"])
    with pytest.raises(ValueError, match="features must hold"):
        explore_channel_weights("chelsea", 3, 32, features=features[:2])
    plt.close("all")


def test_stage_features_are_those_of_a_calibrated_network():
    names = sample_image_names()
    torch.manual_seed(0)
    model = HACNN(num_classes=10)
    _, batch = hacnn_batch(names)
    calibrate_batchnorm(model, batch)
    records = []
    with torch.no_grad():
        model.forward_features(batch, records)
    for ours, theirs in zip(stage_features(tuple(names)), records, strict=True):
        torch.testing.assert_close(ours, theirs.features)


@pytest.mark.parametrize("stage", [1, 2, 3])
def test_calibration_makes_the_weights_depend_on_the_photo(stage):
    names = tuple(sample_image_names())
    fresh = stage_features(names, calibrate=False)[stage - 1]
    measured = stage_features(names)[stage - 1]
    spread_fresh = channel_weights(fresh, 16, calibrate=False).std(0).mean()
    spread_measured = channel_weights(measured, 16).std(0).mean()
    # fresh statistics: every photo gets almost the same weights; measured: clearly not
    assert spread_fresh < 1e-3
    assert spread_measured > 0.1
    a = explore_channel_weights("astronaut", stage, 16)["weights"]
    b = explore_channel_weights("coffee", stage, 16)["weights"]
    assert (a - b).abs().max() > 0.1
    plt.close("all")


def test_fresh_statistics_still_available():
    result = explore_channel_weights("camera", 1, 16, calibrate=False)
    features = stage_features(tuple(sample_image_names()), calibrate=False)[0]
    torch.manual_seed(0)
    with torch.no_grad():
        expected = ChannelAttention(128, 16).eval()(features).flatten(1)
    torch.testing.assert_close(result["weights"], expected[sample_image_names().index("camera")])
    plt.close("all")


def test_calibrate_must_be_bool_and_needs_two_photos():
    with pytest.raises(TypeError, match="calibrate"):
        stage_features(("astronaut", "camera"), calibrate="yes")
    with pytest.raises(ValueError, match="at least 2"):
        stage_features(("astronaut",))
    with pytest.raises(ValueError, match="at least 2"):
        channel_weights(torch.rand(1, 64, 5, 5), 16)


@pytest.fixture(scope="module")
def networks():
    from tutorial_utils.reid import shipped_model

    return {"trained": shipped_model(True), "initial": shipped_model(False)}


@pytest.fixture(scope="module")
def pedestrians():
    from tutorial_utils.reid import shipped_pedestrians

    data = shipped_pedestrians("query", num_test_ids=2)
    return {f"pedestrian {i}": data[i]["img"] for i in range(2)}


def test_network_channel_weights_are_the_networks_own(networks):
    model = networks["trained"]
    pictures, batch = hacnn_batch(sample_image_names())
    weights = network_channel_weights(model, pictures)
    records = []
    with torch.no_grad():
        model.forward_features(batch, records)
        expected = model.ha2.soft_attn.channel_attn(records[1].features).flatten(1)
    assert [tuple(w.shape) for w in weights] == [(5, 32), (5, 64), (5, 96)]
    torch.testing.assert_close(weights[1], expected)


def test_switch_between_trained_and_initial(networks, pedestrians):
    kwargs = {"model": networks, "images": pedestrians, "reduction_rate": None}
    trained = explore_channel_weights("pedestrian 1", 1, network="trained", **kwargs)
    initial = explore_channel_weights("pedestrian 1", 1, network="initial", **kwargs)
    assert trained["channels"] == initial["channels"] == 32
    assert trained["reduction_rate"] == 16
    assert trained["all_weights"].shape == (7, 32)  # five photos and two pedestrians
    assert (trained["weights"] - initial["weights"]).abs().max() > 0.1
    assert "trained" in trained["network"] and "initial" in initial["network"]
    # the network at initialisation has fresh BatchNorm statistics: weights ignore the image
    assert initial["spread_across_images"] < 0.01 < trained["spread_across_images"]
    plt.close("all")


def test_single_model_is_drawn_as_given(networks):
    one = explore_channel_weights("camera", 3, model=networks["trained"])
    both = explore_channel_weights("camera", 3, model=networks, network="trained")
    torch.testing.assert_close(one["weights"], both["weights"])
    plt.close("all")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": "final"}, "network='final' is not one of the networks given: 'trained'"),
        ({"network": None}, "network=None is not one of"),
        ({"network": "trained", "reduction_rate": 8}, "reduction_rate=8 differs"),
        ({"network": "trained", "images": {"camera": torch.rand(3, 160, 64)}}, "'camera'"),
        ({"network": "trained", "images": {"x": torch.rand(3, 16, 6)}}, r"\(3, 160, 64\)"),
    ],
)
def test_network_switch_rejects_bad_values(networks, kwargs, message):
    with pytest.raises(ValueError, match=message):
        explore_channel_weights("astronaut", 1, model=networks, **kwargs)


def test_network_needs_a_model_and_the_input_must_exist(networks):
    with pytest.raises(ValueError, match="network='trained' without a model"):
        explore_channel_weights("astronaut", 1, network="trained")
    with pytest.raises(ValueError, match="image_name='pedestrian 9'"):
        explore_channel_weights("pedestrian 9", 1, model=networks, network="initial")


def test_r_changes_the_random_networks_weights_and_title():
    """The r control must act in the random network: another r, other weights and title."""
    fig = plt.figure()
    drawn = {}
    for r in (4, 16, 64):
        result = explore_channel_weights("camera", 2, r, fig=fig)
        drawn[r] = (result["weights"].clone(), fig.axes[1].get_title())
        assert result["reduction_rate"] == r
        assert f"r={r} (256 -> {256 // r} -> 256)" in drawn[r][1]
    for a, b in ((4, 16), (16, 64), (4, 64)):
        assert not torch.equal(drawn[a][0], drawn[b][0]), f"r={a} and r={b} drew the same bars"
        assert drawn[a][1] != drawn[b][1]
    plt.close(fig)


def test_reduction_rate_note_says_why_r_is_fixed(networks):
    from tutorial_utils.explore import own_reduction_rate, reduction_rate_note

    assert reduction_rate_note(None, "random") == ""
    for name, model in networks.items():
        assert [own_reduction_rate(model, stage) for stage in (1, 2, 3)] == [16, 16, 16]
        note = reduction_rate_note(model, name)
        assert note.startswith(f"r is fixed at 16 in the {name} network")
    with pytest.raises(TypeError, match="HACNN or None, got dict"):
        reduction_rate_note(networks, "trained")


def test_random_network_runs_on_added_images_too(pedestrians):
    """The random network takes the pedestrians: its stage and r controls act on them."""
    names = tuple(sample_image_names())
    photos = stage_features(names)
    both = stage_features(names, images=pedestrians)
    assert [f.shape[0] for f in both] == [len(names) + 2] * 3
    for alone, with_added in zip(photos, both, strict=True):
        torch.testing.assert_close(with_added[: len(names)], alone)  # photo rows unchanged
    fig = plt.figure()
    r16 = explore_channel_weights("pedestrian 1", 1, 16, images=pedestrians, fig=fig)
    r4 = explore_channel_weights("pedestrian 1", 1, 4, images=pedestrians, fig=fig)
    stage3 = explore_channel_weights("pedestrian 1", 3, 16, features=both, images=pedestrians)
    assert r16["all_weights"].shape == (len(names) + 2, 128)
    assert not torch.equal(r16["weights"], r4["weights"])
    assert stage3["channels"] == 384
    with pytest.raises(ValueError, match="features must hold 3 stage tensors of 7 inputs"):
        explore_channel_weights("pedestrian 1", 1, 16, features=photos, images=pedestrians)
    plt.close("all")
