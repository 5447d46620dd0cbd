"""Property tests over random batch, channel and spatial sizes."""

import torch
from hypothesis import example, given, settings
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


# tanh(z) rounds to exactly 1 in float64 once |z| > 19.06; up to 18 it is below 1 by 4.6e-16.
NEAR_SATURATION = 18.0


@fast
@given(
    n=st.integers(1, 4),
    c=st.integers(1, 20),
    t=st.integers(1, 6),
    h=sizes,
    w=sizes,
    std=st.floats(0.0, 10.0),
    edge=st.floats(-NEAR_SATURATION, NEAR_SATURATION),
)
@example(n=1, c=1, t=1, h=1, w=1, std=0.0, edge=NEAR_SATURATION)
@example(n=1, c=1, t=1, h=1, w=1, std=0.0, edge=-NEAR_SATURATION)
def test_translations_in_open_interval(n, c, t, h, w, std, edge):
    """Translations lie in (-1, 1), even where the layer's output nears the edge.

    The bias sets one pre-activation to ``edge`` (up to 18, where tanh is within 1e-15 of 1):
    the translation stays strictly inside in float64 (a clamp to [-1, 1] would reach the edge),
    and within [-1, 1] in float32, where tanh rounds to 1 from |z| of about 9.
    """
    module = HardAttention(c, num_regions=t).double()
    with torch.no_grad():
        torch.nn.init.normal_(module.fc.weight, std=std)
        module.fc.bias.zero_()
        module.fc.bias[0] = edge
    x = torch.randn(n, c, h, w, dtype=torch.float64)
    translations = module(x)
    assert translations.shape == (n, t, 2)
    z = torch.nn.functional.linear(x.mean(dim=(2, 3)), module.fc.weight, module.fc.bias)
    inside = z.abs() <= NEAR_SATURATION  # where float64 can represent tanh(z) < 1
    assert (translations.flatten(1)[inside].abs() < 1).all()
    assert (module.float()(x.float()).abs() <= 1).all()
