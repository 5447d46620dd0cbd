"""optimize_for_inference computes the same function as the eval module, on random weights."""

from __future__ import annotations

import copy
import os

import pytest
import torch
from torch import nn

from tutorial_utils.hacnn.blocks import ConvBlock
from tutorial_utils.hacnn.hard_attention import crop_region, region_theta
from tutorial_utils.hacnn.harmonious import HarmoniousAttention
from tutorial_utils.hacnn.model import HACNN
from tutorial_utils.hacnn.soft_attention import SoftAttention
from tutorial_utils.infer.fast_hacnn import crop_stripes
from tutorial_utils.infer.fold import fold_conv_bn, fold_linear_bn
from tutorial_utils.infer.optimize import compile_available, optimize_for_inference


def randomize(module: nn.Module, seed: int) -> nn.Module:
    """Random weights everywhere, random BatchNorm running statistics, random hard-attention fc."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.running_mean.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
                m.running_var.copy_(torch.rand(m.num_features, generator=gen) * 1.5 + 0.3)
                m.weight.copy_(torch.rand(m.num_features, generator=gen) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=gen) * 0.3)
            elif isinstance(m, nn.Linear) and m.out_features == 8:  # hard attention's fc
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * 0.05)
    return module.eval()


@pytest.mark.parametrize("shape", [(2, 16, 8, 6), (3, 32, 9, 7), (1, 16, 1, 1), (2, 16, 5, 12)])
def test_soft_attention_matches(shape: tuple[int, int, int, int]) -> None:
    torch.manual_seed(0)
    soft = randomize(SoftAttention(shape[1]), seed=1)
    x = torch.randn(shape)
    fast = optimize_for_inference(soft, compile=False)
    with torch.no_grad():
        expected = soft(x)
        torch.testing.assert_close(fast(x), expected, atol=1e-5, rtol=0)
        fast.blocked = False
        torch.testing.assert_close(fast(x), expected, atol=1e-5, rtol=0)
    assert expected.std() > 0.01  # not all saturated at 0.5: the comparison means something


def test_soft_attention_small_blocks_match() -> None:
    from tutorial_utils.infer.fast_soft import soft_gate, soft_statistics

    x = torch.randn(5, 8, 7, 9)
    s_a, c_a = soft_statistics(x, blocked=True, block_bytes=1)  # one sample per block
    s_b, c_b = soft_statistics(x, blocked=False)
    torch.testing.assert_close(s_a, s_b)
    torch.testing.assert_close(c_a, c_b)
    v, b = torch.randn(5, 8), torch.randn(8)
    torch.testing.assert_close(
        soft_gate(s_a, v, b, x=x, block_bytes=1), soft_gate(s_a, v, b, x=x, blocked=False)
    )


@pytest.mark.parametrize("shape", [(2, 32, 8, 6), (3, 48, 11, 5)])
def test_harmonious_matches(shape: tuple[int, int, int, int]) -> None:
    torch.manual_seed(0)
    ha = randomize(HarmoniousAttention(shape[1]), seed=2)
    x = torch.randn(shape)
    fast = optimize_for_inference(ha, compile=False)
    with torch.no_grad():
        soft, theta = ha(x)
        fast_soft, fast_theta = fast(x)
    torch.testing.assert_close(fast_soft, soft, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast_theta, theta, atol=1e-5, rtol=0)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_hacnn_matches(batch: int, channels_last: bool) -> None:
    torch.manual_seed(0)
    model = randomize(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=3)
    x = torch.randn(batch, 3, 160, 64)
    fast = optimize_for_inference(model, compile=False, channels_last=channels_last)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_hacnn_full_size_and_no_local_branch() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 160, 64)
    for learn_region in (True, False):
        model = randomize(HACNN(10, learn_region=learn_region), seed=4)
        fast = optimize_for_inference(model, compile=False)
        with torch.no_grad():
            torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_original_untouched_and_eval_only() -> None:
    soft = randomize(SoftAttention(16), seed=5).train()
    before = {k: v.clone() for k, v in soft.state_dict().items()}
    fast = optimize_for_inference(soft, compile=False)
    assert soft.training  # the original keeps its mode and weights
    for k, v in soft.state_dict().items():
        assert torch.equal(v, before[k])
    with pytest.raises(ValueError, match="eval-only"):
        fast.train()
    fast.eval()  # allowed
    assert fast.compile_info.used is False


def test_batched_stripes_equal_one_by_one() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 5, 20, 8)
    translations = torch.rand(2, 4, 2) * 1.6 - 0.8
    scale = torch.tensor([[1.0, 0.0], [0.0, 0.25]])
    batched = crop_stripes(x, translations, scale, (6, 7))
    for r in range(4):
        one = crop_region(x, region_theta(translations[:, r], scale), (6, 7))
        torch.testing.assert_close(batched[r * 2 : (r + 1) * 2], one)


def test_folding_formulas() -> None:
    conv, bn = nn.Conv2d(3, 4, 3), randomize(nn.Sequential(nn.BatchNorm2d(4)), seed=6)[0]
    x = torch.randn(2, 3, 5, 5)
    w, b = fold_conv_bn(conv, bn)
    with torch.no_grad():
        torch.testing.assert_close(nn.functional.conv2d(x, w, b), bn(conv(x)), atol=1e-5, rtol=0)
    lin, bn1 = nn.Linear(6, 4), randomize(nn.Sequential(nn.BatchNorm1d(4)), seed=7)[0]
    w, b = fold_linear_bn(lin, bn1)
    v = torch.randn(3, 6)
    with torch.no_grad():
        torch.testing.assert_close(nn.functional.linear(v, w, b), bn1(lin(v)), atol=1e-5, rtol=0)


def test_bad_input() -> None:
    with pytest.raises(TypeError, match="Linear"):
        optimize_for_inference(nn.Linear(2, 2))
    with pytest.raises(ValueError, match="compile"):
        optimize_for_inference(SoftAttention(16), compile="yes")  # type: ignore[arg-type]
    fast = optimize_for_inference(SoftAttention(16), compile=False)
    with pytest.raises(ValueError, match="16 channels"):
        fast(torch.randn(1, 8, 4, 4))


def test_compile_small() -> None:
    ok, why = compile_available()
    if not ok:
        pytest.skip(why)
    soft = randomize(SoftAttention(16), seed=8)
    x = torch.randn(2, 16, 6, 5)
    fast = optimize_for_inference(soft, compile=True, example_input=x)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), soft(x), atol=1e-5, rtol=0)
    info = fast.compile_info
    assert info.used or "failed" in info.note  # either compiled, or fell back and said so
    if info.used:
        assert info.seconds is not None and info.seconds > 0


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 5), (16, 9)])
def test_strided_slices_equal_conv(size: tuple[int, int]) -> None:
    from tutorial_utils.infer.fast_soft import conv3x3_stride2_single

    torch.manual_seed(0)
    m = torch.randn(3, 1, *size)
    w, b = torch.randn(1, 1, 3, 3), torch.randn(1)
    expected = nn.functional.conv2d(m, w, b, stride=2, padding=1)
    torch.testing.assert_close(conv3x3_stride2_single(m, w, b), expected, atol=1e-5, rtol=0)


def test_hacnn_for_compiler_matches_eagerly() -> None:
    from tutorial_utils.infer.fast_hacnn import hacnn_for_compiler

    torch.manual_seed(0)
    model = randomize(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=9)
    x = torch.randn(2, 3, 160, 64)
    with torch.no_grad():
        expected = model(x)
        target = hacnn_for_compiler(copy.deepcopy(model))
        torch.testing.assert_close(target(x), expected, atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match="eval-only"):
        target.train()


@pytest.mark.skipif(
    not os.environ.get("TUTORIAL_UTILS_TEST_HACNN_COMPILE"),
    reason="compiles a whole HACNN (about a minute); set TUTORIAL_UTILS_TEST_HACNN_COMPILE=1",
)
def test_hacnn_compile_small() -> None:
    model = randomize(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=10)
    x = torch.randn(2, 3, 160, 64)
    fast = optimize_for_inference(model, compile=True, example_input=x)
    assert fast.compile_info.used, fast.compile_info.note
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_compiled_wrapper_refuses_training_without_compiling() -> None:
    from tutorial_utils.infer.optimize import CompiledOrEager, CompileInfo

    target = randomize(SoftAttention(16), seed=11)
    wrapped = CompiledOrEager(target, CompileInfo(requested=True))  # compiles lazily: not here
    with pytest.raises(ValueError, match="eval-only"):
        wrapped.train()
    assert not target.training  # nothing was switched before the refusal
    wrapped.eval()


def test_freezing_is_applied_to_the_compiled_graph() -> None:
    """Freezing must reach inductor: BatchNorm folded, each conv + ReLU a prepacked oneDNN op."""
    ok, why = compile_available()
    if not ok:
        pytest.skip(why)
    if not torch.backends.mkldnn.is_available():
        pytest.skip("this PyTorch has no oneDNN (mkldnn): no prepacked convs to look for")
    from torch._inductor.utils import run_and_get_code

    from tutorial_utils.infer.optimize import CompiledOrEager, CompileInfo

    target = randomize(nn.Sequential(ConvBlock(3, 8, 3, padding=1), ConvBlock(8, 8, 1)), seed=12)
    target.eval().requires_grad_(False)
    x = torch.randn(2, 3, 12, 10)
    info = CompileInfo(requested=True, used=True)
    wrapped = CompiledOrEager(target, info, inductor_config={"freezing": True})
    out, code = run_and_get_code(wrapped, x)
    assert wrapped.compile_info.used, wrapped.compile_info.note
    source = "\n".join(code)
    assert "_convolution_pointwise" in source, "freezing did not reach inductor: no prepacked conv"
    assert "batch_norm" not in source, "freezing did not fold BatchNorm"
    with torch.no_grad():
        torch.testing.assert_close(out, target(x), atol=1e-5, rtol=0)
