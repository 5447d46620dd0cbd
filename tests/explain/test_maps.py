"""Activation maps and the mask ratio, on cases small enough to check by hand."""

import pytest
import torch
from torch import nn

from tutorial_utils.explain import activation_map, mask_ratio


def test_activation_map_is_mean_absolute_output() -> None:
    conv = nn.Conv2d(1, 2, 1, bias=False)
    with torch.no_grad():
        conv.weight.copy_(torch.tensor([1.0, -3.0]).view(2, 1, 1, 1))
    model = nn.Sequential(conv, nn.ReLU())
    x = torch.tensor([[[[1.0, -2.0]]]])
    # channels (x, -3x) -> |.| mean = 2|x|
    torch.testing.assert_close(activation_map(model, x, conv), torch.tensor([[[2.0, 4.0]]]))


def test_activation_map_errors() -> None:
    model = nn.Sequential(nn.Flatten())
    with pytest.raises(ValueError, match="not a submodule"):
        activation_map(model, torch.rand(1, 1, 2, 2), nn.ReLU())
    with pytest.raises(ValueError, match=r"\(N, C, h, w\)"):
        activation_map(model, torch.rand(1, 1, 2, 2), model[0])


def test_mask_ratio_flat_and_concentrated() -> None:
    masks = torch.zeros(2, 4, 4, dtype=torch.bool)
    masks[:, :2] = True  # the top half
    maps = torch.stack([torch.ones(2, 2), torch.tensor([[1.0, 1.0], [0.0, 0.0]])])
    torch.testing.assert_close(mask_ratio(maps, masks), torch.tensor([1.0, 2.0]))


def test_mask_ratio_partial_cells() -> None:
    masks = torch.zeros(1, 2, 2, dtype=torch.bool)
    masks[0, 0, 0] = True  # a quarter of the single cell
    maps = torch.ones(1, 1, 1)
    torch.testing.assert_close(mask_ratio(maps, masks), torch.tensor([1.0]))
    maps = torch.tensor([[[3.0, 1.0]]])  # (1, 1, 2): left cell half covered, right none
    masks = torch.zeros(1, 2, 2, dtype=torch.bool)
    masks[0, 0, 0] = True
    # inside share = 3 * 0.5 / 4 = 0.375; area share = 0.25 -> 1.5
    torch.testing.assert_close(mask_ratio(maps, masks), torch.tensor([1.5]))


def test_mask_ratio_errors() -> None:
    with pytest.raises(ValueError, match="same N"):
        mask_ratio(torch.ones(2, 2, 2), torch.ones(1, 4, 4, dtype=torch.bool))
    with pytest.raises(ValueError, match=">= 0"):
        mask_ratio(-torch.ones(1, 2, 2), torch.ones(1, 4, 4, dtype=torch.bool))
