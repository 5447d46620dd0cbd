import pytest
import torch
import torch.nn.functional as F

from tutorial_utils import (
    ChannelAttention,
    HardAttention,
    HarmoniousAttention,
    SoftAttention,
    SpatialAttention,
    crop_region,
    region_theta,
    theta_to_boxes,
)
from tutorial_utils.hacnn.hard_attention import default_stripe_centres


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


def test_soft_attention_range_and_shape():
    module = SoftAttention(32)
    x = torch.randn(4, 32, 9, 7) * 3
    for mode in (module.train(), module.eval()):
        y = mode(x)
        assert y.shape == x.shape
        assert y.min() >= 0.5 and y.max() < 1.0


def test_soft_attention_is_broadcast_product_then_conv_sigmoid():
    module = SoftAttention(16, reduction_rate=4).eval()
    x = torch.randn(2, 16, 6, 4)
    s, c = module.spatial_attn(x), module.channel_attn(x)
    assert s.shape == (2, 1, 6, 4) and c.shape == (2, 16, 1, 1)
    torch.testing.assert_close(module(x), torch.sigmoid(module.conv(s * c)))


def test_hard_attention_init_matches_torchreid_bias():
    module = HardAttention(8)
    assert module.fc.weight.abs().sum() == 0
    torch.testing.assert_close(module.fc.bias, torch.tensor([0, -0.75, 0, -0.25, 0, 0.25, 0, 0.75]))
    theta = module(torch.randn(3, 8, 5, 5))
    assert theta.shape == (3, 4, 2)
    torch.testing.assert_close(theta[0, :, 1], torch.tanh(torch.tensor([-0.75, -0.25, 0.25, 0.75])))


def test_default_stripe_centres_tile_the_height():
    torch.testing.assert_close(default_stripe_centres(2), torch.tensor([-0.5, 0.5]))
    assert default_stripe_centres(1).tolist() == [0.0]


def test_gradients_reach_hard_attention_through_grid_sample():
    module = HardAttention(6, num_regions=2)
    torch.nn.init.normal_(module.fc.weight, std=0.1)
    features = torch.randn(2, 6, 9, 7)
    image = torch.randn(2, 3, 16, 8)
    theta = module(features)
    scale = torch.tensor([[1.0, 0.0], [0.0, 0.5]])
    crops = [crop_region(image, region_theta(theta[:, r], scale), (4, 8)) for r in range(2)]
    (torch.stack(crops) * torch.randn(2, 2, 3, 4, 8)).sum().backward()
    assert module.fc.weight.grad is not None and module.fc.weight.grad.abs().sum() > 0
    assert module.fc.bias.grad.abs().sum() > 0


def test_crop_region_identity_theta_returns_input():
    x = torch.randn(1, 2, 8, 6)
    theta = region_theta(torch.zeros(1, 2), torch.eye(2))
    torch.testing.assert_close(crop_region(x, theta, (8, 6)), x, atol=1e-5, rtol=1e-5)


def test_region_theta_follows_translation_dtype():
    translation = torch.zeros(3, 2, dtype=torch.float64, requires_grad=True)
    theta = region_theta(translation, torch.tensor([[1.0, 0.0], [0.0, 0.25]]))
    assert theta.dtype == torch.float64 and theta.shape == (3, 2, 3) and theta.requires_grad


def test_theta_to_boxes_full_image_and_stripe():
    full = region_theta(torch.zeros(1, 2), torch.eye(2))
    assert theta_to_boxes(full, 160, 64).tolist() == [[0.0, 0.0, 64.0, 160.0]]
    top = region_theta(torch.tensor([[0.0, -0.75]]), torch.tensor([[1.0, 0.0], [0.0, 0.25]]))
    assert theta_to_boxes(top, 160, 64).tolist() == [[0.0, 0.0, 64.0, 40.0]]


def test_harmonious_attention_returns_map_and_theta():
    soft, theta = HarmoniousAttention(32)(torch.randn(2, 32, 10, 4))
    assert soft.shape == (2, 32, 10, 4) and theta.shape == (2, 4, 2)
