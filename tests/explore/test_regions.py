"""Headless tests of lesson 05's region explorer (tutorial_utils/explore/regions.py)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils.explore import explore_region


def image(height: int = 40, width: int = 16) -> torch.Tensor:
    rows = torch.linspace(0, 1, height).view(1, height, 1)
    return rows.expand(3, height, width).clone()


def test_default_stripe_is_centred_and_full_width() -> None:
    out = explore_region(image())
    assert out["box"].tolist() == pytest.approx([0.0, 15.0, 16.0, 25.0])
    assert out["crop"].shape == (3, 10, 16)
    assert out["inside"] == pytest.approx(1.0)
    plt.close(out["figure"])


def test_moving_ty_moves_box_and_crop() -> None:
    fig = plt.figure()
    top = explore_region(image(), ty=-0.75, fig=fig)
    top_crop = top["crop"].clone()
    bottom = explore_region(image(), ty=0.75, fig=fig)
    assert top["box"][1].item() == pytest.approx(0.0)
    assert bottom["box"][3].item() == pytest.approx(40.0)
    # the image brightens downwards, so the lower crop is brighter
    assert bottom["crop"].mean() > top_crop.mean()
    assert torch.equal(bottom["theta"], torch.tensor([[1.0, 0.0, 0.0], [0.0, 0.25, 0.75]]))
    plt.close(fig)


def test_box_half_outside_reports_fraction_inside() -> None:
    out = explore_region(image(), tx=1.0, sx=0.5)
    assert out["box"].tolist()[0::2] == pytest.approx([12.0, 20.0])
    assert out["inside"] == pytest.approx(0.5)
    plt.close(out["figure"])


@pytest.mark.parametrize(("kwargs", "word"), [({"sx": 0.0}, "sx"), ({"sy": -1.0}, "sy")])
def test_bad_scale_raises(kwargs: dict, word: str) -> None:
    with pytest.raises(ValueError, match=word):
        explore_region(image(), **kwargs)


def test_bad_image_raises() -> None:
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        explore_region(torch.zeros(1, 3, 8, 8))


def pedestrian_stripes():
    from tutorial_utils.reid import shipped_model, shipped_pedestrians, stage_maps

    item = shipped_pedestrians("query", num_test_ids=1)[0]
    boxes = {
        name: stage_maps(shipped_model(name == "trained"), item["img"][None])[0].boxes[0]
        for name in ("trained", "initial")
    }
    return item, boxes


def test_network_stripes_are_drawn_and_trained_differs() -> None:
    item, boxes = pedestrian_stripes()
    assert (boxes["trained"] - boxes["initial"]).abs().max().item() > 1.0
    fig = plt.figure()
    for name in ("trained", "initial"):
        out = explore_region(item["img"], stripes=boxes, network=name, parts=item["parts"], fig=fig)
        assert torch.equal(out["stripes"], boxes[name]) and out["network"] == name
        assert fig.axes[0].get_title().startswith(name)
        # 3 dotted part boxes, 4 dashed stripes, then the yellow region
        assert len(fig.axes[0].patches) == 3 + 4 + 1
    plt.close(fig)


def test_initial_stripes_sit_where_tanh_puts_the_bias() -> None:
    _, boxes = pedestrian_stripes()
    centres = (boxes["initial"][:, 1] + boxes["initial"][:, 3]) / 2  # pixel rows, image 160 high
    expected = (torch.tanh(torch.tensor([-0.75, -0.25, 0.25, 0.75])) + 1) * 80
    torch.testing.assert_close(centres, expected)


def test_bad_network_or_missing_stripes_raise() -> None:
    item, boxes = pedestrian_stripes()
    with pytest.raises(ValueError, match=r"network must be one of .* got 'best'"):
        explore_region(item["img"], stripes=boxes, network="best")
    with pytest.raises(ValueError, match="needs stripes"):
        explore_region(item["img"], network="trained")
    with pytest.raises(ValueError, match=r"stripes\['trained'\] must be \(T, 4\)"):
        explore_region(item["img"], stripes={"trained": boxes["trained"][0]}, network="trained")
    with pytest.raises(ValueError, match=r"parts must be \(K, 4\)"):
        explore_region(item["img"], parts=torch.zeros(4))


def per_stage_stripes() -> tuple:
    from tutorial_utils.reid import shipped_model, shipped_pedestrians, stage_maps

    item = shipped_pedestrians("query", num_test_ids=1)[0]
    stripes = {
        name: [m.boxes[0] for m in stage_maps(shipped_model(name == "trained"), item["img"][None])]
        for name in ("trained", "initial")
    }
    return item, stripes


def test_stage_picks_the_stripes_and_the_title_says_when_they_are_the_same() -> None:
    item, stripes = per_stage_stripes()
    fig = plt.figure()
    titles = {}
    for name in ("trained", "initial"):
        for stage in (1, 2, 3):
            out = explore_region(item["img"], stripes=stripes, network=name, stage=stage, fig=fig)
            assert torch.equal(out["stripes"], stripes[name][stage - 1])
            assert out["stage"] == stage
            titles[name, stage] = fig.axes[0].get_title()
            assert f"stage {stage}" in titles[name, stage]
            same = out["same_at_every_stage"]
            assert same == (name == "initial")  # zero weights at init: the bias alone
            assert ("same at every stage" in titles[name, stage]) == same
    # every stage move changes the picture's title, even where the stripes stay put
    assert len({titles["initial", s] for s in (1, 2, 3)}) == 3
    assert not torch.equal(stripes["trained"][0], stripes["trained"][2])
    plt.close(fig)


def test_stage_needs_per_stage_stripes() -> None:
    item, stripes = per_stage_stripes()
    with pytest.raises(ValueError, match="stage must be one of"):
        explore_region(item["img"], stripes=stripes, network="initial", stage=4)
    with pytest.raises(ValueError, match="one \\(T, 4\\) tensor per stage"):
        one = {name: boxes[0] for name, boxes in stripes.items()}
        explore_region(item["img"], stripes=one, network="initial", stage=1)
    with pytest.raises(ValueError, match="stripes is None"):
        explore_region(item["img"], stage=1)
