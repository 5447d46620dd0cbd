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
