"""The separable stripe crop against HA-CNN's grid_sample + resize crop."""

from __future__ import annotations

import copy

import pytest
import torch

from tutorial_utils.hacnn import HACNN, crop_region, region_theta
from tutorial_utils.infer import crop_region_separable, hacnn_for_compiler
from tutorial_utils.infer.separable_crop import axis_taps

STRIPE = torch.tensor([[1.0, 0.0], [0.0, 0.25]])


@pytest.mark.parametrize(
    ("shape", "out_size"),
    [
        ((3, 32, 80, 32), (24, 28)),  # HA-CNN's three stages at 160 x 64
        ((3, 16, 40, 16), (12, 14)),
        ((3, 8, 20, 8), (6, 7)),
        ((2, 5, 9, 7), (4, 11)),  # odd sizes, an output wider than the input
        ((2, 3, 6, 5), (1, 1)),  # one output pixel: the resize reads grid point 0 only
    ],
)
def test_matches_crop_region(shape: tuple[int, ...], out_size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    x = torch.randn(shape)
    # Translations in (-1.3, 1.3): some stripes hang over the edge into the zero padding.
    translation = torch.rand(shape[0], 2) * 2.6 - 1.3
    theta = region_theta(translation, STRIPE)
    expected = crop_region(x, theta, out_size)
    got = crop_region_separable(x, theta, out_size)
    assert got.shape == expected.shape == (shape[0], shape[1], *out_size)
    # Pixel coordinates up to 80 carry float rounding of about 8e-6 pixels.
    torch.testing.assert_close(got, expected, atol=1e-4, rtol=0)


def test_identity_region_returns_the_map() -> None:
    torch.manual_seed(1)
    x = torch.randn(2, 4, 12, 10)
    theta = region_theta(torch.zeros(2, 2), torch.eye(2))
    # Exact but for the rounding of the grid coordinates (about 1e-6 here).
    torch.testing.assert_close(crop_region_separable(x, theta, (12, 10)), x, atol=1e-5, rtol=0)


def test_weights_sum_to_one_inside_and_drop_outside() -> None:
    scale = torch.tensor([0.25, 0.25, 0.25])
    shift = torch.tensor([0.0, 0.9, 3.0])  # centred, near the edge, wholly outside
    index, weight = axis_taps(40, 12, scale, shift)
    assert index.shape == weight.shape == (3, 12, 4)
    assert int(index.min()) >= 0 and int(index.max()) <= 39
    totals = weight.sum(-1)
    torch.testing.assert_close(totals[0], torch.ones(12))
    assert float(totals[1].min()) < 1.0  # part of the stripe reads the zero padding
    torch.testing.assert_close(totals[2], torch.zeros(12))


def test_hacnn_for_compiler_uses_it_and_refuses_a_sheared_scale() -> None:
    model = HACNN(10, nchannels=(16, 32, 48), feat_dim=24).eval()
    target = hacnn_for_compiler(copy.deepcopy(model))
    assert target.stripe_crop is crop_region_separable
    assert model.stripe_crop is crop_region  # the reference keeps its crop
    assert "crop_stripe" not in vars(target)  # no method is replaced on the instance
    sheared = copy.deepcopy(model)
    sheared.region_scale[0, 1] = 0.1
    with pytest.raises(ValueError, match=r"diagonal region_scale; got \[\[1.0, 0.1"):
        hacnn_for_compiler(sheared)
