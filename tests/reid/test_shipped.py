"""The shipped trained HA-CNN, its initial twin, its data and the per-stage maps."""

import matplotlib
import pytest
import torch

from tutorial_utils import plot_map_grid
from tutorial_utils.reid import (
    SyntheticPedestrians,
    shipped_model,
    shipped_pedestrians,
    shipped_settings,
    stage_maps,
)

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    query = shipped_pedestrians("query", num_test_ids=4)
    return torch.stack([query[i]["img"] for i in range(3)])


def test_shipped_pedestrians_follow_the_logged_settings():
    settings = shipped_settings()
    data = shipped_pedestrians("query", num_test_ids=4)
    reference = SyntheticPedestrians(
        "query", seed=settings["data_seed"], **settings["data_options"], num_test_ids=4
    )
    assert data.options == reference.options
    assert torch.equal(data[0]["img"], reference[0]["img"])
    other = SyntheticPedestrians("query", seed=settings["data_seed"] + 1, num_test_ids=4)
    assert not torch.equal(data[0]["img"], other[0]["img"])


def test_trained_and_initial_share_an_architecture_but_not_weights():
    trained, initial = shipped_model(True), shipped_model(False)
    assert not trained.training and not initial.training
    a, b = trained.state_dict(), initial.state_dict()
    assert a.keys() == b.keys()
    assert all(a[k].shape == b[k].shape for k in a)
    assert not torch.equal(a["conv.conv.weight"], b["conv.conv.weight"])


def test_initial_model_is_reproducible():
    a, b = shipped_model(False).state_dict(), shipped_model(False).state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_shipped_model_rejects_a_non_bool():
    with pytest.raises(TypeError, match="trained must be True or False"):
        shipped_model("yes")


def test_stage_maps_shapes_and_gate_range(images):
    maps = stage_maps(shipped_model(True), images)
    assert [tuple(m.soft.shape) for m in maps] == [(3, 40, 16), (3, 20, 8), (3, 10, 4)]
    for m in maps:
        assert m.boxes.shape == (3, 4, 4)
        assert float(m.soft.min()) >= 0.5 and float(m.soft.max()) < 1
        assert m.features.shape == m.soft.shape


def test_stage_maps_rejects_a_bad_batch():
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\)"):
        stage_maps(shipped_model(True), torch.zeros(3, 160, 64))


def test_map_grid_uses_one_colour_scale(images):
    low = torch.full((3, 4, 2), 0.5)
    high = torch.full((3, 4, 2), 0.75)
    fig = plot_map_grid(images, {"low": low, "high": high})
    limits = {im.get_clim() for ax in fig.axes[3:9] for im in ax.get_images()[1:]}
    assert limits == {(0.5, 0.75)}
    assert len(fig.axes) == 3 * 3 + 1  # one colour bar


def test_map_grid_names_a_bad_row(images):
    with pytest.raises(ValueError, match=r"rows\['bad'\] has shape \(2, 4, 2\)"):
        plot_map_grid(images, {"bad": torch.zeros(2, 4, 2)})


def test_attention_measures_take_a_data_set_directly():
    from tutorial_utils.reid import attention_measures

    data = shipped_pedestrians("query", num_test_ids=4)
    measures = attention_measures(shipped_model(False), data, max_images=8)
    assert measures["num_images"] == 8
    # At initialisation the eval-mode gate is flat, so the map ignores the person.
    assert [round(s["mass_ratio"], 3) for s in measures["soft"]] == [1.0, 1.0, 1.0]


def test_shipped_evaluation_was_made_on_the_data_the_model_was_trained_for():
    import json

    from tutorial_utils import data_file

    report = json.loads(data_file("hacnn_synthetic_evaluation.json").read_text())
    settings = shipped_settings()
    assert report["data_seed"] == settings["data_seed"]
    assert report["data_options"] == settings["data_options"]
    assert report["architecture"]["nchannels"] == list(settings["nchannels"])
    assert report["rank1"] > 5 * report["initial"]["rank1"]


def test_the_initial_model_leaves_the_global_generator_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    first = shipped_model(False)
    assert torch.equal(torch.rand(3), expected), "building the initial model reseeded torch"
    torch.manual_seed(7)
    again = shipped_model(False)  # the same weights whatever the global state was
    assert all(torch.equal(v, again.state_dict()[k]) for k, v in first.state_dict().items())
