import pytest
import torch

from tutorial_utils import ConvBlock, InceptionA, InceptionB


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "padding"),
    [
        ((17, 9), 3, 1, 1),
        ((17, 9), 3, 2, 1),
        ((16, 8), 1, 1, 0),
        ((15, 15), 5, 2, 2),
        ((7, 4), 3, 3, 0),
    ],
)
def test_convblock_output_size_follows_formula(size, kernel, stride, padding):
    block = ConvBlock(3, 5, kernel, stride=stride, padding=padding)
    y = block(torch.randn(2, 3, *size))
    expected = tuple((s + 2 * padding - kernel) // stride + 1 for s in size)
    assert y.shape == (2, 5, *expected)
    assert (y >= 0).all(), "ReLU output must be non-negative"


def test_convblock_positional_order_and_parameter_count():
    block = ConvBlock(4, 6, 3, 2, 1)
    assert block.conv.stride == (2, 2) and block.conv.padding == (1, 1)
    # conv weight + conv bias + BN weight + BN bias
    assert sum(p.numel() for p in block.parameters()) == 6 * 4 * 9 + 6 + 6 + 6


def test_inception_shapes():
    x = torch.randn(2, 32, 21, 9)
    assert InceptionA(32, 64)(x).shape == (2, 64, 21, 9)
    assert InceptionB(32, 64)(x).shape == (2, 64, 11, 5)
