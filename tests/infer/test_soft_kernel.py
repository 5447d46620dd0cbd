"""The hand-written one-pass soft attention computes the eval module's function."""

from __future__ import annotations

import pytest
import torch

from tutorial_utils import HACNN, SoftAttention, optimize_for_inference, randomize_batchnorm
from tutorial_utils.infer import FusedSoftAttention, kernel_available


@pytest.fixture(scope="module")
def kernel_here() -> None:
    ok, note = kernel_available()
    if not ok:
        pytest.skip(note)


@pytest.mark.parametrize(
    ("shape", "threads"),
    [
        ((2, 16, 8, 6), 2),
        ((3, 32, 9, 7), 2),  # odd sizes: the conv's right and bottom padding, hidden width 2
        ((1, 16, 1, 1), 2),  # one sample, one pixel
        ((2, 16, 5, 12), 1),
        ((5, 16, 2, 3), 3),  # three threads: samples split 2, 1, 2
        ((4, 16, 64, 33), 2),
    ],
)
def test_kernel_matches_eager(kernel_here, shape: tuple[int, ...], threads: int) -> None:
    soft = randomize_batchnorm(SoftAttention(shape[1]), seed=sum(shape)).eval()
    fused = FusedSoftAttention(soft, threads=threads)
    x = torch.randn(shape) * 2
    with torch.no_grad():
        got = fused(x)
        torch.testing.assert_close(got, soft(x), atol=1e-5, rtol=0)
    assert fused.last_path == "kernel"
    assert got.shape == x.shape and got.is_contiguous()


def test_inputs_the_kernel_does_not_take_use_the_pytorch_path(kernel_here) -> None:
    soft = randomize_batchnorm(SoftAttention(16), seed=3).eval()
    fused = FusedSoftAttention(soft)
    x = torch.randn(2, 16, 6, 5)
    with torch.no_grad():
        for odd_input in (x.to(memory_format=torch.channels_last), x.transpose(2, 3)):
            torch.testing.assert_close(fused(odd_input), soft(odd_input), atol=1e-5, rtol=0)
            assert fused.last_path.startswith("PyTorch path: the kernel takes contiguous")
        torch.testing.assert_close(
            fused.double()(x.double()), soft.double()(x.double()), atol=1e-6, rtol=0
        )
        assert "PyTorch path" in fused.last_path


def test_optimize_for_inference_kernel_option(kernel_here) -> None:
    soft = randomize_batchnorm(SoftAttention(16), seed=4).eval()
    x = torch.randn(3, 16, 10, 8)
    fused = optimize_for_inference(soft, kernel=True, example_input=x)
    assert isinstance(fused, FusedSoftAttention)
    assert fused.compile_info.kernel and str(fused.compile_info).startswith("hand-written")
    with torch.no_grad():
        torch.testing.assert_close(fused(x), soft(x), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match="eval-only"):
        fused.train()


def test_kernel_option_refuses_other_modules_and_bad_input() -> None:
    with pytest.raises(ValueError, match="replaces torch.compile"):
        optimize_for_inference(SoftAttention(16), compile=True, kernel=True)
    with pytest.raises(ValueError, match="SoftAttention only, got HACNN"):
        optimize_for_inference(HACNN(10, nchannels=(16, 32, 48), feat_dim=8), kernel=True)
    with pytest.raises(ValueError, match="threads must be at least 1, got 0"):
        FusedSoftAttention(SoftAttention(16), threads=0)
    fused = FusedSoftAttention(SoftAttention(16))
    with pytest.raises(ValueError, match="16 channels"):
        fused(torch.randn(1, 8, 4, 4))
