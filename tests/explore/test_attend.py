"""Headless tests of lesson 10's explorer: maps relative to their mean, on one scale."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils.explore import explore_attention, relative_map, relative_maps_grid
from tutorial_utils.explore.attend import RELATIVE_RANGE, mass_share
from tutorial_utils.reid import stage_maps
from tutorial_utils.reid.variants import build_model


@pytest.fixture(scope="module")
def setup() -> tuple:
    torch.manual_seed(0)
    pictures = torch.rand(2, 3, 160, 64)
    masks = torch.zeros(2, 160, 64, dtype=torch.bool)
    masks[:, 40:120, 16:48] = True
    maps = {
        name: stage_maps(build_model(3, (16, 32, 48), 8, variant).eval(), pictures)
        for name, variant in (("ha", "harmonious"), ("pool", "attention_pooling"), ("g", "global"))
    }
    return maps, pictures, masks


def test_relative_map_is_one_for_a_flat_map_and_keeps_the_order() -> None:
    torch.testing.assert_close(relative_map(torch.full((4, 2), 0.7)), torch.ones(4, 2))
    ramp = torch.arange(1.0, 9.0).view(4, 2)
    rel = relative_map(ramp)
    assert rel.mean().item() == pytest.approx(1.0)
    assert torch.equal(rel.flatten().argsort(), ramp.flatten().argsort())


def test_mass_share_of_a_map_that_is_the_mask() -> None:
    mask = torch.zeros(160, 64, dtype=torch.bool)
    mask[:80] = True  # the top half
    soft = torch.zeros(40, 16)
    soft[:20] = 1.0
    share, area = mass_share(soft, mask)
    assert share == pytest.approx(1.0)
    assert area == pytest.approx(0.5)
    share_flat, _ = mass_share(torch.ones(40, 16), mask)
    assert share_flat == pytest.approx(0.5)


def test_explorer_draws_every_network_and_stage_on_the_fixed_scale(setup: tuple) -> None:
    maps, pictures, masks = setup
    for network in maps:
        for stage in (1, 2, 3):
            out = explore_attention(maps, pictures, masks, network, stage, image_index=1)
            fig = out["figure"]
            has_soft = not (network == "g" or (network == "pool" and stage < 3))
            assert (out["relative_map"] is not None) == has_soft, (network, stage)
            if has_soft:
                images = [a for ax in fig.axes for a in ax.get_images() if a.get_clim()[1] == 3]
                assert images and images[0].get_clim() == RELATIVE_RANGE
                assert 0 <= out["mass_share"] <= 1
            assert (out["boxes"] is None) == (network == "g")
            plt.close(fig)


def test_explorer_refuses_bad_choices(setup: tuple) -> None:
    maps, pictures, masks = setup
    with pytest.raises(ValueError, match="network must be one of"):
        explore_attention(maps, pictures, masks, "nope")
    with pytest.raises(ValueError, match="stage"):
        explore_attention(maps, pictures, masks, "ha", stage=4)
    with pytest.raises(ValueError, match="image_index"):
        explore_attention(maps, pictures, masks, "ha", image_index=2)


def test_grid_has_one_row_per_network_and_one_colour_bar(setup: tuple) -> None:
    maps, pictures, masks = setup
    fig = relative_maps_grid({k: maps[k] for k in ("ha", "pool")}, pictures, masks, stage=3)
    colour_bars = [ax for ax in fig.axes if ax.get_label() == "<colorbar>"]
    assert len(colour_bars) == 1
    drawn = [ax for ax in fig.axes if ax.get_images()]
    assert len(drawn) == 2 * 2  # 2 networks x 2 pictures
    plt.close(fig)
