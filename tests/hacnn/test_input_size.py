"""HACNN at other input sizes: the stripe-size rule, shapes at 256 x 128, clear errors."""

import warnings

import pytest
import torch

from tutorial_utils import HACNN, InceptionB, count_parameters
from tutorial_utils.hacnn import (
    INPUT_SIZE,
    STRIPE_SIZES,
    block_output_size,
    check_input_size,
    stripe_sizes,
)

SMALL = {"nchannels": (16, 32, 48), "feat_dim": 8}  # same layers, fewer channels: fast


def test_rule_at_160x64_gives_torchreids_stripe_sizes():
    assert INPUT_SIZE == (160, 64)
    assert stripe_sizes((160, 64)) == ((24, 28), (12, 14), (6, 7)) == STRIPE_SIZES
    assert HACNN(num_classes=3).stripe_sizes == STRIPE_SIZES


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((256, 128), ((38, 56), (19, 28), (10, 14))),
        ((384, 128), ((58, 56), (29, 28), (15, 14))),
        ((224, 96), ((34, 42), (17, 21), (9, 11))),
        ((32, 16), ((5, 7), (3, 4), (2, 2))),
    ],
)
def test_rule_at_other_sizes(size, expected):
    assert stripe_sizes(size) == expected


@pytest.mark.parametrize("size", [(160, 64), (256, 128), (384, 128), (224, 96), (32, 16)])
def test_each_later_stripe_is_what_the_local_conv_makes_of_the_previous_one(size):
    """The previous stage's local output is added to the next stripe: their sizes must match."""
    net = HACNN(num_classes=3, input_size=size, **SMALL).eval()
    s1, s2, s3 = net.stripe_sizes
    with torch.no_grad():
        out1 = net.local_conv1(torch.zeros(1, 32, *s1))
        out2 = net.local_conv2(torch.zeros(1, 16, *s2))
    assert tuple(out1.shape[-2:]) == s2
    assert tuple(out2.shape[-2:]) == s3


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (19, 28), (38, 56), (57, 9)])
def test_block_output_size_agrees_with_a_forward_pass(size):
    block = InceptionB(8, 8).eval()
    with torch.no_grad():
        shape = block(torch.zeros(1, 8, *size)).shape
    assert block_output_size(block, size) == tuple(shape[-2:])


@pytest.mark.parametrize("size", [(160, 64), (37, 21)])
def test_block_output_size_of_the_stem_and_a_whole_stage(size):
    net = HACNN(num_classes=3, **SMALL).eval()
    with torch.no_grad():
        stem = net.conv(torch.zeros(1, 3, *size))
        stage = net.inception1(stem)
    assert block_output_size(net.conv, size) == tuple(stem.shape[-2:])
    assert block_output_size(net.inception1, tuple(stem.shape[-2:])) == tuple(stage.shape[-2:])


def test_streams_that_disagree_raise():
    block = InceptionB(8, 8)
    block.stream1[1].conv.stride = (1, 1)  # this stream no longer halves
    with pytest.raises(ValueError, match="streams of InceptionB give different sizes"):
        block_output_size(block, (12, 14))


def test_256x128_forward_shapes_in_train_and_eval():
    torch.manual_seed(0)
    net = HACNN(num_classes=5, input_size=(256, 128), **SMALL)
    x = torch.randn(2, 3, 256, 128)
    logits_global, logits_local = net.train()(x)
    assert logits_global.shape == (2, 5) and logits_local.shape == (2, 5)
    records = []
    with torch.no_grad():
        features = net.eval()(x)
        net.forward_features(x, records)
    assert features.shape == (2, 16)
    assert [tuple(r.stage_input.shape[-2:]) for r in records] == [(128, 64), (64, 32), (32, 16)]
    assert [tuple(r.soft_map.shape[-2:]) for r in records] == [(64, 32), (32, 16), (16, 8)]


def test_full_width_at_256x128_has_the_same_parameters_and_keys():
    default, large = HACNN(num_classes=751), HACNN(num_classes=751, input_size=(256, 128))
    assert count_parameters(large, ("classifier_",)) == 2_929_112
    assert {k: v.shape for k, v in large.state_dict().items()} == {
        k: v.shape for k, v in default.state_dict().items()
    }
    large.load_state_dict(default.state_dict(), strict=True)


def test_no_warnings_at_256x128():
    net = HACNN(num_classes=3, input_size=(256, 128), **SMALL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        net.train()(torch.randn(2, 3, 256, 128))
        with torch.no_grad():
            net.eval()(torch.randn(1, 3, 256, 128))


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ((250, 100), r"input_size = 250 x 100: expected the height a positive multiple of 32"),
        ((160, 60), r"input_size = 160 x 60: expected the width a positive multiple of 16"),
        ((16, 64), r"input_size = 16 x 64: expected the height a positive multiple of 32"),
        ((0, 64), r"input_size = 0 x 64"),
    ],
)
def test_a_size_the_rule_cannot_serve_raises_naming_it(size, message):
    with pytest.raises(ValueError, match=message):
        HACNN(num_classes=3, input_size=size)
    with pytest.raises(ValueError, match=message):
        stripe_sizes(size)


@pytest.mark.parametrize("bad", [(160,), (160.0, 64), "160x64", (160, 64, 3), (True, 64)])
def test_input_size_must_be_a_pair_of_ints(bad):
    with pytest.raises(ValueError, match=r"input_size must be a pair of integers \(H, W\), got"):
        check_input_size(bad)


def test_a_160x64_model_given_a_256x128_batch_names_both_sizes():
    net = HACNN(num_classes=3, **SMALL).eval()
    with pytest.raises(ValueError, match=r"160 x 64, got 256 x 128.*input_size=\(256, 128\)"):
        net(torch.randn(1, 3, 256, 128))


def test_a_256x128_model_given_a_160x64_batch_names_both_sizes():
    net = HACNN(num_classes=3, input_size=(256, 128), **SMALL).eval()
    with pytest.raises(ValueError, match=r"256 x 128, got 160 x 64"):
        net(torch.randn(1, 3, 160, 64))


def test_the_stripe_rule_draws_no_random_numbers():
    """Seeded networks must get the same weights whatever size they are built for."""
    from tutorial_utils.hacnn.model import stripe_sizes

    torch.manual_seed(0)
    expected = torch.rand(4)
    torch.manual_seed(0)
    stripe_sizes((256, 128))
    torch.testing.assert_close(torch.rand(4), expected)
    torch.manual_seed(0)
    small = HACNN(10, nchannels=(32, 64, 96), feat_dim=64)
    torch.manual_seed(0)
    large = HACNN(10, nchannels=(32, 64, 96), feat_dim=64, input_size=(256, 128))
    for (name, a), b in zip(small.state_dict().items(), large.state_dict().values(), strict=True):
        torch.testing.assert_close(a, b, msg=name)
