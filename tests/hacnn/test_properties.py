"""Property tests over random batch, channel and spatial sizes."""

import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tutorial_utils import ChannelAttention, HardAttention, SoftAttention, SpatialAttention

sizes = st.integers(min_value=1, max_value=23)
fast = settings(max_examples=25, deadline=None)


@fast
@given(
    n=st.integers(2, 4), groups=st.integers(1, 4), r=st.sampled_from([1, 2, 4]), h=sizes, w=sizes
)
def test_soft_attention_shape_and_range(n, groups, r, h, w):
    c = groups * r * 2
    torch.manual_seed(n * 1000 + c * 10 + h + w)
    module = SoftAttention(c, reduction_rate=r)
    x = torch.randn(n, c, h, w) * 4
    for training in (True, False):  # batch statistics, then running statistics
        module.train(training)
        assert module.training is training
        y = module(x)
        assert y.shape == (n, c, h, w)
        assert y.min().item() >= 0.5 and y.max().item() < 1.0


@fast
@given(n=st.integers(1, 4), c=st.integers(1, 20), h=sizes, w=sizes)
def test_spatial_attention_shape(n, c, h, w):
    assert SpatialAttention().eval()(torch.randn(n, c, h, w)).shape == (n, 1, h, w)


@fast
@given(n=st.integers(1, 4), c=st.sampled_from([16, 32, 48]), h=sizes, w=sizes)
def test_channel_attention_shape_and_non_negative(n, c, h, w):
    y = ChannelAttention(c).eval()(torch.randn(n, c, h, w))
    assert y.shape == (n, c, 1, 1) and (y >= 0).all()


@fast
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 20),
    t=st.integers(1, 6),
    h=sizes,
    w=sizes,
    std=st.floats(0.0, 10.0),
)
def test_theta_in_open_interval(n, c, t, h, w, std):
    module = HardAttention(c, num_regions=t)
    torch.nn.init.normal_(module.fc.weight, std=std)
    theta = module(torch.randn(n, c, h, w))
    assert theta.shape == (n, t, 2)
    # tanh saturates to exactly +-1 in float32 for large inputs; check in float64
    theta64 = module.double()(torch.randn(n, c, h, w, dtype=torch.float64) * 0.1)
    assert (theta.abs() <= 1).all() and (theta64.abs() < 1).all()
