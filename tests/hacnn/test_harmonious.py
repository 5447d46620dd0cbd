"""Harmonious attention: soft and hard attention side by side on one feature map."""

import torch

from tutorial_utils import HarmoniousAttention


def test_harmonious_attention_returns_map_and_translations():
    soft, translations = HarmoniousAttention(32)(torch.randn(2, 32, 10, 4))
    assert soft.shape == (2, 32, 10, 4) and translations.shape == (2, 4, 2)
