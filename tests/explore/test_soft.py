"""Lesson 04's explorer: one channel of a soft attention map over a photograph, headless."""

import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from matplotlib.figure import Figure

from tutorial_utils.explore import explore_soft_channel, soft_maps_for_photos


@pytest.fixture(scope="module")
def photo_maps():
    return soft_maps_for_photos(["astronaut", "chelsea"], size=(64, 64), seed=159)


def test_maps_shape_and_range(photo_maps):
    pictures, maps = photo_maps
    assert tuple(pictures.shape) == (2, 3, 64, 64)
    assert tuple(maps.shape) == (2, 32, 32, 32)
    assert maps.min().item() >= 0.5 and maps.max().item() < 1.0


def test_seeded_maps_are_reproducible(photo_maps):
    _, again = soft_maps_for_photos(["astronaut", "chelsea"], size=(64, 64), seed=159)
    torch.testing.assert_close(again, photo_maps[1])


def test_draw_returns_the_chosen_channel(photo_maps):
    pictures, maps = photo_maps
    fig = Figure()
    drawn = explore_soft_channel(pictures[0], maps[0], 5, alpha=0.3, fig=fig)
    torch.testing.assert_close(drawn["map"], maps[0, 5])
    assert drawn["channel"] == 5 and drawn["alpha"] == 0.3
    assert drawn["min"] == round(maps[0, 5].min().item(), 4)
    assert drawn["max"] == round(maps[0, 5].max().item(), 4)
    assert "channel 5" in fig.axes[0].get_title()
    assert fig.axes[0].images[-1].get_alpha() == 0.3
    other = explore_soft_channel(pictures[0], maps[0], 6, alpha=0.3, fig=fig)
    assert "channel 6" in fig.axes[0].get_title()
    assert other["channel"] == 6
    assert drawn["figure"] is other["figure"] is fig and len(fig.axes) == 2  # image, colour bar


@pytest.mark.parametrize(
    ("channel", "alpha", "message"),
    [
        (32, 0.5, r"channel must be an integer in \[0, 31\], got 32"),
        (-1, 0.5, r"channel must be an integer in \[0, 31\], got -1"),
        (0, 1.5, r"alpha must be an opacity in \[0, 1\], got 1.5"),
    ],
)
def test_bad_values_name_the_value(photo_maps, channel, alpha, message):
    pictures, maps = photo_maps
    with pytest.raises(ValueError, match=message):
        explore_soft_channel(pictures[0], maps[0], channel, alpha)


def test_needs_one_sample(photo_maps):
    pictures, maps = photo_maps
    with pytest.raises(ValueError, match="index the batch"):
        explore_soft_channel(pictures[0], maps, 0)
    with pytest.raises(ValueError, match="names is empty"):
        soft_maps_for_photos([])
