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
from tutorial_utils.hacnn.checkpoint import CheckpointError


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


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_other_dtypes_are_refused_with_the_fix(dtype):
    name = str(dtype).removeprefix("torch.")
    x = torch.randn(2, 16, 8, 8, dtype=dtype)
    with pytest.raises(TypeError, match=f"expected float32 input .*got {name}; call x.float()"):
        SoftAttention(16).eval()(x)
    images = torch.randn(2, 3, 160, 64, dtype=dtype)
    with pytest.raises(TypeError, match=f"HACNN: expected float32 input .*got {name}"):
        HACNN(10, nchannels=(16, 16, 16), feat_dim=16).eval()(images)


def test_a_module_converted_to_another_dtype_takes_that_dtype():
    soft = SoftAttention(16).eval().double()
    assert soft(torch.randn(2, 16, 8, 8, dtype=torch.float64)).dtype == torch.float64
    with pytest.raises(TypeError, match="expected float64 input .*got float32; call x.to"):
        soft(torch.randn(2, 16, 8, 8))


def test_autocast_mixes_dtypes_without_complaint():
    soft = SoftAttention(16).eval()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out = soft(torch.randn(2, 16, 8, 8).bfloat16())
    assert out.shape == (2, 16, 8, 8)


def test_optimized_soft_attention_refuses_other_dtypes():
    from tutorial_utils.infer.fast_soft import FastSoftAttention

    fast = FastSoftAttention(SoftAttention(16).eval())
    with pytest.raises(TypeError, match="FastSoftAttention: expected float32 input .*float16"):
        fast(torch.randn(2, 16, 8, 8, dtype=torch.float16))


def test_a_batch_of_one_in_train_mode_names_the_fix():
    model = HACNN(10, nchannels=(16, 16, 16), feat_dim=16).train()
    with pytest.raises(
        ValueError, match=r"batch of at least 2 .*got a batch of 1; call model.eval"
    ):
        model(torch.randn(1, 3, 160, 64))
    with pytest.raises(
        ValueError, match="ChannelAttention in train mode needs a batch of at least"
    ):
        SoftAttention(16).train()(torch.randn(1, 16, 8, 8))
    assert model.eval()(torch.randn(1, 3, 160, 64)).shape == (1, 32)


@pytest.mark.parametrize("bad", [-1, 0, 1.5, True])
def test_non_positive_channel_counts_are_named(bad):
    with pytest.raises(ValueError, match=r"nchannels\[0\] \(stage 1's channels\) must be a pos"):
        HACNN(10, nchannels=(bad, 64, 96))


def _checkpoint_bytes(tmp_path):
    path = tmp_path / "good.pth"
    torch.save(HACNN(10, nchannels=(16, 16, 16), feat_dim=16).state_dict(), path)
    return path.read_bytes()


@pytest.mark.parametrize("keep", [0.05, 0.5, 0.99])
def test_a_truncated_checkpoint_names_the_file_and_what_was_expected(tmp_path, keep):
    whole = _checkpoint_bytes(tmp_path)
    path = tmp_path / "cut.pth"
    path.write_bytes(whole[: int(keep * len(whole))])
    size = path.stat().st_size
    with pytest.raises(
        CheckpointError, match=rf"cannot read checkpoint .*cut.pth \({size} bytes\)"
    ):
        load_checkpoint(HACNN(10, nchannels=(16, 16, 16), feat_dim=16), path)


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n"])
def test_an_empty_or_text_file_is_not_a_checkpoint(tmp_path, content):
    path = tmp_path / "notes.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match="truncated, damaged or not a PyTorch file; expected"):
        load_checkpoint(HACNN(10), path)


class _Payload:
    """Unpickling this would call print: a stand-in for arbitrary code."""

    def __reduce__(self):
        return (print, ("code ran",))


def test_an_unsafe_pickle_is_refused_unread(tmp_path, capsys):
    path = tmp_path / "evil.pth"
    torch.save({"state_dict": {}, "extra": _Payload()}, path)
    with pytest.raises(
        CheckpointError, match=r"refused to read checkpoint .*evil.pth.*GLOBAL print"
    ):
        load_checkpoint(HACNN(10), path)
    assert "code ran" not in capsys.readouterr().out
