"""compare_rankings: two networks' features and the rankings they give, side by side."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from tutorial_utils.reid import compare_rankings
from tutorial_utils.reid.cached import CachedSplit


class Fixed(nn.Module):
    """Features that are the mean colour of each image, optionally with noise added."""

    def __init__(self, noise: float = 0.0) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # extract_features asks for a device
        self.noise = noise

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = x.mean(dim=(2, 3)) + self.anchor
        if self.noise:
            generator = torch.Generator().manual_seed(0)
            features = features + self.noise * torch.randn(features.shape, generator=generator)
        return features


def _split(colours: torch.Tensor, pids: list[int], camera: int) -> CachedSplit:
    images = colours[:, :, None, None].expand(-1, 3, 160, 64).half()
    return CachedSplit(images, torch.tensor(pids), torch.full((len(pids),), camera))


def test_identical_networks_agree_and_noise_is_measured() -> None:
    colours = torch.tensor([[0.9, 0.1, 0.1], [0.1, 0.9, 0.1], [0.1, 0.1, 0.9]])
    query = _split(colours, [0, 1, 2], camera=0)
    gallery = _split(colours.flip(0), [2, 1, 0], camera=1)
    same = compare_rankings(Fixed(), Fixed(), query, gallery)
    assert same["cosine_min"] == pytest.approx(1.0)
    assert same["reference"] == same["candidate"] == {"rank1": 1.0, "mAP": 1.0}
    assert same["nearest_changed"] == 0 and same["queries"] == 3 and same["images"] == 6
    noisy = compare_rankings(Fixed(), Fixed(noise=5.0), query, gallery)
    assert noisy["cosine_min"] < 0.9  # the comparison sees a different network
    with pytest.raises(ValueError, match="got 0 and 3 images"):
        compare_rankings(Fixed(), Fixed(), _split(colours[:0], [], 0), gallery)
