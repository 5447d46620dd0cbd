"""Headless tests of lesson 01's explorer logic (tutorial_utils/explore/convblock.py)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
import torch

from tutorial_utils import ConvBlock
from tutorial_utils.common import normalize
from tutorial_utils.explore import (
    EXPLORER_SIZE,
    conv_output_size,
    explore_convblock,
    explorer_image,
)


@pytest.mark.parametrize(
    ("size", "k", "s", "p", "expected"),
    [(96, 3, 1, 1, 96), (96, 3, 2, 1, 48), (96, 5, 2, 1, 47), (7, 7, 1, 0, 1), (5, 1, 3, 0, 2)],
)
def test_conv_output_size_matches_formula(size, k, s, p, expected):
    assert conv_output_size(size, k, s, p) == expected


@pytest.mark.parametrize(("k", "s", "p"), [(1, 1, 0), (3, 2, 1), (4, 3, 2), (7, 1, 3)])
def test_conv_output_size_matches_torch(k, s, p):
    x = torch.zeros(1, 1, 11, 20)
    y = torch.nn.Conv2d(1, 1, k, stride=s, padding=p)(x)
    assert tuple(y.shape[-2:]) == (conv_output_size(11, k, s, p), conv_output_size(20, k, s, p))


@pytest.mark.parametrize(
    ("args", "word"),
    [((4, 5, 1, 0), "kernel_size=5"), ((4, 3, 0, 0), "stride"), ((4, 3, 1, -1), "padding")],
)
def test_conv_output_size_rejects_bad_values(args, word):
    with pytest.raises(ValueError, match=word):
        conv_output_size(*args)


def test_explore_convblock_returns_what_it_drew():
    fig = plt.figure()
    result = explore_convblock("chelsea", kernel_size=5, stride=2, padding=1, fig=fig)
    assert result["input_size"] == EXPLORER_SIZE
    assert result["output_size"] == result["formula_size"] == (47, 47)
    assert result["maps"].shape == (3, 47, 47)
    assert (result["maps"] >= 0).all()  # ReLU output
    assert len(fig.axes) == 4
    # The same seeded block, built here independently, gives the same maps.
    torch.manual_seed(0)
    block = ConvBlock(3, 3, 5, stride=2, padding=1).eval()
    with torch.no_grad():
        expected = block(normalize(explorer_image("chelsea")[None]))[0]
    torch.testing.assert_close(result["maps"], expected)
    plt.close(fig)


def test_explore_convblock_changes_with_controls():
    a = explore_convblock("camera", 3, 1, 1)
    b = explore_convblock("camera", 3, 3, 1)
    c = explore_convblock("coffee", 3, 1, 1)
    assert a["output_size"] == (96, 96) and b["output_size"] == (32, 32)
    assert not torch.equal(a["maps"], c["maps"])
    plt.close("all")
