"""BatchNorm statistics: calibrated on photos, randomised as if trained, fresh or not."""

import pytest
import torch
from torch import nn

from tutorial_utils import (
    HACNN,
    ConvBlock,
    calibrate_batchnorm,
    hacnn_batch,
    randomize_batchnorm,
    sample_image_names,
)
from tutorial_utils.common import has_measured_statistics


def test_running_stats_equal_the_batch_statistics_and_weights_stay():
    block = ConvBlock(3, 4, 3)
    weights = {k: v.clone() for k, v in block.state_dict().items() if "running" not in k}
    x = torch.randn(8, 3, 9, 9)
    calibrate_batchnorm(block, x)
    pre_bn = block.conv(x)
    torch.testing.assert_close(block.bn.running_mean, pre_bn.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(block.bn.running_var, pre_bn.var(dim=(0, 2, 3), unbiased=True))
    assert not block.training and block.bn.momentum == 0.1
    for k, v in weights.items():
        if k != "bn.num_batches_tracked":
            torch.testing.assert_close(block.state_dict()[k], v)


def test_calibrated_hacnn_soft_maps_are_not_flat():
    torch.manual_seed(0)
    model = HACNN(10).eval()
    _, batch = hacnn_batch(sample_image_names())
    records = []
    calibrate_batchnorm(model, batch).forward_features(batch, records)
    assert all(r.soft_map.mean(dim=1).std() > 1e-3 for r in records)


def test_errors():
    with pytest.raises(ValueError, match="has no BatchNorm"):
        calibrate_batchnorm(nn.Linear(2, 2), torch.randn(3, 2))
    with pytest.raises(ValueError, match="at least 2 samples, got 1"):
        calibrate_batchnorm(ConvBlock(3, 4, 3), torch.randn(1, 3, 9, 9))


def test_randomize_batchnorm_is_seeded_and_leaves_other_weights_alone():
    model = nn.Sequential(ConvBlock(3, 4, 3), nn.Linear(4, 2), nn.BatchNorm1d(2)).train()
    conv_before = model[0].conv.weight.clone()
    assert not has_measured_statistics(model)
    assert randomize_batchnorm(model, seed=3) is model
    assert model.training  # the mode is kept
    assert has_measured_statistics(model)
    torch.testing.assert_close(model[0].conv.weight, conv_before)
    for bn in (model[0].bn, model[2]):
        assert (bn.running_var >= 0.5).all() and (bn.running_var < 1.5).all()
        assert not torch.equal(bn.weight, torch.ones_like(bn.weight))
    again = randomize_batchnorm(nn.Sequential(ConvBlock(3, 4, 3)), seed=3)
    torch.testing.assert_close(again[0].bn.running_mean, model[0].bn.running_mean)
    other = randomize_batchnorm(nn.Sequential(ConvBlock(3, 4, 3)), seed=4)
    assert not torch.equal(other[0].bn.running_mean, model[0].bn.running_mean)
