"""Every bad input gets an error that names the bad value and what was expected."""

import pytest
import torch

from tutorial_utils import (
    HACNN,
    ChannelAttention,
    HardAttention,
    SoftAttention,
    SpatialAttention,
    load_checkpoint,
)


def test_wrong_ndim():
    with pytest.raises(ValueError, match=r"4-D tensor \(N, C, H, W\), got 3-D"):
        SoftAttention(16)(torch.randn(16, 8, 8))


def test_channel_count_mismatch():
    with pytest.raises(ValueError, match="expected 16 channels, got 8"):
        ChannelAttention(16)(torch.randn(1, 8, 4, 4))


def test_channels_not_divisible_by_reduction_rate():
    with pytest.raises(ValueError, match="in_channels=100 is not divisible by reduction_rate=16"):
        ChannelAttention(100, 16)


@pytest.mark.parametrize("bad", [0, -2, 1.5, True])
def test_num_regions_must_be_positive_int(bad):
    with pytest.raises(ValueError, match=f"num_regions must be a positive integer, got {bad!r}"):
        HardAttention(8, num_regions=bad)


def test_integer_tensor():
    with pytest.raises(TypeError, match="floating-point tensor, got dtype torch.uint8"):
        SpatialAttention()(torch.zeros(1, 3, 8, 8, dtype=torch.uint8))


def test_not_a_tensor():
    with pytest.raises(TypeError, match="expected a torch.Tensor, got list"):
        SpatialAttention()([[1.0]])


def test_hacnn_input_size():
    with pytest.raises(ValueError, match="160 x 64, got 128 x 64"):
        HACNN(10).eval()(torch.randn(1, 3, 128, 64))


def test_hacnn_channels():
    with pytest.raises(ValueError, match="expected 3 channels, got 1"):
        HACNN(10).eval()(torch.randn(1, 1, 160, 64))


def test_checkpoint_missing_unexpected_and_misshaped_keys():
    model = HACNN(10)
    state = model.state_dict()
    state.pop("conv.conv.weight")
    state["extra.weight"] = torch.zeros(1)
    state["classifier_global.weight"] = torch.zeros(3, 512)
    with pytest.raises(ValueError) as info:
        load_checkpoint(HACNN(10), state)
    message = str(info.value)
    assert "missing keys (1): conv.conv.weight" in message
    assert "unexpected keys (1): extra.weight" in message
    assert "classifier_global.weight: checkpoint (3, 512) vs model (10, 512)" in message


def test_checkpoint_path_that_does_not_exist(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file at"):
        load_checkpoint(HACNN(10), tmp_path / "nope.pth")


def test_checkpoint_that_is_not_a_mapping(tmp_path):
    path = tmp_path / "list.pth"
    torch.save([1, 2, 3], path)
    with pytest.raises(TypeError, match="expected a state_dict"):
        load_checkpoint(HACNN(10), path)
