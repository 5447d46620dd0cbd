"""Lesson 03b's explorer: the spatial map of each HA-CNN stage beside a photograph, headless."""

import matplotlib

matplotlib.use("Agg")

import inspect

import pytest
import torch
from matplotlib.figure import Figure

from tutorial_utils import calibrate_batchnorm, hacnn_batch, sample_image_names
from tutorial_utils.common import has_measured_statistics
from tutorial_utils.explore import explore_spatial_map, seeded_hacnn, spatial_maps_by_stage


@pytest.fixture(scope="module")
def model():
    return seeded_hacnn(seed=0, calibrate=True)


def test_maps_by_stage_shapes_and_match_the_branch(model):
    _, batch = hacnn_batch(["astronaut", "camera"])
    maps = spatial_maps_by_stage(model, batch)
    assert sorted(maps) == [1, 2, 3]
    for stage, size in zip((1, 2, 3), ((40, 16), (20, 8), (10, 4)), strict=True):
        assert tuple(maps[stage]["spatial"].shape) == (2, 1, *size)
        assert tuple(maps[stage]["channel_mean"].shape) == (2, 1, *size)
        assert maps[stage]["spatial"].min() >= 0  # the branch ends in a ReLU
    records = []
    with torch.no_grad():
        model.forward_features(batch, records)
        expected = model.ha2.soft_attn.spatial_attn(records[1].features)
    torch.testing.assert_close(maps[2]["spatial"], expected)


def test_draw_returns_what_it_drew_and_changes_with_stage(model):
    fig = Figure()
    one = explore_spatial_map("astronaut", 1, model, fig=fig)
    assert one["stage"] == 1 and one["image"] == "astronaut"
    assert one["shape"] == (40, 16)
    assert one["min"] <= one["max"]
    # the image, the map and its colour bar
    assert len(fig.axes) == 3 and "stage 1" in fig.axes[1].get_title()
    assert fig.axes[1].images[-1].get_cmap().name == "magma"
    three = explore_spatial_map("astronaut", 3, model, fig=fig)
    assert three["shape"] == (10, 4)
    assert len(fig.axes) == 3  # the figure is redrawn, not stacked
    other = explore_spatial_map("camera", 1, model)
    assert not torch.equal(other["channel_mean"], one["channel_mean"])


def test_photo_and_map_side_by_side_never_overlaid(model):
    """The map's colours must not mix with the photo's: one picture per panel, no opacity."""
    fig = Figure()
    drawn = explore_spatial_map("astronaut", 2, model, fig=fig)
    photo, heat, bar = fig.axes
    assert len(photo.images) == 1 and photo.images[0].get_array().shape == (160, 64, 3)
    assert len(heat.images) == 1  # the map alone, in its own (h, w) cells, not resized
    (artist,) = heat.images
    assert artist.get_array().shape == drawn["shape"] == (20, 8)
    assert artist.get_alpha() is None
    assert artist.get_cmap().name == "magma" and artist.get_clim() == (0.0, drawn["vmax"])
    assert bar.get_ylabel() == "spatial map"
    assert "alpha" not in inspect.signature(explore_spatial_map).parameters
    with pytest.raises(TypeError, match="alpha"):
        explore_spatial_map("astronaut", 2, model, alpha=0.5)


def test_figure_is_legible_on_a_projector(model):
    fig = explore_spatial_map("astronaut", 1, model, fig=Figure(dpi=72))["figure"]
    assert fig.get_dpi() >= 100 and fig.get_size_inches()[0] * fig.get_dpi() >= 700


@pytest.mark.parametrize(("image", "stage"), [("nope", 1), ("astronaut", 4)])
def test_bad_choices_name_the_value(model, image, stage):
    with pytest.raises(ValueError, match="'nope'|stage must .*, got 4"):
        explore_spatial_map(image, stage, model)


def test_seed_and_calibrate_types():
    with pytest.raises(ValueError, match="seed must be an integer, got '0'"):
        seeded_hacnn(seed="0")
    with pytest.raises(TypeError, match="calibrate"):
        seeded_hacnn(calibrate=1)


def test_calibrated_model_is_the_seeded_model_calibrated_on_the_photos(model):
    fresh = seeded_hacnn(seed=0)
    assert not has_measured_statistics(fresh)
    assert has_measured_statistics(model)
    _, batch = hacnn_batch(sample_image_names())
    calibrate_batchnorm(fresh, batch)
    for (name, ours), theirs in zip(
        model.state_dict().items(), fresh.state_dict().values(), strict=True
    ):
        torch.testing.assert_close(ours, theirs, msg=name)


def test_fresh_maps_are_flat_calibrated_maps_vary(model):
    _, batch = hacnn_batch(sample_image_names())
    fresh = spatial_maps_by_stage(seeded_hacnn(seed=0), batch)
    measured = spatial_maps_by_stage(model, batch)
    for stage in (1, 2, 3):
        flat = fresh[stage]["spatial"]
        assert float(flat.max() - flat.min()) < 0.01  # fresh statistics: (nearly) one value
        maps = measured[stage]["spatial"]  # (5, 1, H, W)
        assert float(maps.amax(dim=(1, 2, 3)).min()) > 0.1  # no photo's map is all zero
        assert float((maps.amax(dim=(2, 3)) - maps.amin(dim=(2, 3))).min()) > 0.1  # varies in space
        assert float(maps.std(dim=0).mean()) > 0.05  # and from photo to photo


def test_draw_reports_the_statistics_and_a_map_that_varies(model):
    fig = Figure()
    for stage in (1, 2, 3):
        drawn = explore_spatial_map("grace_hopper", stage, model, fig=fig)
        assert drawn["statistics"] == "measured"
        assert drawn["max"] > drawn["min"]
        assert "(flat)" not in fig.axes[1].get_title()
    a = explore_spatial_map("astronaut", 2, model)["spatial"]
    b = explore_spatial_map("coffee", 2, model)["spatial"]
    assert float((a - b).abs().max()) > 0.1
    assert explore_spatial_map("astronaut", 1, seeded_hacnn(seed=0))["statistics"] == "fresh"


@pytest.fixture(scope="module")
def networks():
    from tutorial_utils.reid import shipped_model

    return {"trained": shipped_model(True), "initial": shipped_model(False)}


@pytest.fixture(scope="module")
def extra_images():
    from tutorial_utils.reid import shipped_pedestrians

    data = shipped_pedestrians("query", num_test_ids=2)
    return {"pedestrian 0": data[0]["img"], "blank": torch.full((3, 160, 64), 0.5)}


def test_switch_between_trained_and_initial(networks, extra_images):
    fig = Figure()
    kwargs = {"images": extra_images, "fig": fig}
    trained = explore_spatial_map("pedestrian 0", 1, networks, network="trained", **kwargs)
    assert "trained" in fig._suptitle.get_text()
    initial = explore_spatial_map("pedestrian 0", 1, networks, network="initial", **kwargs)
    assert "initial" in fig._suptitle.get_text()
    assert trained["shape"] == initial["shape"] == (40, 16)
    assert float((trained["spatial"] - initial["spatial"]).abs().max()) > 0.1
    # one colour scale from 0 to the network's largest value over every input
    _, batch = hacnn_batch(sample_image_names())
    ours = spatial_maps_by_stage(networks["trained"], batch)[1]["spatial"]
    assert trained["vmin"] == 0.0 and trained["vmax"] >= float(ours.max())
    low, high = fig.axes[1].images[-1].get_clim()
    assert (low, high) == (0.0, initial["vmax"])


def test_blank_input_is_an_input_like_the_others(networks, extra_images):
    blank = explore_spatial_map("blank", 3, networks, network="trained", images=extra_images)
    assert blank["image"] == "blank" and blank["shape"] == (10, 4)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"network": "final"}, "network='final' is not one of the networks given: 'trained'"),
        ({"network": None}, "network=None is not one of"),
        ({"network": "trained", "images": {"x": torch.rand(3, 16, 6)}}, r"\(3, 160, 64\)"),
    ],
)
def test_network_switch_rejects_bad_values(networks, kwargs, message):
    with pytest.raises(ValueError, match=message):
        explore_spatial_map("astronaut", 1, networks, **kwargs)


def test_network_name_needs_a_mapping(model):
    with pytest.raises(ValueError, match="network='trained' chooses from a mapping"):
        explore_spatial_map("astronaut", 1, model, network="trained")
