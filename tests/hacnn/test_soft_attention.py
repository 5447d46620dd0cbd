"""Channel, spatial and soft attention: shapes, ranges and the formulas they follow."""

import pytest
import torch
import torch.nn.functional as F

from tutorial_utils import ChannelAttention, SoftAttention, SpatialAttention


def test_channel_attention_shape_and_parameter_count():
    module = ChannelAttention(64, reduction_rate=16)
    assert module(torch.randn(3, 64, 7, 5)).shape == (3, 64, 1, 1)
    # two 1x1 ConvBlocks: 64*4+4 (+BN 4+4), 4*64+64 (+BN 64+64)
    assert sum(p.numel() for p in module.parameters()) == (64 * 4 + 4 + 8) + (4 * 64 + 64 + 128)


def test_channel_attention_matches_avg_pool_squeeze():
    module = ChannelAttention(32, 8).eval()
    x = torch.randn(2, 32, 6, 10)
    squeezed = F.avg_pool2d(x, x.shape[2:])
    torch.testing.assert_close(module(x), module.conv2(module.conv1(squeezed)))


@pytest.mark.parametrize("size", [(16, 8), (41, 15), (1, 1), (2, 3), (160, 64)])
def test_spatial_attention_keeps_input_size(size):
    assert SpatialAttention()(torch.randn(2, 5, *size)).shape == (2, 1, *size)


def test_spatial_attention_equals_seed_2x_upsample_for_even_sizes():
    module = SpatialAttention().eval()
    x = torch.randn(2, 8, 20, 12)
    y = module.conv1(x.mean(1, keepdim=True))
    seed = module.conv2(
        F.interpolate(y, (y.shape[2] * 2, y.shape[3] * 2), mode="bilinear", align_corners=True)
    )
    torch.testing.assert_close(module(x), seed)


def test_seed_2x_upsample_breaks_odd_sizes_and_ours_does_not():
    module = SpatialAttention()
    x = torch.randn(1, 4, 41, 15)
    y = module.conv1(x.mean(1, keepdim=True))
    upsampled = F.interpolate(
        y, (y.shape[2] * 2, y.shape[3] * 2), mode="bilinear", align_corners=True
    )
    with pytest.raises(RuntimeError):
        _ = x * upsampled
    assert (x * module(x)).shape == x.shape


def test_soft_attention_range_and_shape_in_train_and_eval_mode():
    module = SoftAttention(32)
    x = torch.randn(4, 32, 9, 7) * 3
    outputs = {}
    for training in (True, False):
        module.train(training)
        assert module.training is training and module.conv.bn.training is training
        y = module(x)
        assert y.shape == x.shape
        assert y.min() >= 0.5 and y.max() < 1.0
        outputs[training] = y
    # Train mode normalises with the batch's statistics, eval with the running ones.
    assert not torch.allclose(outputs[True], outputs[False])


def test_soft_attention_is_broadcast_product_then_conv_sigmoid():
    module = SoftAttention(16, reduction_rate=4).eval()
    x = torch.randn(2, 16, 6, 4)
    s, c = module.spatial_attn(x), module.channel_attn(x)
    assert s.shape == (2, 1, 6, 4) and c.shape == (2, 16, 1, 1)
    torch.testing.assert_close(module(x), torch.sigmoid(module.conv(s * c)))
