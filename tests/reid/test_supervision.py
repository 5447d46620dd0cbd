"""The teaching losses: what they reward, their targets on hand-made boxes, flips, capture."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F

from tutorial_utils.reid.supervision import (
    captured_attention,
    mask_loss,
    stripe_loss,
    stripe_targets,
)
from tutorial_utils.reid.training import TrainConfig, teaching_loss
from tutorial_utils.reid.variants import build_model

H, W = 160, 64


def _mask(top: int = 20, bottom: int = 140, left: int = 10, right: int = 30) -> torch.Tensor:
    mask = torch.zeros(1, H, W, dtype=torch.bool)
    mask[:, top:bottom, left:right] = True
    return mask


def _maps_like(mask: torch.Tensor, low: float, high: float) -> list[torch.Tensor]:
    """Soft maps at three stage sizes that open exactly where the mask covers each cell."""
    maps = []
    for size in ((40, 16), (20, 8), (10, 4)):
        share = F.interpolate(mask[:, None].float(), size=size, mode="area")
        maps.append((low + share * (high - low)).expand(-1, 4, -1, -1))
    return maps


@pytest.mark.parametrize("value_range", [(0.5, 1.0), (0.0, 1.0), (1.0, 2.0)])
def test_mask_loss_prefers_a_map_that_matches_the_mask(value_range) -> None:
    low, high = value_range
    mask = _mask()
    matching = _maps_like(mask, low, high)
    flat = [torch.full_like(m, (low + high) / 2) for m in matching]
    inverted = _maps_like(~mask, low, high)
    loss = {name: mask_loss(maps, mask, value_range) for name, maps in
            (("matching", matching), ("flat", flat), ("inverted", inverted))}  # fmt: skip
    assert loss["matching"] < loss["flat"] < loss["inverted"]


@pytest.mark.parametrize("value_range", [(0.0, float("inf")), (1.0, 1.0)])
def test_mask_loss_refuses_a_range_it_cannot_rescale(value_range) -> None:
    with pytest.raises(ValueError, match="finite value range"):
        mask_loss(_maps_like(_mask(), 0.5, 1.0), _mask(), value_range)


def test_stripe_targets_cut_the_person_into_equal_parts() -> None:
    # Head from y = 20, lower body to y = 140: -0.75 ... 0.75 in affine_grid units.
    parts = torch.tensor([[[24, 20, 40, 40], [16, 40, 48, 80], [20, 80, 44, 140]]]).float()
    offsets = torch.tensor([[0.25, -0.1]])
    targets = stripe_targets(parts, offsets, H, num_regions=4)
    assert targets.shape == (1, 4, 2)
    torch.testing.assert_close(targets[0, :, 1], torch.tensor([-0.5625, -0.1875, 0.1875, 0.5625]))
    torch.testing.assert_close(targets[0, :, 0], torch.full((4,), 0.25))
    assert stripe_loss([targets, targets], targets) == 0
    assert stripe_loss([targets + 0.1], targets) > 0


def _run(variant: str, mask: torch.Tensor, parts: torch.Tensor, offsets: torch.Tensor):
    data = SimpleNamespace(
        images=torch.zeros(1, 3, H, W), masks=mask, parts=parts[None], offsets=offsets[None]
    )
    return SimpleNamespace(config=TrainConfig(variant=variant), data=data, device="cpu")


def test_a_flipped_image_is_taught_flipped_stripes() -> None:
    mask = _mask(left=10, right=30)  # left of centre, so its mirror image differs
    parts = torch.tensor([[14, 20, 26, 40], [10, 40, 30, 80], [12, 80, 28, 140]]).float()
    offsets = torch.tensor([-0.375, 0.0])  # box centre x = 20: (20 / 64) * 2 - 1
    mirrored_parts = torch.tensor([[38, 20, 50, 40], [34, 40, 54, 80], [36, 80, 52, 140]]).float()
    mirrored = stripe_targets(mirrored_parts[None], -offsets[None], H, 4)
    attention = SimpleNamespace(soft=[], translations=[mirrored] * 3)
    run = _run("taught_stripes", mask, parts, offsets)
    index = torch.tensor([0])
    flipped = teaching_loss(run, index, torch.tensor([True]), attention)
    unflipped = teaching_loss(run, index, torch.tensor([False]), attention)
    assert flipped == 0 and unflipped > 0
    assert torch.equal(run.data.parts[0], parts)  # the data set itself is not mirrored


def test_a_flipped_image_is_taught_a_flipped_mask() -> None:
    mask = _mask(left=10, right=30)
    parts = torch.zeros(3, 4)
    run = _run("taught_gate", mask, parts, torch.zeros(2))
    attention = SimpleNamespace(soft=_maps_like(mask.flip(-1), 0.5, 1.0), translations=[])
    index = torch.tensor([0])
    flipped = teaching_loss(run, index, torch.tensor([True]), attention)
    unflipped = teaching_loss(run, index, torch.tensor([False]), attention)
    assert flipped < unflipped
    assert torch.equal(run.data.masks, mask)


def test_no_teaching_for_the_untaught_variants() -> None:
    run = _run("harmonious", _mask(), torch.zeros(3, 4), torch.zeros(2))
    attention = SimpleNamespace(soft=_maps_like(_mask(), 0.5, 1.0), translations=[])
    assert teaching_loss(run, torch.tensor([0]), torch.tensor([False]), attention) == 0


def test_captured_attention_records_every_stage_and_lets_go() -> None:
    model = build_model(5, (16, 16, 16), 16, "harmonious").eval()
    x = torch.rand(2, 3, H, W)
    records: list = []
    with captured_attention(model) as capture:
        model.forward_features(x, records=records)
    assert len(capture.soft) == 3 and len(capture.translations) == 3
    for soft, translations, record in zip(capture.soft, capture.translations, records, strict=True):
        assert torch.equal(soft, record.soft_map)
        assert torch.equal(translations, record.translations)
    model(x)  # the hooks are gone
    assert len(capture.soft) == 3
