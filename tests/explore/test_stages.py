"""Headless tests of lesson 06's stage explorer, on a small HA-CNN."""

import dataclasses

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils import HACNN
from tutorial_utils.explore import collect_stages, explore_stage


@pytest.fixture(scope="module")
def setup() -> tuple:
    torch.manual_seed(0)
    model = HACNN(num_classes=3, nchannels=(16, 32, 48), feat_dim=8)
    model.train()
    pictures = torch.rand(2, 3, 160, 64)
    records = collect_stages(model, pictures)
    assert model.training  # mode restored
    return records, pictures


def test_records_have_stage_shapes(setup: tuple) -> None:
    records, _ = setup
    assert [tuple(r.soft_map.shape) for r in records] == [
        (2, 16, 40, 16),
        (2, 32, 20, 8),
        (2, 48, 10, 4),
    ]


def test_mean_map_and_default_stripes(setup: tuple) -> None:
    records, pictures = setup
    out = explore_stage(records, pictures, stage=2, image_index=1)
    expected = records[1].soft_map[1].mean(dim=0)
    torch.testing.assert_close(out["soft_map"], expected)
    assert 0.5 <= out["map_min"] <= out["map_max"] < 1.0
    # zero weights at init: the stripes sit at tanh of the bias centres
    centres = torch.tanh(torch.tensor([-0.75, -0.25, 0.25, 0.75]))
    torch.testing.assert_close(out["translations"][:, 1], centres)
    heights = out["boxes"][:, 3] - out["boxes"][:, 1]
    torch.testing.assert_close(heights, torch.full((4,), 40.0))
    plt.close(out["figure"])


def test_channel_and_stage_change_the_map(setup: tuple) -> None:
    records, pictures = setup
    fig = plt.figure()
    one = explore_stage(records, pictures, stage=1, channel=3, fig=fig)["soft_map"].clone()
    torch.testing.assert_close(one, records[0].soft_map[0, 3])
    three = explore_stage(records, pictures, stage=3, channel=3, fig=fig)["soft_map"]
    assert one.shape != three.shape
    plt.close(fig)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [
        ({"stage": 4}, "stage must be one of"),
        ({"stage": True}, "stage must be one of"),
        ({"image_index": 2}, r"image_index must be an integer in \[0, 1\], got 2"),
        ({"channel": 16}, "channel must be 'mean' or an int"),
    ],
)
def test_bad_choices_raise(setup: tuple, kwargs: dict, word: str) -> None:
    records, pictures = setup
    with pytest.raises(ValueError, match=word):
        explore_stage(records, pictures, **kwargs)


def test_collect_needs_hacnn() -> None:
    with pytest.raises(TypeError, match="HACNN"):
        collect_stages(torch.nn.Identity(), torch.rand(1, 3, 160, 64))


@pytest.fixture(scope="module")
def two_networks(setup: tuple) -> tuple:
    """The module's network as "initial", and a copy whose stage-2 hard attention and soft
    gate were changed as "trained": the switch must show the one asked for."""
    records, pictures = setup
    torch.manual_seed(1)
    other = HACNN(num_classes=3, nchannels=(16, 32, 48), feat_dim=8)
    with torch.no_grad():
        other.ha2.hard_attn.fc.bias.add_(0.3)  # stripes move down
    other_records = collect_stages(other, pictures)
    return {"trained": other_records, "initial": records}, pictures


def test_switch_picks_the_network(two_networks: tuple) -> None:
    by_network, pictures = two_networks
    fig = plt.figure()
    for name in ("trained", "initial"):
        out = explore_stage(by_network, pictures, stage=2, image_index=1, network=name, fig=fig)
        assert out["network"] == name
        expected = by_network[name][1]
        torch.testing.assert_close(out["soft_map"], expected.soft_map[1].mean(dim=0))
        torch.testing.assert_close(out["translations"], expected.translations[1])
    trained = explore_stage(by_network, pictures, stage=2, network="trained", fig=fig)
    initial = explore_stage(by_network, pictures, stage=2, network="initial", fig=fig)
    assert not torch.equal(trained["boxes"], initial["boxes"])
    # the first network is the default, as a plain list has no name
    assert explore_stage(by_network, pictures, fig=fig)["network"] == "trained"
    assert explore_stage(by_network["initial"], pictures, fig=fig)["network"] is None
    plt.close(fig)


def test_one_fixed_colour_scale_and_a_colour_bar(two_networks: tuple) -> None:
    by_network, pictures = two_networks
    out = explore_stage(by_network, pictures, stage=1, network="initial")
    fig = out["figure"]
    heat = [im for ax in fig.axes for im in ax.get_images() if im.get_cmap().name == "magma"]
    assert len(heat) == 1
    assert heat[0].get_clim() == (0.5, 1.0)
    assert len(fig.axes) == 4  # three panels and the colour bar
    plt.close(fig)


@pytest.mark.parametrize(
    ("network", "records_as", "word"),
    [
        ("final", "dict", r"network must be one of \['trained', 'initial'\], got 'final'"),
        ("trained", "list", "needs records as a dict"),
    ],
)
def test_bad_network_raises(two_networks: tuple, network: str, records_as: str, word: str) -> None:
    by_network, pictures = two_networks
    records = by_network if records_as == "dict" else by_network["initial"]
    with pytest.raises(ValueError, match=word):
        explore_stage(records, pictures, network=network)


def test_stripes_panel_says_when_every_stage_has_the_same_stripes(two_networks: tuple) -> None:
    by_network, pictures = two_networks
    fig = plt.figure()
    initial = explore_stage(by_network, pictures, stage=2, network="initial", fig=fig)
    assert initial["same_at_every_stage"]
    assert "same at every stage" in fig.axes[0].get_title()
    trained = explore_stage(by_network, pictures, stage=2, network="trained", fig=fig)
    assert not trained["same_at_every_stage"]  # its stage-2 stripes were moved
    assert "same at every stage" not in fig.axes[0].get_title()
    plt.close(fig)


def test_a_flat_map_says_so_in_its_title(setup: tuple) -> None:
    records, pictures = setup
    flat = [dataclasses.replace(r, soft_map=torch.full_like(r.soft_map, 0.51)) for r in records]
    fig = plt.figure()
    explore_stage(flat, pictures, stage=1, channel=2, fig=fig)
    assert fig.axes[1].get_title().endswith("(flat)")
    varying = [
        dataclasses.replace(r, soft_map=0.5 + 0.5 * torch.rand_like(r.soft_map)) for r in records
    ]
    explore_stage(varying, pictures, stage=1, channel=2, fig=fig)
    assert "(flat)" not in fig.axes[1].get_title()
    plt.close(fig)
