"""The hand-written one-pass soft attention computes the eval module's function."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import torch

from tutorial_utils import HACNN, SoftAttention, optimize_for_inference, randomize_batchnorm
from tutorial_utils.infer import FusedSoftAttention, kernel_available
from tutorial_utils.infer.soft_kernel import KERNEL_FLAGS, KERNEL_SOURCE


@pytest.fixture(scope="module")
def x86_gcc() -> str:
    """gcc targeting x86-64: the vectorisation tests read its reports and macros."""
    compiler = shutil.which("gcc")
    if (
        compiler is None
        or "x86_64"
        not in subprocess.run([compiler, "-dumpmachine"], capture_output=True, text=True).stdout
    ):
        pytest.skip("needs gcc targeting x86-64")
    return compiler


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


@pytest.mark.parametrize("channels", [6, 18])
def test_kernel_matches_eager_when_channels_are_not_a_multiple_of_four(
    kernel_here, channels: int
) -> None:
    """H * W a multiple of 8 takes the four-channel loop on AVX2: its last channels go alone."""
    soft = SoftAttention(channels, reduction_rate=2)
    soft = randomize_batchnorm(soft, seed=channels).eval()
    x = torch.randn(3, channels, 8, 16) * 2
    with torch.no_grad():
        torch.testing.assert_close(FusedSoftAttention(soft)(x), soft(x), atol=1e-5, rtol=0)


def test_kernel_matches_eager_on_an_input_that_starts_off_a_vector_boundary(kernel_here) -> None:
    """A contiguous view one float into its storage: the loops that need aligned rows step aside."""
    soft = randomize_batchnorm(SoftAttention(16), seed=5).eval()
    shape = (2, 16, 8, 16)
    x = (torch.randn(2 * 16 * 8 * 16 + 1) * 2)[1:].view(shape)
    assert x.is_contiguous() and x.data_ptr() % 32 != 0
    fused = FusedSoftAttention(soft)
    with torch.no_grad():
        torch.testing.assert_close(fused(x), soft(x), atol=1e-5, rtol=0)
    assert fused.last_path == "kernel"


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


@pytest.mark.parametrize("isa", [["-mavx2"], ["-mavx512f"]])
def test_the_gate_loop_vectorises_without_masked_lanes(
    tmp_path, isa: list[str], x86_gcc: str
) -> None:
    """With gcc, the kernel's portable gate loop must compile to vector code on AVX2 as on
    AVX-512. (AVX2 with FMA takes the hand-vectorised gate8 instead: the next test.)

    Without -fno-trapping-math gcc 12 left it scalar on AVX2 (no masked lanes to hide the
    clamps' comparisons): the kernel ran ten times slower on such CPUs than on AVX-512 ones.
    """
    compiler = x86_gcc
    lines = KERNEL_SOURCE.read_text().splitlines()
    (gate_line,) = [i + 1 for i, line in enumerate(lines) if "the gate loop" in line]
    command = [compiler, *KERNEL_FLAGS, *isa, "-fopt-info-vec-optimized"]
    command += ["-o", str(tmp_path / "k.so")]
    report = subprocess.run(
        [*command, str(KERNEL_SOURCE), "-lm"], capture_output=True, text=True, check=True
    ).stderr
    at_loop = (f".c:{gate_line}:", f".c:{gate_line + 1}:")  # gcc names the for or its body
    vectorised = [line for line in report.splitlines() if any(a in line for a in at_loop)]
    assert any("loop vectorized" in line for line in vectorised), report


def test_avx2_with_fma_takes_the_hand_vectorised_gate(x86_gcc: str) -> None:
    compiler = x86_gcc

    def macros(*isa: str) -> str:
        command = [compiler, *KERNEL_FLAGS, *isa, "-dM", "-E", str(KERNEL_SOURCE)]
        return subprocess.run(command, capture_output=True, text=True, check=True).stdout

    assert "#define GATE8 1" in macros("-mavx2", "-mfma")
    assert "#define GATE8 0" in macros("-mavx2")  # no FMA: the portable loop
    assert "#define GATE8 0" in macros("-mavx512f")  # 16 lanes: the portable loop
