"""Lesson 04b's explorer: one channel of a soft attention map beside a photograph, headless."""

import matplotlib

matplotlib.use("Agg")

import inspect

import pytest
import torch
from matplotlib.figure import Figure

from tutorial_utils.explore import (
    NETWORKS,
    explore_soft_channel,
    network_soft_maps,
    soft_maps_for_photos,
)


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
    drawn = explore_soft_channel(pictures[0], maps[0], 5, fig=fig)
    torch.testing.assert_close(drawn["map"], maps[0, 5])
    assert drawn["channel"] == 5
    assert drawn["min"] == round(maps[0, 5].min().item(), 4)
    assert drawn["max"] == round(maps[0, 5].max().item(), 4)
    assert "channel 5" in fig._suptitle.get_text() and "channel 5" in fig.axes[1].get_title()
    other = explore_soft_channel(pictures[0], maps[0], 6, fig=fig)
    assert "channel 6" in fig._suptitle.get_text()
    assert other["channel"] == 6
    # image, map, colour bar: redrawn into the same figure, not stacked
    assert drawn["figure"] is other["figure"] is fig and len(fig.axes) == 3


def test_photo_and_channel_side_by_side_never_overlaid(photo_maps):
    """The map's colours must not mix with the photo's: one picture per panel, no opacity."""
    pictures, maps = photo_maps
    fig = Figure()
    drawn = explore_soft_channel(pictures[0], maps[0], 5, fig=fig)
    photo, heat, bar = fig.axes
    assert len(photo.images) == 1 and photo.images[0].get_array().shape == (64, 64, 3)
    assert len(heat.images) == 1  # the map alone, in its own (h, w) cells, not resized
    (artist,) = heat.images
    assert artist.get_array().shape == tuple(drawn["map"].shape) == (32, 32)
    assert artist.get_alpha() is None
    assert artist.get_cmap().name == "magma" and artist.get_clim() == (0.5, 1.0)
    assert bar.get_ylabel() == "soft attention value"
    assert "alpha" not in inspect.signature(explore_soft_channel).parameters
    assert "alpha" not in drawn
    with pytest.raises(TypeError, match="alpha"):
        explore_soft_channel(pictures[0], maps[0], 5, alpha=0.5)


def test_figure_is_legible_on_a_projector(photo_maps):
    pictures, maps = photo_maps
    fig = explore_soft_channel(pictures[0], maps[0], 0, fig=Figure(dpi=72))["figure"]
    assert fig.get_dpi() >= 100 and fig.get_size_inches()[0] * fig.get_dpi() >= 700


@pytest.mark.parametrize(
    ("channel", "message"),
    [
        (32, r"channel must be an integer in \[0, 31\], got 32"),
        (-1, r"channel must be an integer in \[0, 31\], got -1"),
    ],
)
def test_bad_values_name_the_value(photo_maps, channel, message):
    pictures, maps = photo_maps
    with pytest.raises(ValueError, match=message):
        explore_soft_channel(pictures[0], maps[0], channel)


def test_needs_one_sample(photo_maps):
    pictures, maps = photo_maps
    with pytest.raises(ValueError, match="index the batch"):
        explore_soft_channel(pictures[0], maps, 0)
    with pytest.raises(ValueError, match="names is empty"):
        soft_maps_for_photos([])


@pytest.fixture(scope="module")
def pedestrian_maps():
    from tutorial_utils.reid import shipped_model, shipped_pedestrians

    data = shipped_pedestrians("query", num_test_ids=2)
    images = torch.stack([data[i]["img"] for i in range(2)])
    maps = {
        name: network_soft_maps(shipped_model(name == "trained"), images, stage=1)
        for name in NETWORKS
    }
    return images, maps


def test_network_maps_shape_range_and_trained_differs(pedestrian_maps):
    _, maps = pedestrian_maps
    for gate in maps.values():
        assert tuple(gate.shape) == (2, 32, 40, 16)
        assert gate.min().item() >= 0.5 and gate.max().item() <= 1.0
    assert (maps["trained"] - maps["initial"]).abs().max().item() > 0.1


def test_network_maps_restore_train_mode(pedestrian_maps):
    from tutorial_utils.reid import shipped_model

    images, maps = pedestrian_maps
    model = shipped_model(True).train()
    again = network_soft_maps(model, images, stage=1)
    assert model.training  # the caller's mode comes back
    torch.testing.assert_close(again, maps["trained"])  # computed in eval mode all the same


def test_network_choice_draws_that_network(pedestrian_maps):
    images, maps = pedestrian_maps
    fig = Figure()
    both = {name: gate[0] for name, gate in maps.items()}
    for name in NETWORKS:
        drawn = explore_soft_channel(images[0], both, 3, network=name, fig=fig)
        torch.testing.assert_close(drawn["map"], maps[name][0, 3])
        assert drawn["network"] == name and fig._suptitle.get_text().startswith(name)
        assert fig.axes[1].images[-1].get_cmap().name == "magma"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": "random"}, r"network must be one of \('trained', 'initial'\), got 'random'"),
        ({"network": None}, r"network must be one of .* got None"),
    ],
)
def test_bad_network_names_the_value(pedestrian_maps, kwargs, message):
    images, maps = pedestrian_maps
    with pytest.raises(ValueError, match=message):
        explore_soft_channel(images[0], {k: v[0] for k, v in maps.items()}, 0, **kwargs)


def test_network_needs_a_dict_and_its_entry(pedestrian_maps):
    images, maps = pedestrian_maps
    with pytest.raises(ValueError, match="soft_map is a single tensor"):
        explore_soft_channel(images[0], maps["trained"][0], 0, network="trained")
    with pytest.raises(
        ValueError, match=r"no 'initial' entry in the maps; they hold \['trained'\]"
    ):
        explore_soft_channel(images[0], {"trained": maps["trained"][0]}, 0, network="initial")


def test_network_maps_bad_input(pedestrian_maps):
    from tutorial_utils.reid import shipped_model

    images, _ = pedestrian_maps
    with pytest.raises(ValueError, match="stage must be one of"):
        network_soft_maps(shipped_model(False), images, stage=4)
    with pytest.raises(ValueError, match=r"images must be a \(N, 3, 160, 64\) tensor"):
        network_soft_maps(shipped_model(False), images[0], stage=1)


def test_a_flat_channel_says_so_in_its_title(pedestrian_maps):
    """At initialisation many channels are one constant: the title says why a move shows none."""
    images, maps = pedestrian_maps
    both = {name: gate[0] for name, gate in maps.items()}
    initial = both["initial"]
    flat = [c for c in range(initial.shape[0]) if initial[c].max() - initial[c].min() < 1e-6]
    varying = [c for c in range(both["trained"].shape[0]) if both["trained"][c].std() > 0.01]
    assert flat and varying
    fig = Figure()
    drawn = explore_soft_channel(images[0], both, flat[0], network="initial", fig=fig)
    assert drawn["flat"] and fig._suptitle.get_text().endswith("(flat)")
    drawn = explore_soft_channel(images[0], both, varying[0], network="trained", fig=fig)
    assert not drawn["flat"] and "(flat)" not in fig._suptitle.get_text()


def test_the_stage_is_in_the_title_so_flat_maps_of_two_stages_differ(pedestrian_maps):
    """Flat channels of two stages draw the same colours: only the title can show the move."""
    images, maps = pedestrian_maps
    flat = {"initial": torch.full((4, 40, 16), 0.5), "trained": torch.full((4, 40, 16), 0.5)}
    fig = Figure()
    titles = []
    for stage in (2, 3):
        drawn = explore_soft_channel(images[0], flat, 1, network="initial", stage=stage, fig=fig)
        assert drawn["stage"] == stage
        titles.append(fig._suptitle.get_text())
    assert titles[0].startswith("initial, stage 2, channel 1") and titles[0] != titles[1]
    with pytest.raises(ValueError, match="stage must be one of"):
        explore_soft_channel(images[0], flat, 1, network="initial", stage=4)
