"""optimize_for_inference computes the same function as the eval module, on random weights."""

from __future__ import annotations

import copy
import gc
import os
import types
from pathlib import Path

import pytest
import torch
from torch import nn

import tutorial_utils.infer.optimize as optimize_module
from tutorial_utils import (
    HACNN,
    ConvBlock,
    HardAttention,
    HarmoniousAttention,
    SoftAttention,
    crop_region,
    optimize_for_inference,
    randomize_batchnorm,
    region_theta,
)
from tutorial_utils.infer import (
    CompiledOrEager,
    CompileInfo,
    PackagedHACNN,
    PackageInfo,
    compile_available,
    conv3x3_stride2_single,
    crop_stripes,
    fold_conv_bn,
    fold_linear_bn,
    hacnn_for_compiler,
    soft_gate,
    soft_statistics,
)


def trained_like(module: nn.Module, seed: int) -> nn.Module:
    """Trained-looking BatchNorm statistics and input-dependent hard attention, in eval mode."""
    randomize_batchnorm(module, seed)
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in module.modules():
            if isinstance(m, HardAttention):  # its weights start at zero: make translations move
                m.fc.weight.copy_(torch.randn(m.fc.weight.shape, generator=gen) * 0.05)
    return module.eval()


def reachable(root: object, kind: type) -> list[object]:
    """Objects of ``kind`` reachable from ``root`` through references (not through globals)."""
    seen, stack, found = set(), [root], []
    while stack:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, kind):
            found.append(obj)
        if isinstance(obj, type | types.ModuleType | types.FunctionType):
            continue  # classes, modules and functions lead to globals, not to this object's data
        stack.extend(gc.get_referents(obj))
    return found


@pytest.mark.parametrize("shape", [(2, 16, 8, 6), (3, 32, 9, 7), (1, 16, 1, 1), (2, 16, 5, 12)])
@pytest.mark.parametrize("kernel", [False, "auto"])
def test_soft_attention_matches(shape: tuple[int, int, int, int], kernel: bool | str) -> None:
    torch.manual_seed(0)
    soft = trained_like(SoftAttention(shape[1]), seed=1)
    x = torch.randn(shape)
    fast = optimize_for_inference(soft, compile=False, kernel=kernel)
    with torch.no_grad():
        expected = soft(x)
        torch.testing.assert_close(fast(x), expected, atol=1e-5, rtol=0)
        fast.blocked = False
        torch.testing.assert_close(fast(x), expected, atol=1e-5, rtol=0)
    assert expected.std() > 0.01  # not all saturated at 0.5: the comparison means something


def test_soft_attention_small_blocks_match() -> None:
    x = torch.randn(5, 8, 7, 9)
    s_a, c_a = soft_statistics(x, blocked=True, block_bytes=1)  # one sample per block
    s_b, c_b = soft_statistics(x, blocked=False)
    torch.testing.assert_close(s_a, s_b)
    torch.testing.assert_close(c_a, c_b)
    v, b = torch.randn(5, 8), torch.randn(8)
    torch.testing.assert_close(
        soft_gate(s_a, v, b, x=x, block_bytes=1), soft_gate(s_a, v, b, x=x, blocked=False)
    )


def test_blocked_statistics_stay_eager_under_the_compiler() -> None:
    """The blocked walk is a graph break (run eagerly), and the traced result is the same."""
    import torch._dynamo as dynamo

    x = torch.randn(4, 8, 5, 6)

    def doubled_means(x: torch.Tensor) -> torch.Tensor:
        spatial, channel = soft_statistics(x, blocked=True, block_bytes=1)
        return spatial.sum() + 2 * channel.sum()

    dynamo.reset()
    graphs = "\n".join(graph.code for graph in dynamo.explain(doubled_means)(x).graphs)
    assert "sum" in graphs, graphs  # the sums after the walk are traced
    for op in ("mean", "matmul"):  # the walk's reductions are not
        assert op not in graphs, f"the blocked walk's {op} was traced into a graph:\n{graphs}"
    torch.testing.assert_close(torch.compile(doubled_means)(x), doubled_means(x))


@pytest.mark.parametrize("shape", [(2, 32, 8, 6), (3, 48, 11, 5)])
def test_harmonious_matches(shape: tuple[int, int, int, int]) -> None:
    torch.manual_seed(0)
    ha = trained_like(HarmoniousAttention(shape[1]), seed=2)
    x = torch.randn(shape)
    fast = optimize_for_inference(ha, compile=False)
    with torch.no_grad():
        soft, translations = ha(x)
        fast_soft, fast_translations = fast(x)
    torch.testing.assert_close(fast_soft, soft, atol=1e-5, rtol=0)
    torch.testing.assert_close(fast_translations, translations, atol=1e-5, rtol=0)


@pytest.mark.parametrize("channels_last", [False, True])
@pytest.mark.parametrize("batch", [1, 3])
def test_hacnn_matches(batch: int, channels_last: bool) -> None:
    torch.manual_seed(0)
    model = trained_like(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=3)
    x = torch.randn(batch, 3, 160, 64)
    fast = optimize_for_inference(model, compile=False, channels_last=channels_last)
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_hacnn_full_size_and_no_local_branch() -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 3, 160, 64)
    for learn_region in (True, False):
        model = trained_like(HACNN(10, learn_region=learn_region), seed=4)
        fast = optimize_for_inference(model, compile=False)
        with torch.no_grad():
            torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_original_untouched_and_eval_only() -> None:
    soft = trained_like(SoftAttention(16), seed=5).train()
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
    conv, bn = nn.Conv2d(3, 4, 3), trained_like(nn.Sequential(nn.BatchNorm2d(4)), seed=6)[0]
    x = torch.randn(2, 3, 5, 5)
    w, b = fold_conv_bn(conv, bn)
    with torch.no_grad():
        torch.testing.assert_close(nn.functional.conv2d(x, w, b), bn(conv(x)), atol=1e-5, rtol=0)
    lin, bn1 = nn.Linear(6, 4), trained_like(nn.Sequential(nn.BatchNorm1d(4)), seed=7)[0]
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
    soft = trained_like(SoftAttention(16), seed=8)
    x = torch.randn(2, 16, 6, 5)
    fast = optimize_for_inference(soft, compile=True, example_input=x)
    info = fast.compile_info
    assert isinstance(fast, CompiledOrEager)
    assert info.used, f"torch.compile is available here but did not compile: {info.note}"
    assert info.seconds is not None and info.seconds > 0
    with torch.no_grad():
        torch.testing.assert_close(fast(x), soft(x), atol=1e-5, rtol=0)


def test_failed_compile_falls_back_to_eager_and_says_so(monkeypatch) -> None:
    def refuse(self: CompiledOrEager, *args: torch.Tensor) -> None:
        raise RuntimeError("no compiler today")

    monkeypatch.setattr(CompiledOrEager, "_run_compiled", refuse)
    soft = trained_like(SoftAttention(16), seed=8)
    eager = optimize_for_inference(soft, compile=False, kernel=False)
    wrapped = CompiledOrEager(eager, CompileInfo(used=True))
    x = torch.randn(2, 16, 6, 5)
    with torch.no_grad():
        torch.testing.assert_close(wrapped(x), soft(x), atol=1e-5, rtol=0)
    info = wrapped.compile_info
    assert not info.used and info.seconds is None
    assert info.note == "torch.compile failed, eager fallback: RuntimeError"
    assert str(info) == "eager (torch.compile failed, eager fallback: RuntimeError)"


@pytest.mark.parametrize("kind", ["soft", "harmonious", "hacnn"])
def test_optimized_module_keeps_no_copy_of_the_source(kind: str) -> None:
    build = {
        "soft": lambda: SoftAttention(16),
        "harmonious": lambda: HarmoniousAttention(16),
        "hacnn": lambda: HACNN(10, nchannels=(16, 32, 48), feat_dim=24),
    }[kind]
    source_type = type(build())
    fast = optimize_for_inference(trained_like(build(), seed=13), compile=False)
    assert reachable(fast, source_type) == []  # neither the source nor a deep copy of it


def test_compiling_hacnn_builds_no_eager_fast_hacnn(monkeypatch) -> None:
    """The packaged path keeps only the compiled runner: no eager copy of the weights."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the compile path built a FastHACNN it does not use")

    def fake_package(
        model: HACNN, progress: bool = True, dtype: torch.dtype = torch.float32
    ) -> tuple[object, PackageInfo]:
        return (lambda x: x.new_zeros(x.shape[0], 48)), PackageInfo(Path("fake.pt2"), True, 0.1)

    monkeypatch.setattr(optimize_module, "FastHACNN", refuse)
    monkeypatch.setattr(optimize_module, "cxx_compiler", lambda: "/usr/bin/c++")
    monkeypatch.setattr(optimize_module, "load_or_compile", fake_package)
    model = trained_like(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=14)
    wrapped = optimize_for_inference(model, compile=True)
    assert isinstance(wrapped, PackagedHACNN)
    assert str(wrapped.compile_info) == "ahead-of-time package loaded from the cache in 0.1 s"
    assert reachable(wrapped, HACNN) == []


@pytest.mark.parametrize("size", [(1, 1), (2, 3), (7, 5), (16, 9)])
def test_strided_slices_equal_conv(size: tuple[int, int]) -> None:
    torch.manual_seed(0)
    m = torch.randn(3, 1, *size)
    w, b = torch.randn(1, 1, 3, 3), torch.randn(1)
    expected = nn.functional.conv2d(m, w, b, stride=2, padding=1)
    torch.testing.assert_close(conv3x3_stride2_single(m, w, b), expected, atol=1e-5, rtol=0)


def test_hacnn_for_compiler_matches_eagerly() -> None:
    torch.manual_seed(0)
    model = trained_like(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=9)
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
    model = trained_like(HACNN(10, nchannels=(16, 32, 48), feat_dim=24), seed=10)
    x = torch.randn(2, 3, 160, 64)
    fast = optimize_for_inference(model, compile=True, example_input=x)
    assert fast.compile_info.used, fast.compile_info.note
    with torch.no_grad():
        torch.testing.assert_close(fast(x), model(x), atol=1e-4, rtol=0)


def test_compiled_wrapper_refuses_training_without_compiling() -> None:
    target = trained_like(SoftAttention(16), seed=11)
    wrapped = CompiledOrEager(target, CompileInfo(used=True))  # compiles lazily: not here
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

    target = trained_like(nn.Sequential(ConvBlock(3, 8, 3, padding=1), ConvBlock(8, 8, 1)), seed=12)
    target.eval().requires_grad_(False)
    x = torch.randn(2, 3, 12, 10)
    info = CompileInfo(used=True)
    wrapped = CompiledOrEager(target, info, inductor_config={"freezing": True})
    out, code = run_and_get_code(wrapped, x)
    assert wrapped.compile_info.used, wrapped.compile_info.note
    source = "\n".join(code)
    assert "_convolution_pointwise" in source, "freezing did not reach inductor: no prepacked conv"
    assert "batch_norm" not in source, "freezing did not fold BatchNorm"
    with torch.no_grad():
        torch.testing.assert_close(out, target(x), atol=1e-5, rtol=0)
